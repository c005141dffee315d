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
from typing import Any as _Any


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
