"""Drop-in style APIs of the audit systems evident replaces.

- :mod:`evident.compat.openparallax`: the OpenParallax audit Python API
  (``AuditLogger``, ``EventType``, ``verify_integrity``, ``read_entries``,
  ``Query``, ``AuditError``);
- :mod:`evident.compat.tracekit`: TraceKit's ``AuditTrail``
  (``record_action``, ``verify_integrity``, ``get_entries``,
  ``export_audit_log``), backed by an evident log file;
- :mod:`evident.compat.rtgs`: RTGS Lab Tools' audit module and its
  ``rtgs audit`` CLI (``python -m evident.compat.rtgs``);
- :mod:`evident.compat.secureml`: SecureML's ``AuditTrail``,
  ``audit_function``, ``get_audit_logs``, ``ReportGenerator`` and
  ``ComplianceAuditor``.

All are thin: the log, its chain and its checks are evident's.
"""

import os as _os
import stat as _stat
import warnings as _warnings
from typing import Any as _Any
from typing import Optional as _Optional


def _is_empty_file(path: _Any) -> bool:
    """An existing regular file of zero bytes: made by hand (``touch``,
    ``tempfile``) where a log is expected. The seed systems open their logs
    in append mode, so their users may make the file first; their writers
    here adopt it (``AuditLog(adopt_empty=True)``) and their readers read
    no entries from it."""
    try:
        st = _os.stat(path)
    except (OSError, ValueError):
        return False
    return _stat.S_ISREG(st.st_mode) and st.st_size == 0


def _has_log(path: _Any) -> bool:
    """The file exists and is not an empty file (see :func:`_is_empty_file`)."""
    return _os.path.exists(path) and not _is_empty_file(path)


def _warn_recovery(log: _Any, stacklevel: int = 3) -> None:
    """What opening ``log`` (an :class:`evident.AuditLog`) found at its end,
    as warnings: the systems these modules stand for have no recovery
    report, so their users hear of it here or not at all. A cut below the
    length made durable (acknowledged entries removed: a truncation, or an
    older copy put in place) and a torn tail moved aside (its bytes kept in
    the sidecar file named)."""
    r = log.recovery
    if r.truncated is not None:
        t = r.truncated
        _warnings.warn(
            f"{log.path}: the log is {t.length} bytes, shorter than the {t.durable_length} "
            "bytes made durable before: acknowledged entries were removed (a truncation, "
            "or an older copy put in its place); new entries continue from its last "
            "complete one. Compare it with a checkpoint or a copy (`evident verify`).",
            UserWarning,
            stacklevel=stacklevel,
        )
    for torn in r.torn:
        _warnings.warn(
            f"{log.path}: {torn.length} bytes of an interrupted write at byte {torn.offset} "
            f"were moved aside into {torn.sidecar} (kept, not part of the log)",
            UserWarning,
            stacklevel=stacklevel,
        )


def _verify(path: _Any, **options: _Any) -> _Any:
    """:func:`evident.verify` (imported when first used)."""
    from ..verify import verify

    return verify(path, **options)


def _verified_head(path: _Any) -> _Optional[int]:
    """The seq of the last entry of the evident log at ``path``, once the
    whole log verifies (``evident verify``: every hash, link and seq).
    A keyed log, read without its key, has its links and seqs checked, not
    its hashes (the package's rule, as :func:`evident.reproduce`); an
    incomplete last record is skipped, as readers skip it. A log that does
    not verify otherwise raises CorruptLogError naming the first problem (a
    file that is not an evident log: MalformedLogError)."""
    from ..errors import CorruptLogError, MalformedLogError

    r = _verify(path, all=True)
    # A keyed log without its key: "a key is needed", not a problem here.
    # An incomplete last record (a crash's, or one being written) is not
    # an entry and readers skip it, as every reader does (README).
    skipped = ("torn_tail", "in_flight_tail")
    keyless = [v for v in r.violations
               if not (v.kind == "wrong_key" and r.key_id) and v.kind not in skipped]
    total = r.violations_total - (len(r.violations) - len(keyless))
    if total == 0:
        return None if r.head is None else r.head.seq
    first = "a problem"
    if keyless:  # as `evident verify` names it
        v = keyless[0]
        seq = "" if v.seq is None else f"entry seq {v.seq}, "
        first = f"{v.kind} at {seq}line {v.line}, byte offset {v.offset}: {v.message}"
    if r.not_a_log:
        raise MalformedLogError(f"{path}: not an evident log: {first}")
    more = f" ({total} problems)" if total > 1 else ""
    raise CorruptLogError(f"{path}: does not verify: {first}{more}")
