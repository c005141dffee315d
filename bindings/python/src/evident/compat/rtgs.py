"""The RTGS Lab Tools audit API and CLI, on an evident log.

Replace ``from rtgs_lab_tools.audit import ...``,
``from rtgs_lab_tools.audit.audit_service import ...`` and
``from rtgs_lab_tools.audit.report_service import ...`` by
``from evident.compat.rtgs import ...``, and ``rtgs audit …`` by
``python -m evident.compat.rtgs …`` (same subcommands and options).

Where the log lives: one evident log, ``audit.jsonl``, in the directory
named by the environment variable ``EVIDENT_RTGS_DIR``, else
``$XDG_DATA_HOME/evident/rtgs/``, else ``~/.local/share/evident/rtgs/``.
Every operation is an ordinary evident entry (``event_type``
``"tool_operation"``, ``source`` = tool, ``action`` = operation, ``actor``
= user, ``success``, ``duration_ms``, ``error``, ``note``, ``git_commit``;
``details`` holds ``operation_id``, ``git_branch``, ``parameters`` and
``results``), so ``evident verify`` checks it and every other interface
reads it. Several processes may log at once (shared lock mode).

Differences from RTGS Lab Tools:

- PostgreSQL is optional: when ``POSTGRES_HOST``/``PORT``/``DB``/``USER``/
  ``PASSWORD`` are set (environment, else ``.env``), every operation is
  still written to the local evident log first and then shipped to the
  database (``evident ship``); the readers (:func:`recent_logs`,
  :meth:`AuditService.get_audit_logs`, reports, ``reproduce --recent``)
  read the database, which holds every machine's operations;
- the ``…postgres-logging…`` commands and :func:`set_global_logging` switch
  recording on and off (a file ``logging.json`` next to the log, so the
  switch holds across processes); with logging off operations still run
  and nothing is recorded;
- dates are UTC days (as the records' ``…Z`` timestamps and the daily
  reports show them); an ``end_date`` given as a date includes that day;
  naive times are local time;
- :func:`generate_report` writes one Markdown file per day
  (``audit_report_YYYY-MM-DD.md``) in the layout of RTGS's documentation;
  each file ends with the entries it covers in an HTML comment, which
  :func:`create_reproduction_script` reads: a directory of reports curated
  by deleting files reproduces exactly what is left.
- reports and scripts are written by the evident library
  (:func:`evident.report`, :func:`evident.reproduce`).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import math
import numbers
import operator
import os
import subprocess
import sys
import time
import uuid
import warnings
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

from .. import _native as _N
from . import _has_log, _time, _verified_head, _warn_recovery
from .. import pg as _pg
from .. import query as _q
from ..errors import EvidentError, InvalidArgumentError
from ..log import AuditLog
from ..report import reproduce as _reproduce
from ..report import report as _report
from ..report import report_entries as _report_entries

__all__ = [
    "AuditService",
    "ReportService",
    "OperationLogger",
    "log_custom_operation",
    "record_operation",
    "recent_logs",
    "generate_report",
    "create_reproduction_script",
    "create_custom_reproduction_script",
    "set_global_logging",
    "get_logging_status",
    "log_path",
    "main",
]

EVENT_TYPE = "tool_operation"
_PROGRAM = "rtgs"
_TITLE = "RTGS Lab Tools operations"
DateLike = Union[str, date, datetime, None]


# --- where things live -------------------------------------------------------


def _places() -> Dict[str, Any]:
    """``dir``, ``log_path``, ``status_file`` and ``status`` (the logging
    status) by the library's rules (``evident_compat_rtgs_status``)."""
    return json.loads(_N.compat_call("evident_compat_rtgs_status"))


def _dir() -> Path:
    return Path(_places()["dir"])


def log_path() -> Path:
    """The evident log RTGS operations are recorded in."""
    return Path(_places()["log_path"])


def _status_file() -> Path:
    return Path(_places()["status_file"])


def _pg_config() -> Optional[Dict[str, str]]:
    """The database RTGS is configured to use (``POSTGRES_HOST``,
    ``POSTGRES_PORT``, ``POSTGRES_DB``, ``POSTGRES_USER``,
    ``POSTGRES_PASSWORD``: the environment, else ``.env``; the library's
    rule, ``evident_compat_rtgs_pg_config``): ``url`` and ``database``
    (without password), or None."""
    return json.loads(_N.compat_call("evident_compat_rtgs_pg_config", None))


def _pg_url() -> Optional[str]:
    """The connection URL of the configured database, or None."""
    pg = _pg_config()
    return pg["url"] if pg else None


def _ship() -> None:
    """Ships the local log to the configured database. A failure warns and
    leaves the entries for the next ship: the user's operation succeeds."""
    url = _pg_url()
    if url is None or not _has_log(log_path()):
        return
    try:
        _pg.ship(log_path(), url, retry_for=0)
    except EvidentError as e:
        warnings.warn(
            # Also before a read (which records nothing): the message names
            # the local log, whose entries wait for the next ship.
            f"evident.compat.rtgs: {log_path()} not shipped to PostgreSQL ({e}); "
            f"its entries stay in it and the next operation or read ships them",
            RuntimeWarning,
            stacklevel=3,
        )


def _flag(v: Any, name: str) -> bool:
    """``True`` or ``False`` (also numpy's); anything else (``"false"``,
    ``0``, ``None``…) is refused rather than read by its truthiness."""
    if isinstance(v, bool):
        return v
    if type(v).__module__ == "numpy" and type(v).__name__ in ("bool_", "bool"):
        return bool(v)
    raise InvalidArgumentError(f"`{name}` must be True or False, not {v!r}")


def set_global_logging(enabled: bool) -> None:
    """Turns recording on or off for every process of this user (kept in
    ``logging.json`` next to the log). ``enabled`` is ``True`` or ``False``
    (``"false"``, ``0``… are refused)."""
    on = _flag(enabled, "enabled")
    p = _status_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".logging.json.{os.getpid()}")
    tmp.write_text(json.dumps({"enabled": on}))
    os.replace(tmp, p)


def get_logging_status() -> Dict[str, Any]:
    """``enabled`` (default True), ``storage`` (``"evident"``, or
    ``"postgresql"`` with ``database``), ``log_path``, ``message``."""
    status: Dict[str, Any] = _places()["status"]
    return status


# --- recording ----------------------------------------------------------------


def _git(*args: str) -> Optional[str]:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    v = out.stdout.strip()
    return v if out.returncode == 0 and v else None


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name available
        return "unknown"


def _json_safe(v: Any, depth: int = 0) -> Any:
    """A JSON value for ``v`` (numpy/pandas scalars, dates, paths, sets…)."""
    if v is None or isinstance(v, (bool, str, int)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if depth > 20:
        return repr(v)
    if isinstance(v, dict):
        return {str(k): _json_safe(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_json_safe(x, depth + 1) for x in v]
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    item = getattr(v, "item", None)  # numpy scalars
    if callable(item) and getattr(v, "shape", None) == ():
        try:
            return _json_safe(item(), depth + 1)
        except Exception:  # noqa: BLE001
            pass
    tolist = getattr(v, "tolist", None)  # numpy arrays, pandas Series
    if callable(tolist):
        try:
            return _json_safe(tolist(), depth + 1)
        except Exception:  # noqa: BLE001
            pass
    return repr(v)


class OperationLogger:
    """What ``with log_custom_operation(...) as logger`` gives."""

    def __init__(self, tool_name: str, operation: str, parameters: Optional[Dict[str, Any]]):
        self.tool_name = tool_name
        self.operation = operation
        self.operation_id = str(uuid.uuid4())
        self.parameters: Dict[str, Any] = dict(parameters or {})
        self.results: Dict[str, Any] = {}
        self.note: Optional[str] = None
        self.entry: Optional[Dict[str, Any]] = None

    def add_result(self, key: str, value: Any) -> None:
        """Records one result of the operation."""
        self.results[str(key)] = value

    def add_parameter(self, key: str, value: Any) -> None:
        """Records one parameter of the operation."""
        self.parameters[str(key)] = value

    def add_note(self, note: str) -> None:
        """Sets the operation's note."""
        self.note = str(note)


def record_operation(
    tool_name: str,
    operation: str,
    *,
    parameters: Optional[Dict[str, Any]] = None,
    results: Optional[Dict[str, Any]] = None,
    success: bool = True,
    duration_seconds: Optional[float] = None,
    error_message: Optional[str] = None,
    note: Optional[str] = None,
    user: Optional[str] = None,
    git_branch: Optional[str] = None,
    git_commit: Optional[str] = None,
    operation_id: Optional[str] = None,
    timestamp: Union[datetime, str, None] = None,
) -> Optional[str]:
    """Appends one operation to the log (what :func:`log_custom_operation`
    does when its block ends; also for importing operations recorded
    elsewhere, with their ``timestamp``). Returns the operation id, or
    ``None`` when logging is off."""
    if not get_logging_status()["enabled"]:
        return None
    op_id = operation_id or str(uuid.uuid4())
    details: Dict[str, Any] = {
        "operation_id": op_id,
        "git_branch": git_branch,
        "parameters": _json_safe(dict(parameters or {})),
        "results": _json_safe(dict(results or {})),
    }
    # The log keeps details sorted by name; the order the operation gave
    # its parameters and results is kept beside them (reports and
    # reproduction scripts show them in that order, as RTGS does).
    for key, order in (("parameters", "parameter_order"), ("results", "result_order")):
        names = list(details[key]) if isinstance(details[key], dict) else []
        if names != sorted(names):
            details[order] = names
    if isinstance(timestamp, datetime):
        timestamp = timestamp.astimezone(timezone.utc)
    elif isinstance(timestamp, str) and _time.parse(timestamp, "timestamp")[0] != "instant":
        # A naive time or a day as text is local time (README), as datetime.now().
        timestamp = _time.instant(timestamp, "timestamp")
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with AuditLog(path, lock="shared", adopt_empty=True) as log:
        _warn_recovery(log)
        log.log(
            EVENT_TYPE,
            operation,
            source=tool_name,
            actor=user or _user(),
            details=details,
            success=bool(success),
            duration_ms=None if duration_seconds is None else float(duration_seconds) * 1000.0,
            error=error_message,
            note=note,
            git_commit=git_commit,
            ts=timestamp,
        )
    _ship()
    return op_id


def _record(lg: OperationLogger, success: bool, duration_s: float, error: Optional[str]) -> None:
    record_operation(
        lg.tool_name,
        lg.operation,
        parameters=lg.parameters,
        results=lg.results,
        success=success,
        duration_seconds=duration_s,
        error_message=error,
        note=lg.note,
        git_branch=_git("rev-parse", "--abbrev-ref", "HEAD"),
        git_commit=_git("rev-parse", "HEAD"),
        operation_id=lg.operation_id,
    )


@contextlib.contextmanager
def log_custom_operation(
    tool_name: str,
    operation: str,
    parameters: Optional[Dict[str, Any]] = None,
    note: Optional[str] = None,
) -> Iterator[OperationLogger]:
    """Records the operation run inside the ``with`` block: parameters,
    results (``add_result``), note (``add_note``), duration, success or the
    exception (which propagates), user, git branch and commit of the working
    directory, and an operation id. With logging off nothing is recorded.
    When the operation raised and its record cannot be written, the
    operation's exception still propagates, with a ``RuntimeWarning`` and
    a note (``__notes__``) saying the record was not written."""
    lg = OperationLogger(tool_name, operation, parameters)
    if note is not None:
        lg.add_note(note)
    start = time.perf_counter()
    try:
        yield lg
    except BaseException as e:
        if get_logging_status()["enabled"]:
            msg = f"{type(e).__name__}: {e}"
            try:
                _record(lg, False, time.perf_counter() - start, msg)
            except Exception as audit_error:
                # The operation's own exception propagates; the failed audit
                # record is said twice, never swallowed.
                said = f"audit record of {tool_name} {operation} not recorded: {audit_error}"
                warnings.warn(said, RuntimeWarning, stacklevel=3)
                if hasattr(e, "add_note"):
                    e.add_note(said)
        raise
    if get_logging_status()["enabled"]:
        _record(lg, True, time.perf_counter() - start, None)


# --- reading --------------------------------------------------------------------


def _utc(text: Optional[str]) -> Optional[datetime]:
    if text is None:
        return None
    if len(text.split("-", 1)[0].lstrip("+")) > 4:
        # Past the calendar's last day (the end of ``end_date="9999-12-31"``,
        # 10000-01-01): Python's last instant, after every record.
        return datetime.max.replace(tzinfo=timezone.utc)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _records(entries: Sequence[_q.Entry]) -> List[Dict[str, Any]]:
    """RTGS operation records of evident entries (the library's mapping,
    ``evident_compat_rtgs_records``), ``timestamp`` as a ``datetime``."""
    if not entries:
        return []
    return _parsed(
        _N.compat_call(
            "evident_compat_rtgs_records", json.dumps([e.record() for e in entries]).encode()
        )
    )


def _parsed(text: str) -> List[Dict[str, Any]]:
    """The library's RTGS records, ``timestamp`` as a ``datetime``."""
    out: List[Dict[str, Any]] = json.loads(text)
    for r in out:
        r["timestamp"] = _utc(r["timestamp"])
    return out


def _read(query: _q.Query) -> List[Dict[str, Any]]:
    url = _pg_url()
    if url is not None:
        _ship()
        return _records(_pg.db_query(url, query))
    path = log_path()
    if not _has_log(path):
        return []
    _verified_head(path)  # a log that does not verify raises, naming its first problem
    return _records(_q.read_entries(path, query))


def _bound(v: DateLike, name: str) -> Optional[bytes]:
    """A range bound as the library takes it: a date as ``YYYY-MM-DD``, a
    time as RFC 3339 UTC (naive: local time, as ``datetime.now()``); text
    is read by the library's rule (:mod:`evident.compat._time`)."""
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).isoformat().encode()
    if isinstance(v, date):
        return v.isoformat().encode()
    kind, t = _time.parse(str(v), name)
    if kind == "day":
        return t.isoformat().encode()  # type: ignore[no-any-return]
    return t.astimezone(timezone.utc).isoformat().encode()  # type: ignore[no-any-return]


def _range(
    start_date: DateLike, end_date: DateLike
) -> "tuple[Optional[datetime], Optional[datetime]]":
    """``[since, until)`` by the library's rule (``evident_compat_rtgs_range``):
    an end given as a day includes that day; an end with a time includes
    that instant."""
    r = json.loads(
        _N.compat_call(
            "evident_compat_rtgs_range", _bound(start_date, "start_date"), _bound(end_date, "end_date")
        )
    )
    return _utc(r["since"]), _utc(r["until"])


def _limit(limit: Any) -> Optional[int]:
    """``limit`` as a count of entries, ``None`` for no limit (``None``,
    infinity, or more than any log holds); a negative or fractional
    number, NaN or anything but a number is refused."""
    if limit is None:
        return None
    bad = InvalidArgumentError(f"limit must be a number of entries (0 or more), not {limit!r}")
    if isinstance(limit, bool):
        raise bad
    try:
        n = operator.index(limit)  # int, numpy integers
    except TypeError:
        if not isinstance(limit, numbers.Real):
            raise bad from None
        f = float(limit)
        if f == math.inf:
            return None
        if not f.is_integer():  # NaN, -inf, 2.5
            raise bad from None
        n = int(f)
    if n < 0:
        raise bad
    return None if n >= 2**63 - 1 else n


# A start after every record: "the last -N minutes" for N beyond the calendar.
_NEVER = datetime.max.replace(tzinfo=timezone.utc)


def _since_minutes(minutes: Any) -> Optional[datetime]:
    """The start of "the last ``minutes`` minutes": ``None`` (no bound)
    when that is before the calendar's first day (``inf``, ``10**12``),
    after every record when it is past the calendar's last one (``-inf``);
    NaN or anything but a number is refused."""
    if isinstance(minutes, bool) or not isinstance(minutes, numbers.Real):
        raise InvalidArgumentError(f"minutes must be a number of minutes, not {minutes!r}")
    m: Union[int, float] = (
        int(minutes) if isinstance(minutes, numbers.Integral) else float(minutes)
    )
    if m != m:
        raise InvalidArgumentError(f"minutes must be a number of minutes, not {minutes!r}")
    try:
        return datetime.now(timezone.utc) - timedelta(minutes=m)
    except OverflowError:
        return None if m > 0 else _NEVER


def recent_logs(
    limit: int = 10, tool_name: Optional[str] = None, minutes: Optional[int] = None
) -> List[Dict[str, Any]]:
    """The ``limit`` most recent operations by time (``None``: all), newest
    first (the library's rule, ``evident_compat_rtgs_recent``); a negative
    ``limit`` is refused (PostgreSQL's ``LIMIT`` refuses it too), as is a
    NaN or non-number ``limit`` or ``minutes``. ``minutes`` reaching back
    before the calendar (``float("inf")``) is every operation. The log file
    is verified first (CorruptLogError when it does not verify)."""
    limit = _limit(limit)
    since = None if minutes is None else _since_minutes(minutes)
    url = _pg_url()
    if url is not None:
        # The database orders by time.
        _ship()
        q = _q.Query(
            event_type=EVENT_TYPE, source=tool_name, since=since, newest_first=True, limit=limit
        )
        return _records(_pg.db_query(url, q))
    path = log_path()
    if not _has_log(path):
        return []
    _verified_head(path)  # as _read
    text = _N.compat_call(
        "evident_compat_rtgs_recent",
        os.fsencode(path),
        None if tool_name is None else str(tool_name).encode(),
        None if since is None else since.isoformat().encode(),
        -1 if limit is None else int(limit),
    )
    return _parsed(text)


class AuditService:
    """RTGS's audit service, over the evident log."""

    def __init__(self, config: Any = None) -> None:
        self.config = config

    def get_audit_logs(
        self,
        start_date: DateLike = None,
        end_date: DateLike = None,
        include_details: bool = True,
        tool_name: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> List[Dict[str, Any]]:
        """Operations between the dates (``end_date``'s day included), oldest
        first. ``include_details=False`` leaves ``parameters`` and
        ``results`` empty. The log file is verified first (CorruptLogError
        when it does not verify)."""
        since, until = _range(start_date, end_date)
        n = None if limit is None else _N.unsigned(limit, "limit", _N.SIZE_MAX)
        logs = _read(_q.Query(event_type=EVENT_TYPE, source=tool_name, since=since, until=until))
        # Oldest first by time (operations imported with their timestamp may
        # have been appended out of order); the limit keeps the oldest.
        logs.sort(key=lambda log: log["timestamp"])
        if n is not None:
            del logs[n:]
        if not include_details:
            for log in logs:
                log["parameters"], log["results"] = {}, {}
        return logs

    def recent_logs(
        self, limit: int = 10, tool_name: Optional[str] = None, minutes: Optional[int] = None
    ) -> List[Dict[str, Any]]:
        return recent_logs(limit=limit, tool_name=tool_name, minutes=minutes)

    def log_custom_operation(self, tool_name: str, operation: str, **kw: Any) -> Any:
        return log_custom_operation(tool_name, operation, **kw)


# --- reports and reproduction ------------------------------------------------------


def _not_valid(path: Path) -> Optional[str]:
    """``"path: NOT VALID: problem"`` when the log does not verify (a torn
    tail too, as ``evident verify`` says), else ``None``."""
    from ..verify import verify as _verify

    r = _verify(path)
    if r.valid:
        return None
    return f"{path}: NOT VALID: {r.kind or 'invalid'}: {r.error}"


def _reports(
    start_date: DateLike,
    end_date: DateLike,
    output_dir: Any,
    by: str,
    tool_name: Optional[str],
    problems: Optional[List[str]] = None,
) -> List[Any]:
    """The reports written; a log that does not verify is NOT VALID in
    them (they are written all the same) and warned about with a
    ``UserWarning``, or added to ``problems`` when it is given (the
    command line says so and exits 1)."""
    since, until = _range(start_date, end_date)
    url = _pg_url()
    if url is not None:
        _ship()
        q = _q.Query(event_type=EVENT_TYPE, source=tool_name, since=since, until=until)
        entries = [e.record() for e in _pg.db_query(url, q)]
        if not entries:
            return []
        return _report_entries(entries, output_dir, format="md", by=by)
    path = log_path()
    if not _has_log(path):
        return []
    files = _report(
        [path],
        output_dir,
        format="md",
        by=by,
        since=since,
        until=until,
        source=tool_name,
        event_type=EVENT_TYPE,
    )
    bad = _not_valid(path)
    if bad is not None:
        if problems is not None:
            problems.append(bad)
        else:
            warnings.warn(
                f"{bad}; the reports were written from its entries as they are and say so",
                UserWarning,
                stacklevel=3,
            )
    return files


def generate_report(
    start_date: DateLike,
    end_date: DateLike,
    output_dir: Union[str, "os.PathLike[str]"] = "logs",
    tool_name: Optional[str] = None,
) -> List[str]:
    """Writes one Markdown report per day with operations (``end_date``'s day
    included) into ``output_dir``; returns their paths."""
    return [str(p) for p in _reports(start_date, end_date, output_dir, "day", tool_name)]


class ReportService:
    """RTGS's report service: reports and reproduction scripts."""

    def __init__(self, config: Any = None) -> None:
        self.config = config

    def generate_daily_reports(
        self,
        start_date: DateLike,
        end_date: DateLike,
        output_dir: Any = "logs",
        tool_name: Optional[str] = None,
    ) -> Dict[str, str]:
        """``{day: path}`` of the daily reports."""
        return {
            p.group: str(p) for p in _reports(start_date, end_date, output_dir, "day", tool_name)
        }

    def generate_weekly_reports(
        self,
        start_date: DateLike,
        end_date: DateLike,
        output_dir: Any = "logs",
        tool_name: Optional[str] = None,
    ) -> Dict[str, str]:
        """``{ISO week ("2026-W48"): path}`` of the weekly summaries."""
        return {
            p.group: str(p) for p in _reports(start_date, end_date, output_dir, "week", tool_name)
        }

    def generate_tool_reports(
        self, start_date: DateLike, end_date: DateLike, output_dir: Any = "logs"
    ) -> Dict[str, str]:
        """``{tool: path}`` of the tool-specific reports."""
        return {p.group: str(p) for p in _reports(start_date, end_date, output_dir, "tool", None)}

    def create_reproduction_script(
        self, logs_dir: Any = "logs", output_file: Any = "reproduce_commands.sh", **kw: Any
    ) -> Dict[str, Any]:
        return create_reproduction_script(logs_dir, output_file, **kw)


def _script(inputs: List[Any], output_file: Any, **kw: Any) -> Dict[str, Any]:
    info = _reproduce(inputs, output_file, program=_PROGRAM, title=_TITLE, **kw)
    info["script_path"] = str(info["script_path"])
    return info


def create_reproduction_script(
    logs_dir: Any = "logs",
    output_file: Any = "reproduce_commands.sh",
    recent: bool = False,
    minutes: Optional[int] = None,
) -> Dict[str, Any]:
    """Writes a bash script re-running the operations recorded in
    ``logs_dir`` (reports written by :func:`generate_report`, or evident
    logs), or with ``recent=True`` those of the last ``minutes`` (default
    60) in the log (in the database when PostgreSQL is configured). Returns ``script_path``, ``operation_count``,
    ``start_date``, ``end_date``."""
    if recent:
        since = _since_minutes(minutes or 60)
        url = _pg_url()
        if url is not None:
            # The database holds every machine's operations (as the
            # other readers above read it).
            _ship()
            return _script([url], output_file, since=since, event_type=EVENT_TYPE)
        if not _has_log(log_path()):
            return _empty_script(output_file)
        return _script([log_path()], output_file, since=since, event_type=EVENT_TYPE)
    if not os.path.exists(logs_dir):
        raise FileNotFoundError(f"logs directory not found: {logs_dir}")
    return _script([logs_dir], output_file)


def _empty_script(output_file: Any) -> Dict[str, Any]:
    # A log that does not exist yet: no operations. The library writes
    # the script from an empty directory.
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return _script([d], output_file)


class ScriptPath(str):
    """The script's path (a ``str``), which also answers
    ``["script_path"]``, ``["operation_count"]``, ``["start_date"]`` and
    ``["end_date"]``."""

    info: Dict[str, Any]

    def __new__(cls, info: Dict[str, Any]) -> "ScriptPath":
        self = super().__new__(cls, info["script_path"])
        self.info = info
        return self

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return self.info[key]
        return str.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return self.info.get(key, default)

    @property
    def script_path(self) -> str:
        return str(self.info["script_path"])

    @property
    def operation_count(self) -> int:
        return int(self.info["operation_count"])


def _names(v: Any) -> List[str]:
    """A ``config`` list of tool or operation names; one name may be given
    as a plain string (not taken as its characters)."""
    if v is None:
        return []
    if isinstance(v, (str, bytes)):
        v = [v]
    return [x.decode() if isinstance(x, bytes) else str(x) for x in v]


def create_custom_reproduction_script(
    logs_dir: Any = "logs",
    output_file: Any = "reproduce_commands.sh",
    config: Optional[Dict[str, Any]] = None,
) -> ScriptPath:
    """Like :func:`create_reproduction_script` with ``config`` keys
    ``include_tools``, ``exclude_operations`` (lists of names, or one name
    as a string), ``add_timing``, ``add_error_handling``, ``skip_failed``
    (``True`` or ``False``; ``None``: not given; ``"no"``, ``1``… are
    refused). Returns the script's path, which also answers
    ``["operation_count"]`` etc."""
    cfg = dict(config or {})
    known = {
        "include_tools",
        "exclude_operations",
        "add_timing",
        "add_error_handling",
        "skip_failed",
    }
    unknown = set(cfg) - known
    if unknown:
        raise ValueError(f"unknown reproduction script option(s): {', '.join(sorted(unknown))}")
    flags = {
        k: False if cfg.get(k) is None else _flag(cfg[k], k)
        for k in ("add_timing", "add_error_handling", "skip_failed")
    }
    if not os.path.exists(logs_dir):
        raise FileNotFoundError(f"logs directory not found: {logs_dir}")
    info = _script(
        [logs_dir],
        output_file,
        include_tools=_names(cfg.get("include_tools")),
        exclude_operations=_names(cfg.get("exclude_operations")),
        **flags,
    )
    return ScriptPath(info)


# --- the command line (`rtgs audit …`) --------------------------------------------


def _cli_date(s: str) -> datetime:
    """An ``rtgs audit`` date option (the library's rule: a day, or a
    time; naive times are local)."""
    try:
        kind, t = _time.parse(s, "date")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a date in YYYY-MM-DD format") from None
    return datetime(t.year, t.month, t.day) if kind == "day" else t  # type: ignore[no-any-return]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m evident.compat.rtgs`` = ``rtgs audit``."""
    p = argparse.ArgumentParser(
        prog="python -m evident.compat.rtgs",
        description="Audit and reporting tools for RTGS Lab Tools, on an evident log "
        f"(EVIDENT_RTGS_DIR, default {_dir()}).",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recent", help="Show recent tool executions")
    r.add_argument(
        "--limit", type=int, default=10, help="Maximum number of recent logs (default: 10)"
    )
    r.add_argument("--tool-name", help="Filter by specific tool name")
    r.add_argument("--minutes", type=int, help="Only show logs from the last N minutes")
    g = sub.add_parser("report", help="Generate daily Markdown audit reports")
    g.add_argument("--start-date", type=_cli_date, required=True, help="YYYY-MM-DD")
    g.add_argument("--end-date", type=_cli_date, required=True, help="YYYY-MM-DD (included)")
    g.add_argument("--tool-name", help="Filter by specific tool name")
    g.add_argument(
        "--output-dir", default="logs", help="Directory to save log files (default: logs)"
    )
    s = sub.add_parser("reproduce", help="Create a reproduction script")
    s.add_argument(
        "--logs-dir", default="logs", help="Directory containing log files (default: logs)"
    )
    s.add_argument(
        "--output-file",
        default="reproduce_commands.sh",
        help="Name for the generated script file (default: reproduce_commands.sh)",
    )
    s.add_argument(
        "--recent", action="store_true", help="Use recent activity instead of --logs-dir"
    )
    s.add_argument(
        "--minutes", type=int, default=60, help="With --recent: the last N minutes (default: 60)"
    )
    sub.add_parser("postgres-logging-status", help="Check current logging status")
    sub.add_parser("enable-postgres-logging", help="Enable logging globally")
    sub.add_parser("disable-postgres-logging", help="Disable logging globally")
    a = p.parse_args(argv)
    try:
        if a.cmd == "recent":
            logs = recent_logs(limit=a.limit, tool_name=a.tool_name, minutes=a.minutes)
            recs = [{**log, "timestamp": log["timestamp"].isoformat()} for log in logs]
            print(
                _N.compat_call(
                    "evident_compat_rtgs_recent_text", json.dumps(recs, default=str).encode()
                )
            )
        elif a.cmd == "report":
            start = (
                a.start_date.date() if a.start_date.time() == datetime.min.time() else a.start_date
            )
            end = a.end_date.date() if a.end_date.time() == datetime.min.time() else a.end_date
            problems: List[str] = []
            reports = _reports(start, end, a.output_dir, "day", a.tool_name, problems)
            files = [str(p) for p in reports]
            if files:
                print(f"✅ Generated {len(files)} audit report files in {a.output_dir}")
                for f in files:
                    print(f"   - {f}")
            else:
                print("No logs found for the specified criteria.")
            if problems:
                for bad in problems:
                    print(f"Warning: {bad}; the reports say so", file=sys.stderr)
                print("Error: the reports were written from a log that did not verify",
                      file=sys.stderr)
                return 1
        elif a.cmd == "reproduce":
            info = create_reproduction_script(
                a.logs_dir, a.output_file, recent=a.recent, minutes=a.minutes
            )
            print(f"✅ Created reproduction script: {info['script_path']}")
            print(f"   Operations: {info['operation_count']}")
            if info["start_date"]:
                print(f"   Time span: {info['start_date']} to {info['end_date']}")
            if info.get("unverified"):  # said by a UserWarning and at the script's top
                print("Error: the script was written from logs that did not verify",
                      file=sys.stderr)
                return 1
        else:
            if a.cmd == "enable-postgres-logging":
                set_global_logging(True)
            elif a.cmd == "disable-postgres-logging":
                set_global_logging(False)
            st = get_logging_status()
            state = "enabled" if st["enabled"] else "disabled"
            if st["storage"] == "postgresql":
                print(f"Logging is {state} (PostgreSQL {st['database']}: {st['message']})")
            else:
                print(f"Logging is {state} (no PostgreSQL: {st['message']})")
    except (OSError, ValueError, EvidentError) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
