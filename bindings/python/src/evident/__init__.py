"""evident: tamper-evident, crash-safe, append-only audit logs.

A thin ctypes wrapper over the evident C ABI: the whole engine (writing,
locking, crash recovery, verification, queries) runs in-process in the Rust
library; this package maps calls, types and errors.

>>> import evident
>>> with evident.AuditLog("audit.jsonl") as log:            # doctest: +SKIP
...     log.log("ACTION_EXECUTED", "load_trace", details={"file": "scope.bin"})
>>> evident.verify("audit.jsonl").valid                       # doctest: +SKIP
True
"""

from __future__ import annotations

from . import _native
from .errors import (
    ClosedError,
    CorruptLogError,
    RolledBackError,
    EvidentError,
    EvidentIOError,
    ForkedError,
    InternalError,
    InvalidArgumentError,
    LayerLockedError,
    LockedError,
    MalformedLogError,
    NotFoundError,
    PoisonedError,
    TooLargeError,
    UnsupportedError,
    WrongKeyError,
)
from .handler import AuditHandler
from .log import AuditLog, Head, Recovery, TornTail, Truncated
from .query import (
    Entry,
    EntryIterator,
    EntryList,
    Query,
    iter_entries,
    read_dataframe,
    read_entries,
    read_records,
)
from .report import ReportFile, report, report_entries, reproduce
from .pg import ShipReport, db_cross_check, db_query, db_verify, ship
from . import checkpoint  # noqa: F401  (evident.checkpoint: signed checkpoints)
from . import compliance  # noqa: F401  (evident.compliance: dataset checks)
from .session import (
    DTYPES,
    Annotation,
    AnnotationLayer,
    AnnotationType,
    CompactInfo,
    HistoryEntry,
    Measurement,
    OperationHistory,
    SaveInfo,
    Session,
    SessionReport,
    Trace,
    VersionInfo,
    compact_session,
    load_session,
    session_versions,
    verify_session,
)
from .verify import VerifyResult, Violation, verify

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "library_version",
    "library_path",
    "AuditLog",
    "AuditHandler",
    "Head",
    "Recovery",
    "Truncated",
    "TornTail",
    "verify",
    "VerifyResult",
    "Violation",
    "Query",
    "Entry",
    "EntryIterator",
    "read_entries",
    "read_records",
    "read_dataframe",
    "EntryList",
    "iter_entries",
    "report",
    "ship",
    "db_cross_check",
    "db_query",
    "db_verify",
    "ShipReport",
    "report_entries",
    "reproduce",
    "ReportFile",
    "Session",
    "load_session",
    "session_versions",
    "compact_session",
    "verify_session",
    "Trace",
    "DTYPES",
    "Annotation",
    "AnnotationType",
    "AnnotationLayer",
    "Measurement",
    "HistoryEntry",
    "OperationHistory",
    "SaveInfo",
    "VersionInfo",
    "CompactInfo",
    "SessionReport",
    "EvidentError",
    "EvidentIOError",
    "MalformedLogError",
    "CorruptLogError",
    "RolledBackError",
    "WrongKeyError",
    "LockedError",
    "InvalidArgumentError",
    "TooLargeError",
    "PoisonedError",
    "UnsupportedError",
    "ClosedError",
    "NotFoundError",
    "LayerLockedError",
    "ForkedError",
    "InternalError",
]


def library_version() -> str:
    """The version of the loaded evident library (e.g. ``"0.1.0"``)."""
    return _native.version()


#: The file the evident library was loaded from.
library_path: str = _native.library_path
