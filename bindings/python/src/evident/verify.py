"""Checking: :func:`verify` (``evident_verify`` of the C ABI)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple, Union

from . import _native as N
from .errors import InvalidArgumentError, UnsupportedError
from .log import Head, PathLike

__all__ = ["verify", "VerifyResult", "Violation", "ExpectedHead"]

#: An expected head: a :class:`Head`, a ``(seq, hash)`` pair or ``"SEQ:HASH"``.
ExpectedHead = Union[Head, Tuple[int, str], str]


@dataclass(frozen=True)
class Violation:
    """One problem found by :func:`verify`.

    ``kind`` is the library's stable name: ``hash_mismatch``, ``chain_break``,
    ``seq_gap``, ``malformed``, ``torn_tail``, ``wrong_key``,
    ``wrong_log_id``, ``head_mismatch`` or ``unsupported``. ``seq`` is
    ``None`` when the record could not be read; ``line`` is the 1-based line
    in a JSONL log (0 in a binary log and for violations about the whole
    log); ``offset`` is the record's byte offset.
    """

    kind: str
    seq: Optional[int]
    line: int
    offset: int
    message: str


@dataclass(frozen=True)
class VerifyResult:
    """The result of :func:`verify`. ``bool(result)`` is ``result.valid``.

    ``line``, ``offset``, ``seq``, ``kind`` and ``error`` describe the first
    violation (0 / ``None`` / ``""`` when the log is valid); ``violations``
    lists those kept (one unless ``all=True``), ``violations_total`` counts
    every one found. ``head`` is the last complete record (``None`` when the
    file has none).
    """

    valid: bool
    entries: int
    head: Optional[Head]
    line: int
    offset: int
    seq: Optional[int]
    kind: Optional[str]
    error: str
    violations: List[Violation] = field(default_factory=list)
    violations_total: int = 0
    #: Bytes at the end that were a record being written while verify ran
    #: (not a violation, not checked); ``None`` when there were none.
    in_flight_tail: Optional[int] = None
    only_torn_tail: bool = False
    #: The file is not an evident log (spec § 9.2: empty, in neither framing,
    #: or not starting with a readable genesis record): nothing in it could be
    #: checked; report it as "not an evident log", not as tampering.
    not_a_log: bool = False
    log_id: Optional[str] = None
    key_id: Optional[str] = None
    framing: Optional[str] = None
    alg: Optional[str] = None
    bytes: int = 0

    def __bool__(self) -> bool:
        return self.valid


def _expected_head(value: ExpectedHead) -> Tuple[int, str]:
    if isinstance(value, str):
        seq_text, sep, hash_hex = value.partition(":")
        if not sep or not seq_text.isdigit():
            raise InvalidArgumentError(
                f"`expected_head` must be 'SEQ:HASH', a Head or (seq, hash), not {value!r}"
            )
        return int(seq_text), hash_hex
    try:
        seq, hash_hex = value
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"`expected_head` must be a Head, (seq, hash) or 'SEQ:HASH', not {value!r}"
        ) from None
    return N.unsigned(seq, "expected_head seq"), hash_hex


def verify(
    path: PathLike,
    *,
    key: Optional[bytes] = None,
    expected_head: Optional[ExpectedHead] = None,
    expected_log_id: Optional[str] = None,
    all: bool = False,
    threads: int = 0,
    progress: Optional[Callable[[int, int], None]] = None,
    in_flight_wait: Optional[float] = None,
) -> VerifyResult:
    """Checks the whole log at ``path``: every hash, link and seq, the key,
    and the expectations given.

    :param key: the HMAC key of a keyed log (a key for a keyless log, or a
        wrong key, is reported as a violation).
    :param expected_head: a head kept outside the log (from
        :meth:`AuditLog.head`); the log must still contain it (detects
        truncation).
    :param expected_log_id: the log id the log must have.
    :param all: report every violation instead of stopping at the first.
    :param threads: worker threads (0: one per core).
    :param progress: called with ``(bytes_done, bytes_total)`` while checking.
    :param in_flight_wait: seconds a torn tail (a record's beginning) is
        watched for a writer still appending it, reported then as
        ``in_flight_tail`` (None: the library's default, about 0.1 s; 0: no
        pause, for logs nobody appends to any more). Needs a library of ABI
        1.13 or later.

    Returns a :class:`VerifyResult` whenever the file could be read, valid or
    not; raises (e.g. :class:`~evident.errors.EvidentIOError` for a missing
    file) only when it could not be checked.
    """
    lib = N.lib
    raw_path = N.path_arg(path)
    key_buf, key_len = N.key_arg(key)
    head_arg = None if expected_head is None else _expected_head(expected_head)
    head_hash = None if head_arg is None else N.text(head_arg[1], "expected_head hash")
    log_id = N.text(expected_log_id, "expected_log_id")
    threads = N.unsigned(threads, "threads", N.SIZE_MAX)
    wait_ms = None if in_flight_wait is None else N.milliseconds(in_flight_wait, "in_flight_wait")
    if wait_ms is not None and N._in_flight_wait_missing:
        raise UnsupportedError(
            f"the evident library {N.library_path} lacks "
            "evident_verify_options_set_in_flight_wait_ms: rebuild it (ABI 1.13 or later)"
        )

    callback = None
    errors: List[BaseException] = []
    if progress is not None:

        def call(_user: Optional[int], done: int, total: int) -> None:
            if errors:
                return
            try:
                progress(done, total)
            except BaseException as e:  # re-raised after verify returns
                errors.append(e)

        callback = N.PROGRESS_FN(call)

    opts = ctypes.c_void_p()
    N.check(lib.evident_verify_options_new(ctypes.byref(opts)))
    result = ctypes.c_void_p()
    try:
        if key is not None:
            N.check(lib.evident_verify_options_set_key(opts, key_buf, key_len))
        if head_arg is not None:
            N.check(lib.evident_verify_options_set_expected_head(opts, head_arg[0], head_hash))
        if log_id is not None:
            N.check(lib.evident_verify_options_set_expected_log_id(opts, log_id))
        N.check(lib.evident_verify_options_set_all(opts, bool(all)))
        N.check(lib.evident_verify_options_set_threads(opts, threads))
        if wait_ms is not None:
            N.check(lib.evident_verify_options_set_in_flight_wait_ms(opts, wait_ms))
        if callback is not None:
            N.check(lib.evident_verify_options_set_progress(opts, callback, None))
        N.check(lib.evident_verify(raw_path, opts, ctypes.byref(result)))
    finally:
        lib.evident_verify_options_free(opts)
    try:
        if errors:
            raise errors[0]
        return _result(result)
    finally:
        lib.evident_verify_result_free(result)


def _with_violations(violations: List[Violation], **fields: Any) -> VerifyResult:
    """A :class:`VerifyResult` whose first-violation fields come from
    ``violations[0]`` (also used for database results, :mod:`evident.pg`)."""
    first = violations[0] if violations else None
    return VerifyResult(
        line=first.line if first else 0,
        offset=first.offset if first else 0,
        seq=first.seq if first else None,
        kind=first.kind if first else None,
        error=first.message if first else "",
        violations=violations,
        **fields,
    )


def _result(r: ctypes.c_void_p) -> VerifyResult:
    lib = N.lib
    violations = []
    for i in range(lib.evident_verify_result_violation_count(r)):
        v = ctypes.c_void_p()
        N.check(lib.evident_verify_result_violation(r, i, ctypes.byref(v)))
        violations.append(
            Violation(
                kind=N.kind_name(lib.evident_violation_get_kind(v)),
                seq=int(lib.evident_violation_seq(v)) if lib.evident_violation_has_seq(v) else None,
                line=int(lib.evident_violation_line(v)),
                offset=int(lib.evident_violation_offset(v)),
                message=N.decode(lib.evident_violation_message(v)) or "",
            )
        )
    head_hash = N.decode(lib.evident_verify_result_head_hash(r))
    return _with_violations(
        violations,
        valid=bool(lib.evident_verify_result_valid(r)),
        entries=int(lib.evident_verify_result_entries(r)),
        head=None
        if head_hash is None
        else Head(int(lib.evident_verify_result_head_seq(r)), head_hash),
        violations_total=int(lib.evident_verify_result_violations_total(r)),
        in_flight_tail=int(lib.evident_verify_result_in_flight_tail(r)) or None,
        only_torn_tail=bool(lib.evident_verify_result_only_torn_tail(r)),
        not_a_log=bool(lib.evident_verify_result_not_a_log(r)),
        log_id=N.decode(lib.evident_verify_result_log_id(r)),
        key_id=N.decode(lib.evident_verify_result_key_id(r)),
        framing=N.FRAMING_NAMES.get(lib.evident_verify_result_framing(r)),
        alg=N.ALG_NAMES.get(lib.evident_verify_result_alg(r)),
        bytes=int(lib.evident_verify_result_bytes(r)),
    )
