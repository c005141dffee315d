"""Reports and reproduction scripts (``evident_report_*`` /
``evident_reproduce_*`` of the C ABI; the logic is the library's).

>>> evident.report(["audit.jsonl"], "reports", by="week")         # doctest: +SKIP
['reports/weekly_report_2026-W48.md']
>>> evident.report(["audit.jsonl"], "report.html", format="html")  # doctest: +SKIP
>>> evident.reproduce(["reports"], "reproduce.sh", program="rtgs") # doctest: +SKIP
{'script_path': 'reproduce.sh', 'operation_count': 3, ...}
"""

from __future__ import annotations

import ctypes
import json
import os
import warnings
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import _native as N
from .errors import InvalidArgumentError, UnsupportedError
from .log import PathLike, _ts_text

__all__ = ["report", "report_entries", "reproduce", "ReportFile"]

_P = ctypes.c_void_p
_PROTOTYPES = {
    "evident_report_write": (ctypes.c_uint32, [ctypes.c_char_p] * 3 + [ctypes.POINTER(_P)]),
    "evident_report_write_entries": (ctypes.c_uint32, [ctypes.c_char_p] * 3 + [ctypes.POINTER(_P)]),
    "evident_reproduce_write": (ctypes.c_uint32, [ctypes.c_char_p] * 3 + [ctypes.POINTER(_P)]),
}
_missing = N._bind(N.lib, _PROTOTYPES)
# Listed with the rest of the ABI (the ABI-completeness test reads it).
N._PROTOTYPES.update(_PROTOTYPES)


def _lib() -> ctypes.CDLL:
    if _missing:
        raise UnsupportedError(
            f"the evident library {N.library_path} has no reports (it lacks "
            f"{', '.join(_missing)}): rebuild it from a source tree with src/ffi/report.rs"
        )
    return N.lib


class ReportFile(str):
    """A written report's path (a ``str``) with its ``group``: the day
    (``2026-11-30``), ISO week (``2026-W48``), tool, or ``all`` (HTML)."""

    group: str

    def __new__(cls, path: str, group: str) -> "ReportFile":
        self = super().__new__(cls, path)
        self.group = group
        return self


def _paths(inputs: Union[PathLike, Sequence[PathLike]]) -> bytes:
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    return json.dumps([os.fsdecode(os.fspath(p)) for p in inputs]).encode()


def _options(**kw: Any) -> bytes:
    opts: Dict[str, Any] = {}
    for k, v in kw.items():
        if v is None:
            continue
        if k in ("since", "until"):
            v = _ts_text(v if not isinstance(v, datetime) else v)
        opts[k] = v
    return json.dumps(opts).encode()


def _call(fn_name: str, a: bytes, opts: bytes, out: PathLike) -> Any:
    result = _P()
    fn = getattr(_lib(), fn_name)
    N.check(fn(a, opts, N.path_arg(out), ctypes.byref(result)))
    return json.loads(N.take_string(result))


def _key_hex(key: Optional[bytes]) -> Optional[str]:
    if key is None:
        return None
    if not isinstance(key, (bytes, bytearray)):
        raise InvalidArgumentError("`key` must be bytes")
    return bytes(key).hex()


def report(
    logs: Union[PathLike, Sequence[PathLike]],
    output: PathLike,
    *,
    format: str = "md",
    by: str = "day",
    since: Union[datetime, str, None] = None,
    until: Union[datetime, str, None] = None,
    source: Optional[str] = None,
    event_type: Optional[str] = None,
    title: Optional[str] = None,
    charts: bool = True,
    key: Optional[bytes] = None,
) -> List[ReportFile]:
    """Writes reports of the entries in ``logs`` (logs, Markdown reports
    written by evident, directories) and returns the files written.

    ``format="md"``: one Markdown file per ``by`` = ``"day"``, ``"week"``
    or ``"tool"`` in the directory ``output``; ``format="html"``: one
    self-contained HTML file with charts (``output`` is the file, or a
    directory for ``audit_report.html``); ``format="pdf"``: the same
    report as one PDF file (``output`` ending in ``.pdf``, or a directory
    for ``audit_report.pdf``). Each log is verified and the result shown.
    ``since`` is inclusive, ``until`` exclusive."""
    opts = _options(
        format=format,
        by=by,
        since=since,
        until=until,
        source=source,
        event_type=event_type,
        title=title,
        no_charts=not charts,
        key_hex=_key_hex(key),
    )
    files = _call("evident_report_write", _paths(logs), opts, output)
    return [ReportFile(f["path"], f["group"]) for f in files]


def report_entries(
    entries: Iterable[Mapping[str, Any]],
    output: PathLike,
    *,
    format: str = "html",
    by: str = "day",
    title: Optional[str] = None,
    charts: bool = True,
    logs: Sequence[PathLike] = (),
    key: Optional[bytes] = None,
) -> List[ReportFile]:
    """Like :func:`report` for entries given as mappings with the fields of
    an evident entry (``ts`` required; ``datetime`` values allowed). The
    ``logs`` are verified and shown at the top."""
    rows = []
    for e in entries:
        row = dict(e)
        ts = row.get("ts")
        if isinstance(ts, datetime):
            row["ts"] = _ts_text(ts)
        rows.append(row)
    opts = _options(
        format=format,
        by=by,
        title=title,
        no_charts=not charts,
        key_hex=_key_hex(key),
        logs=[os.fsdecode(os.fspath(p)) for p in logs],
    )
    text = json.dumps(rows, default=str).encode()
    files = _call("evident_report_write_entries", text, opts, output)
    return [ReportFile(f["path"], f["group"]) for f in files]


def reproduce(
    logs: Union[PathLike, Sequence[PathLike]],
    output_file: PathLike,
    *,
    program: Optional[str] = None,
    title: Optional[str] = None,
    since: Union[datetime, str, None] = None,
    until: Union[datetime, str, None] = None,
    include_tools: Sequence[str] = (),
    exclude_operations: Sequence[str] = (),
    event_type: Optional[str] = None,
    skip_failed: bool = False,
    add_timing: bool = False,
    add_error_handling: bool = False,
    note: bool = True,
    format: str = "bash",
    module: Optional[str] = None,
    alias: Optional[str] = None,
    key: Optional[bytes] = None,
) -> Dict[str, Any]:
    """Writes a script (mode 0755) that re-runs the recorded operations of
    ``logs`` in time order; returns ``script_path``, ``operation_count``,
    ``start_date`` and ``end_date`` (UTC dates, ``None`` without operations)
    and ``unverified``: the logs that do not verify (``"path: problem"``),
    whose entries the script was written from as they are (it says so at
    its top, and a ``UserWarning`` is given), and ``unchecked``: the keyed
    logs given without their key (``"path: what"``; no warning), whose
    hashes were not checked. ``key``: the HMAC key of keyed logs, whose
    hashes are checked only with it (their links and seqs always are).

    ``format="bash"`` (default): RTGS Lab Tools' layout, one shell command
    per operation (``program``, ``add_timing``, ``add_error_handling``,
    ``note`` apply). ``format="python"``: TraceKit's ``to_script()`` layout,
    one ``alias.operation(name=value, ...)`` call per operation, importing
    ``module`` (default ``tracekit``, falling back to
    ``evident.compat.tracekit``) as ``alias`` (default ``tk``); operations
    that are not Python names become comments."""
    opts = _options(
        format=format,
        module=module,
        alias=alias,
        program=program,
        title=title,
        since=since,
        until=until,
        include_tools=list(include_tools),
        exclude_operations=list(exclude_operations),
        event_type=event_type,
        skip_failed=skip_failed,
        add_timing=add_timing,
        add_error_handling=add_error_handling,
        no_note=not note,
        key_hex=_key_hex(key),
    )
    info: Dict[str, Any] = _call("evident_reproduce_write", _paths(logs), opts, output_file)
    for problem in info.get("unverified") or ():
        warnings.warn(
            f"{problem}; the script was written from its entries as they are",
            UserWarning,
            stacklevel=2,
        )
    return info
