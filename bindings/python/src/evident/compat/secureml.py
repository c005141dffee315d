"""SecureML's audit API (``secureml.audit``, ``secureml.reporting``,
``secureml.compliance``) on evident logs.

Replace ``from secureml.audit import ...``, ``from secureml.reporting
import ...`` and ``from secureml.compliance import ...`` by
``from evident.compat.secureml import ...``.

Each operation name has one evident log, ``<log_dir>/<operation_name>.jsonl``
(in the file name, characters other than ASCII letters, digits, ``.``,
``_`` and ``-`` become ``_``; names sharing a file are told apart by
``action``; several runs and processes append to it in shared lock mode, through the
lock file ``<operation_name>.jsonl.lock`` beside it). Each event
is an ordinary evident entry: ``event_type`` = the SecureML event
(``operation_start``, ``data_access``, ``data_transformation``,
``model_training``, ``model_inference``, ``compliance_check``,
``user_consent``, ``privacy_method``, ``error``, ``function_call``,
``function_result``, ``function_error``, ``operation_end``), ``action`` =
operation name, ``session_id`` = the run's operation id, ``source`` =
``"secureml"``, ``actor`` = user; ``details`` holds the event's fields
with the operation's ``context`` and ``regulations``. ``evident verify``
checks every file.

Differences from SecureML: :func:`get_audit_logs` verifies each log it
reads and raises for one that does not verify; the HTML report (or the PDF
report, for an ``output_file`` ending in ``.pdf``) is written by the
evident library, with charts and the verification result of each log at
the top (its templates, CSS and logo cannot be replaced); the compliance
checks are the simple, documented ones of :class:`ComplianceAuditor`.
"""

from __future__ import annotations

import dataclasses
import functools
import getpass
import inspect
import json
import math
import os
import threading
import time
import uuid
import warnings
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, TypeVar, Union

from .. import _native as _N
from . import _time, _is_empty_file, _verified_head, _warn_recovery
from .. import compliance as _compliance
from .. import query as _q
from ..errors import ClosedError, CorruptLogError, InvalidArgumentError, MalformedLogError
from ..log import AuditLog
from ..report import report_entries as _report_entries

__all__ = [
    "AuditTrail",
    "audit_function",
    "get_audit_logs",
    "ReportGenerator",
    "ComplianceAuditor",
    "ComplianceReport",
]

DEFAULT_LOG_DIR = "audit_logs"
SOURCE = "secureml"
F = TypeVar("F", bound=Callable[..., Any])


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001
        return "unknown"


def _text(s: str) -> bytes:
    return str(s).replace("\x00", "_").encode("utf-8", "replace")


def _file_name(operation_name: str) -> str:
    """The operation's log file name (the library's rule,
    ``evident_compat_secureml_file_name``)."""
    return _N.compat_call("evident_compat_secureml_file_name", _text(operation_name))


def _clean(s: str) -> str:
    """``s`` with its lone surrogates (file names decoded with
    ``surrogateescape``, ...) written as ``\\udcff`` escapes: the library
    takes only valid UTF-8 text."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


# How deep ``summarize(..., cut=False)`` follows containers: the engine takes
# details nested up to 128 levels, and an event's fields sit two levels down.
_WHOLE_DEPTH = 100


def summarize(v: Any, depth: int = 0, cut: bool = True) -> Any:
    """A JSON-safe summary of ``v``: DataFrames, Series and arrays become
    their type, shape and columns/dtype; long sequences and strings are
    cut; other objects become their ``repr`` (cut to 200 characters);
    lone surrogates in text become ``\\udcff`` escapes.

    With ``cut=False`` (the values given to the ``log_*`` methods, the
    context and the close details) nothing is cut: strings, lists and dicts
    are recorded whole, only objects that are not JSON values are
    converted.

    Never raises: a value that cannot be summarised (its ``repr`` or a
    key's ``str`` raises, ...) becomes ``<unrepresentable TYPE: ERROR>``,
    an integer beyond what a log holds (over 1024 bits) ``<int of N
    digits>``."""
    return _summary(v, depth, cut, None)


def _placeholder(v: Any, e: BaseException) -> str:
    try:
        tname = type(v).__name__
    except Exception:  # noqa: BLE001
        tname = "object"
    return f"<unrepresentable {_clean(str(tname))}: {type(e).__name__}>"


def _int_size(v: int) -> str:
    """``<int of N digits>``: an integer the engine cannot take as a number
    (beyond a double's range; ``str`` of it may even be refused)."""
    n = abs(v)
    d = int((n.bit_length() - 1) * 0.30102999566398120) + 1  # digits of 2**(bits-1)
    d += n >= 10**d
    return f"<{'negative ' if v < 0 else ''}int of {d} digits>"


def _key(k: Any, bad: Optional[List[str]]) -> str:
    try:
        return _clean(str(k))
    except Exception as e:  # noqa: BLE001
        text = _placeholder(k, e)
        if bad is not None:
            bad.append(text)
        return text


def _summary(v: Any, depth: int, cut: bool, bad: Optional[List[str]]) -> Any:
    """:func:`summarize`; the placeholders given are added to ``bad``."""
    try:
        out = _summary_of(v, depth, cut, bad)
        if not (isinstance(out, str) and isinstance(v, int)):
            return out  # else an integer given by its size only
    except Exception as e:  # noqa: BLE001
        out = _placeholder(v, e)
    if bad is not None:
        bad.append(out)
    return out


def _summary_of(v: Any, depth: int, cut: bool, bad: Optional[List[str]]) -> Any:
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return _int_size(v) if v.bit_length() > 1024 else v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, str):
        v = _clean(v)
        return v if not cut or len(v) <= 1000 else v[:1000] + f"… ({len(v)} characters)"
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, os.PathLike):
        return _summary(os.fsdecode(v), depth + 1, cut, bad)
    tname = type(v).__name__
    shape = getattr(v, "shape", None)
    if shape is not None and hasattr(v, "columns"):  # pandas DataFrame
        columns = list(v.columns)
        return {
            "type": tname,
            "shape": [int(x) for x in shape],
            "columns": [_key(c, bad) for c in (columns[:100] if cut else columns)],
        }
    if shape is not None and hasattr(v, "dtype"):  # numpy array, pandas Series
        if shape == ():
            item = getattr(v, "item", None)
            if callable(item):
                return _summary(item(), depth + 1, cut, bad)
        out = {"type": tname, "shape": [int(x) for x in shape], "dtype": str(v.dtype)}
        name = getattr(v, "name", None)
        if name is not None and isinstance(name, (str, int)):
            out["name"] = _clean(name) if isinstance(name, str) else name
        return out
    if depth > (5 if cut else _WHOLE_DEPTH):
        return _clean(repr(v)[:200])
    if isinstance(v, dict):
        items = list(v.items())
        if not cut:
            return {_key(k, bad): _summary(x, depth + 1, cut, bad) for k, x in items}
        out = {_key(k, bad): _summary(x, depth + 1, cut, bad) for k, x in items[:100]}
        if len(items) > 100:
            out["…"] = f"{len(items) - 100} more keys"
        return out
    if isinstance(v, (list, tuple, set, frozenset)):
        seq = list(v)
        if cut and len(seq) > 100:
            return {
                "type": tname,
                "length": len(seq),
                "head": [_summary(x, depth + 1, cut, bad) for x in seq[:10]],
            }
        return [_summary(x, depth + 1, cut, bad) for x in seq]
    return _clean(repr(v)[:200])


def _names(columns: Any) -> List[str]:
    """Column names given as a list, a pandas ``Index``, an array or one
    name (not tested for truth: an ``Index`` refuses it)."""
    if columns is None:
        return []
    if isinstance(columns, (str, bytes)):
        columns = [columns]
    return [_clean(c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c)) for c in columns]


def _warn_ignored(what: str, ignored: Dict[str, Any]) -> None:
    """Keyword arguments this module does not know are accepted (other
    SecureML versions have more) but named, so a misspelt one
    (``regulation=`` for ``regulations=``) is not dropped in silence."""
    if ignored:
        names = ", ".join(sorted(ignored))
        warnings.warn(f"{what} ignores unknown keyword argument(s): {names}", UserWarning, stacklevel=3)


def _no_nul(value: str, name: str) -> str:
    """``value``, refused when it holds NUL: the reader cannot select by it
    (an operation name, an event type)."""
    if "\x00" in value:
        raise InvalidArgumentError(f"`{name}` contains a NUL character (U+0000): {value!r}")
    return value


def _unrepresented(who: str, what: str, bad: List[str], stacklevel: int) -> None:
    """The warning for values recorded as placeholders (:func:`summarize`)."""
    if bad:
        warnings.warn(
            f"{who} recorded {len(bad)} value(s) of {what} as placeholders: "
            + ", ".join(bad[:3])
            + (", …" if len(bad) > 3 else ""),
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )


def _exc_message(e: BaseException) -> str:
    """``str(e)``, shortened as arguments and results are (:func:`summarize`);
    an exception whose ``__str__`` fails is named by its type."""
    try:
        text = str(e)
    except Exception:  # noqa: BLE001
        text = f"<unprintable {type(e).__name__}>"
    return summarize(text)


class AuditTrail:
    """The audit trail of one operation run: events go to
    ``<log_dir>/<operation_name>.jsonl``; :meth:`close` ends the run."""

    def __init__(
        self,
        operation_name: str,
        log_dir: Union[str, "os.PathLike[str]", None] = None,
        context: Optional[Dict[str, Any]] = None,
        regulations: Optional[List[str]] = None,
        user: Optional[str] = None,
        **_ignored: Any,
    ) -> None:
        _warn_ignored("AuditTrail", _ignored)
        self.operation_name = _no_nul(_clean(str(operation_name)), "operation_name")
        self.log_dir = Path(log_dir if log_dir is not None else DEFAULT_LOG_DIR)
        self.context = dict(context or {})
        if isinstance(regulations, str):  # regulations="GDPR": one regulation
            regulations = [regulations]
        self.regulations = [_clean(str(r)) for r in (regulations or [])]
        self.user = _clean(str(user or _user()))
        self.operation_id = str(uuid.uuid4())
        self.start_time = time.time()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_file = self.log_dir / _file_name(self.operation_name)
        # close() and the log_* methods exclude each other: once close()
        # begins, nothing more lands and every log_* raises ClosedError
        self._lock = threading.RLock()
        self._log: Optional[AuditLog] = AuditLog(self.log_file, lock="shared", adopt_empty=True)
        _warn_recovery(self._log)
        self.closed = False
        try:
            self.log_event(
                "operation_start",
                {"start_time": datetime.now(timezone.utc).isoformat(timespec="microseconds")},
            )
        except BaseException:
            log, self._log, self.closed = self._log, None, True
            try:
                log.close()  # no run: the file is not held
            except Exception:  # noqa: BLE001
                pass
            raise

    # -- events ------------------------------------------------------------

    def log_event(
        self,
        event_type: str,
        details: Optional[Dict[str, Any]] = None,
        *,
        user: Optional[str] = None,
        success: Optional[bool] = None,
        error: Optional[str] = None,
        duration_ms: Optional[float] = None,
    ) -> Dict[str, Any]:
        """Records one event; returns its fields as :func:`get_audit_logs` does.
        A value that cannot be recorded is a placeholder (:func:`summarize`)
        and a ``RuntimeWarning``; after :meth:`close`, ClosedError."""
        kind = _no_nul(_clean(str(event_type)), "event_type")
        # recorded whole: what the caller logs is what the trail holds
        bad: List[str] = []
        fields = _summary(dict(details or {}), 0, False, bad)
        body = {
            **fields,
            "operation_id": self.operation_id,
            "operation_name": self.operation_name,
            "context": _summary(self.context, 0, False, bad),
            "regulations": self.regulations,
        }
        _unrepresented(f"AuditTrail({self.operation_name!r})", kind, bad, 2)
        with self._lock:
            if self._log is None:
                raise ClosedError(f"the audit trail of {self.operation_name!r} is closed")
            head = self._log.log(
                kind,
                self.operation_name,
                session_id=self.operation_id,
                source=SOURCE,
                actor=_clean(str(user)) if user else self.user,
                details=body,
                success=success,
                error=None if error is None else _clean(str(error)),
                duration_ms=duration_ms,
            )
        return {"event_type": event_type, "seq": head.seq, **body}

    def log_data_access(
        self,
        dataset_name: str,
        columns_accessed: Optional[List[str]] = None,
        num_records: Optional[int] = None,
        purpose: Optional[str] = None,
        user: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Records who read which columns of how many records, and why."""
        return self.log_event(
            "data_access",
            {
                "dataset_name": dataset_name,
                "columns_accessed": _names(columns_accessed),
                "num_records": num_records,
                "purpose": purpose,
                "user": user or self.user,
            },
            user=user,
        )

    def log_data_transformation(
        self,
        transformation_type: str,
        input_data: Any,
        output_data: Any,
        parameters: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        """Records a transformation (anonymisation, encoding, …)."""
        return self.log_event(
            "data_transformation",
            {
                "transformation_type": transformation_type,
                "input_data": input_data,
                "output_data": output_data,
                "parameters": parameters or {},
            },
        )

    def log_model_training(
        self,
        model_type: str,
        dataset_name: str,
        parameters: Optional[Dict[str, Any]] = None,
        metrics: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        return self.log_event(
            "model_training",
            {
                "model_type": model_type,
                "dataset_name": dataset_name,
                "parameters": parameters or {},
                "metrics": metrics or {},
            },
        )

    def log_model_inference(
        self, model_id: str, input_data: Any, output: Any, confidence: Optional[float] = None
    ) -> Dict[str, Any]:
        return self.log_event(
            "model_inference",
            {
                "model_id": model_id,
                "input_data": input_data,
                "output": output,
                "confidence": confidence,
            },
        )

    def log_privacy_method(
        self, method_name: str, parameters: Optional[Dict[str, Any]] = None, **extra: Any
    ) -> Dict[str, Any]:
        return self.log_event(
            "privacy_method", {"method_name": method_name, "parameters": parameters or {}, **extra}
        )

    def log_compliance_check(
        self,
        check_type: str,
        regulation: str,
        result: Any,
        details: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        passed = result if isinstance(result, bool) else None
        return self.log_event(
            "compliance_check",
            {
                "check_type": check_type,
                "regulation": regulation,
                "result": result,
                "details": details or {},
            },
            success=passed,
        )

    def log_user_consent(
        self,
        user_id: str,
        consent_type: str,
        granted: bool,
        details: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        return self.log_event(
            "user_consent",
            {
                "user_id": user_id,
                "consent_type": consent_type,
                "granted": bool(granted),
                "details": details or {},
            },
        )

    def log_error(
        self, error_type: str, message: str, details: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        return self.log_event(
            "error",
            {"error_type": error_type, "message": message, "details": details or {}},
            success=False,
            error=f"{error_type}: {message}",
        )

    def close(self, status: str = "completed", details: Optional[Dict[str, Any]] = None) -> None:
        """Records the end of the operation (``status``, ``details``,
        duration) and closes the log; the log is closed even when the end
        cannot be recorded (that error is raised). Closing twice does
        nothing; ``log_*`` calls of other threads wait for it, and raise
        ClosedError once it has begun."""
        with self._lock:
            if self._log is None:
                return
            log, ended = self._log, False
            try:
                duration = time.time() - self.start_time
                ok = json.loads(
                    _N.compat_call(
                        "evident_compat_secureml_status_success", _text(str(status))
                    )
                )
                self.log_event(
                    "operation_end",
                    {"status": status, "details": details or {}, "duration_seconds": duration},
                    success=ok,
                    duration_ms=duration * 1000.0,
                )
                ended = True
            finally:
                self._log = None
                self.closed = True
                if ended:
                    log.close()
                else:
                    try:
                        log.close()
                    except Exception:  # noqa: BLE001  (the end's own error is raised)
                        pass

    def __enter__(self) -> "AuditTrail":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is not None:
            # shortened: a huge message must not replace the exception
            self.close("failed", {"error": f"{exc_type.__name__}: {_exc_message(exc)}"})
        else:
            self.close()


def audit_function(
    operation_name: Optional[str] = None,
    log_dir: Union[str, "os.PathLike[str]", None] = None,
    regulations: Optional[List[str]] = None,
    context: Optional[Dict[str, Any]] = None,
    log_args: bool = True,
    log_result: bool = True,
) -> Callable[[F], F]:
    """Audits every call of the decorated function in its own
    :class:`AuditTrail`: the arguments (JSON-safe summaries), the result,
    the duration, and an exception (recorded, then re-raised). A coroutine
    function is audited when it is awaited, a (sync or async) generator
    function while it is iterated (from the first ``next()`` to its end;
    closed early by the consumer, its result says ``closed_early``).

    Used bare (``@audit_function`` without parentheses) it audits with the
    defaults. The function's exception and return value always reach the
    caller: the exception's message is shortened as arguments and results
    are, and an error or result that cannot be recorded all the same is a
    ``RuntimeWarning`` (the operation is still closed). An argument or
    result that cannot be summarised is recorded as a placeholder
    (:func:`summarize`), with a ``RuntimeWarning``. When the log cannot be
    opened (another writer holds its lock past the library's wait, the
    directory cannot be made, ...) the function runs unaudited, with a
    ``RuntimeWarning``, and nothing is written for that call. An operation
    name holding NUL is refused here (InvalidArgumentError)."""
    if isinstance(operation_name, str):
        _no_nul(operation_name, "operation_name")

    def deco(fn: F) -> F:
        name = _no_nul(_clean(str(operation_name or fn.__name__)), "operation_name")
        try:
            sig: Optional[inspect.Signature] = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None

        # Auditing never changes what the function does: its exception and
        # its result reach the caller; an event that cannot be recorded is
        # a warning, and the operation is still closed.
        def unrecorded(what: str, err: Exception) -> None:
            warnings.warn(
                f"audit_function({name!r}) could not record {what}: "
                f"{type(err).__name__}: {_exc_message(err)}",
                RuntimeWarning,
                stacklevel=4,
            )

        def begin(args: Any, kwargs: Any) -> Tuple[Optional["AuditTrail"], float]:
            ctx = {"function": fn.__qualname__, "module": fn.__module__, **(context or {})}
            try:
                trail = AuditTrail(name, log_dir, context=ctx, regulations=regulations)
            except Exception as err:  # noqa: BLE001
                # the log cannot be opened (locked, ...): the call runs
                # unaudited, nothing of it written
                unrecorded("the call (its log cannot be opened)", err)
                return None, time.perf_counter()
            if log_args:
                try:
                    bound = sig.bind(*args, **kwargs) if sig else None
                    arguments = dict(bound.arguments) if bound else {"args": args, "kwargs": kwargs}
                except TypeError:
                    arguments = {"args": args, "kwargs": kwargs}
                # summaries: a call's arguments (DataFrames, long lists) are not copied
                bad: List[str] = []
                call = {"function": fn.__qualname__, "arguments": _summary(arguments, 0, True, bad)}
                _unrepresented(f"audit_function({name!r})", "the arguments", bad, 3)
            else:
                call = {"function": fn.__qualname__}
            try:
                trail.log_event("function_call", call)
            except Exception as err:  # noqa: BLE001
                unrecorded("function_call", err)
            return trail, time.perf_counter()

        def close(trail: "AuditTrail", status: str, details: Dict[str, Any]) -> None:
            try:
                trail.close(status, details)  # releases the file even when it raises
            except Exception as err:  # noqa: BLE001
                unrecorded("operation_end", err)

        def failed(trail: Optional["AuditTrail"], start: float, e: BaseException) -> None:
            if trail is None:
                return
            dur = time.perf_counter() - start
            message = _exc_message(e)  # shortened as arguments and results are
            try:
                trail.log_event(
                    "function_error",
                    {
                        "function": fn.__qualname__,
                        "error_type": type(e).__name__,
                        "error_message": message,
                        "duration_seconds": dur,
                    },
                    success=False,
                    error=f"{type(e).__name__}: {message}",
                    duration_ms=dur * 1000.0,
                )
            except Exception as err:  # noqa: BLE001
                unrecorded("function_error", err)
            close(trail, "failed", {"error_type": type(e).__name__, "error_message": message})

        def done(
            trail: Optional["AuditTrail"], start: float, result: Any, closed_early: bool = False
        ) -> Any:
            if trail is None:
                return result
            dur = time.perf_counter() - start
            bad: List[str] = []
            shown = {"result": _summary(result, 0, True, bad)} if log_result else {}
            _unrepresented(f"audit_function({name!r})", "the result", bad, 3)
            try:
                trail.log_event(
                    "function_result",
                    {
                        "function": fn.__qualname__,
                        "duration_seconds": dur,
                        **shown,
                        **({"closed_early": True} if closed_early else {}),
                    },
                    success=True,
                    duration_ms=dur * 1000.0,
                )
            except Exception as err:  # noqa: BLE001
                unrecorded("function_result", err)
            close(trail, "completed", {"duration_seconds": dur})
            return result

        if inspect.iscoroutinefunction(fn):
            # A coroutine function: the call is audited when it is awaited
            # (its result, its duration and its exception), not when the
            # coroutine object is made.
            @functools.wraps(fn)
            async def awaited(*args: Any, **kwargs: Any) -> Any:
                trail, start = begin(args, kwargs)
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as e:
                    failed(trail, start, e)
                    raise
                return done(trail, start, result)

            return awaited  # type: ignore[return-value]

        if inspect.isgeneratorfunction(fn):
            # A generator function: its body runs while it is iterated, so
            # the call is audited from the first next() to its end (its
            # return value, its duration, an exception raised while
            # iterating), not when the generator object is made. Closed
            # early by the consumer it is completed, with "closed_early".
            @functools.wraps(fn)
            def iterated(*args: Any, **kwargs: Any) -> Any:
                trail, start = begin(args, kwargs)
                try:
                    result = yield from fn(*args, **kwargs)
                except GeneratorExit:
                    done(trail, start, None, closed_early=True)
                    raise
                except BaseException as e:
                    failed(trail, start, e)
                    raise
                return done(trail, start, result)

            return iterated  # type: ignore[return-value]

        if inspect.isasyncgenfunction(fn):
            # An async generator function, likewise: audited while it is
            # iterated, values sent in and exceptions thrown in forwarded.
            @functools.wraps(fn)
            async def aiterated(*args: Any, **kwargs: Any) -> Any:
                trail, start = begin(args, kwargs)
                agen = fn(*args, **kwargs)
                try:
                    value = await agen.__anext__()
                    while True:
                        try:
                            sent = yield value
                        except GeneratorExit:
                            await agen.aclose()
                            raise
                        except BaseException as thrown:
                            value = await agen.athrow(thrown)
                        else:
                            value = await agen.asend(sent)
                except StopAsyncIteration:
                    done(trail, start, None)
                except GeneratorExit:
                    done(trail, start, None, closed_early=True)
                    raise
                except BaseException as e:
                    failed(trail, start, e)
                    raise

            return aiterated  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            trail, start = begin(args, kwargs)
            try:
                result = fn(*args, **kwargs)
            except BaseException as e:
                failed(trail, start, e)
                raise
            return done(trail, start, result)

        return wrapper  # type: ignore[return-value]

    if callable(operation_name) and not isinstance(operation_name, str):
        # @audit_function without parentheses: given the function itself
        if (log_dir, regulations, context, log_args, log_result) != (None, None, None, True, True):
            raise TypeError(
                "audit_function takes the operation name first, not a function; "
                "write @audit_function(...) to give other arguments"
            )
        fn0, operation_name = operation_name, None
        return deco(fn0)  # type: ignore[return-value]
    return deco


# --- reading ------------------------------------------------------------------


def _time_arg(v: Union[str, datetime, date, None], name: str = "time") -> Optional[datetime]:
    """A bound: naive times are local time (as ``datetime.now()``); text is
    read by the library's rule (:mod:`evident.compat._time`)."""
    return _time.instant(v, name)


def _as_dict(e: _q.Entry, log_file: Path) -> Dict[str, Any]:
    d = e.details if isinstance(e.details, dict) else {"details": e.details}
    out = dict(d)
    out.update(
        {
            "timestamp": e.ts.isoformat(timespec="microseconds"),  # one form for every event
            "event_type": e.event_type,
            "operation_name": d.get("operation_name", e.action),
            "operation_id": d.get("operation_id", e.session_id),
            "user": d.get("user", e.actor),
            # The entry's own fields; an event's details of the same name
            # stay when the field is not set.
            "success": e.success if e.success is not None else d.get("success"),
            "error": e.error if e.error is not None else d.get("error"),
            "duration_ms": e.duration_ms if e.duration_ms is not None else d.get("duration_ms"),
            "seq": e.seq,
            "hash": e.hash,
            "log_file": str(log_file),
        }
    )
    return out


def get_audit_logs(
    operation_name: Optional[str] = None,
    start_time: Union[str, datetime, date, None] = None,
    end_time: Union[str, datetime, date, None] = None,
    log_dir: Union[str, "os.PathLike[str]", None] = None,
    event_type: Optional[str] = None,
    operation_id: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """Events of one operation (or of every log in ``log_dir``) between the
    times (naive times are local; ``end_time`` inclusive), oldest first;
    ``operation_id`` selects one run.
    Each dict has ``event_type``, ``timestamp`` (ISO 8601, UTC),
    ``operation_name``, ``operation_id``, ``context``, ``regulations``,
    the event's fields, and ``log_file`` (absolute path), ``seq``, ``hash``.

    Every log read is verified first (as ``evident verify``; a keyed log,
    read without its key, has its links and seqs checked, not its hashes):
    one that does not verify (an edited, deleted, duplicated or forged
    entry, a line cut before the end) raises CorruptLogError naming the
    file and its first problem, and no entries are returned; an incomplete
    last record, as a crash leaves it, is skipped as every reader skips it.
    Entries appended while reading are left out (only what was verified is
    returned).

    Reading every log of ``log_dir``, a ``.jsonl`` file there that is not
    an evident log (it does not start with a genesis record) is skipped
    with a warning, and an empty file (made by hand, ``touch``; an
    :class:`AuditTrail` makes it a log) is read as no entries, without a
    warning; the log of a named operation that is not an evident log
    raises (MalformedLogError). An operation name or event type holding
    NUL is refused (InvalidArgumentError), as :class:`AuditTrail` refuses
    it."""
    d = Path(log_dir if log_dir is not None else DEFAULT_LOG_DIR)
    if operation_name is not None:
        operation_name = _no_nul(_clean(str(operation_name)), "operation_name")
    if event_type is not None:
        event_type = _no_nul(_clean(str(event_type)), "event_type")
    since, until = _time_arg(start_time, "start_time"), _time_arg(end_time, "end_time")
    sel = json.loads(
        _N.compat_call(
            "evident_compat_secureml_select",
            os.fsencode(d),
            None if operation_name is None else _text(operation_name),
            None if since is None else since.isoformat().encode(),
            None if until is None else until.isoformat().encode(),
        )
    )
    q = _q.Query(
        event_type=event_type,
        action=operation_name,
        since=sel["since"],
        until=sel["until"],
        session_id=operation_id,
    )
    for f in sel.get("skipped", ()):
        # another program's .jsonl file beside the logs (SecureML too skips
        # what it cannot read): named, not dropped in silence
        warnings.warn(f"get_audit_logs skips {f}: not an evident log", UserWarning, stacklevel=2)
    out = []
    for f in sel["files"]:
        if _is_empty_file(f):
            continue  # made by hand (touch); an AuditTrail would make it a log
        head = _verified_head(f)  # one verify per file, at hash speed
        if head is None:
            continue
        # up to the verified head: an entry appended meanwhile was not checked
        fq = dataclasses.replace(q, seq_max=head)
        # absolute: a report made from another directory still finds the log
        out.extend(_as_dict(e, Path(f).absolute()) for e in _q.read_entries(f, fq))
    out.sort(key=lambda r: (r["timestamp"], r["seq"]))
    return out


# --- reporting ------------------------------------------------------------------

def _not_a_value(v: Any) -> bool:
    """NaN or pandas' NaT: what a DataFrame holds where a record had no value."""
    if isinstance(v, float):
        return math.isnan(v)
    return type(v).__name__ == "NaTType"


_ENTRY_KEYS = {
    "timestamp",
    "event_type",
    "operation_name",
    "operation_id",
    "user",
    "success",
    "error",
    "duration_ms",
    "seq",
    "hash",
    "log_file",
}


def _warn_unsupported(what: str, given: Dict[str, Any]) -> None:
    """SecureML arguments the library's report has no place for: accepted,
    named in a warning, not honoured."""
    names = [k for k, v in given.items() if v is not None]
    if names:
        warnings.warn(
            f"{what} ignores {', '.join(names)}: the evident report has its own "
            "layout and style and shows the logs' own contents only",
            UserWarning,
            stacklevel=3,
        )


class ReportGenerator:
    """SecureML's report generator: self-contained HTML with charts.

    The report's layout and style are the library's: ``templates_dir``,
    ``custom_css`` and ``logo_path`` (and ``generate_audit_report``'s
    ``additional_context``) are accepted but not used, with a
    ``UserWarning`` naming them."""

    def __init__(
        self, templates_dir: Any = None, custom_css: Any = None, logo_path: Any = None
    ) -> None:
        _warn_unsupported(
            "ReportGenerator",
            {"templates_dir": templates_dir, "custom_css": custom_css, "logo_path": logo_path},
        )
        self.templates_dir = templates_dir

    def generate_audit_report(
        self,
        logs: Iterable[Dict[str, Any]],
        output_file: Union[str, "os.PathLike[str]"],
        title: str = "Audit Report",
        include_charts: bool = True,
        additional_context: Optional[Dict[str, Any]] = None,
    ) -> str:
        """Writes a report of ``logs`` (as returned by
        :func:`get_audit_logs`) to ``output_file``: the verification result
        of each log they come from, counts, charts (activity over time, by
        event type, operation, user, tool, success rate) and every event.
        HTML, or PDF when ``output_file`` ends in ``.pdf``.
        ``additional_context`` is not shown (a ``UserWarning`` says so)."""
        _warn_unsupported("generate_audit_report", {"additional_context": additional_context})
        fmt = "pdf" if os.fsdecode(os.fspath(output_file)).lower().endswith(".pdf") else "html"
        entries, files = [], []
        for i, log in enumerate(logs):
            if not isinstance(log, Mapping):
                raise TypeError(
                    f"logs[{i}] is a {type(log).__name__}, not a dict as get_audit_logs returns"
                )
            # a record back from a pandas DataFrame: NaN / NaT stand for the
            # fields this event does not have (get_audit_logs never gives NaN)
            log = {k: v for k, v in log.items() if not _not_a_value(v)}
            ts = log.get("timestamp")
            if isinstance(ts, datetime):
                ts = _time_arg(ts, "timestamp").isoformat()  # type: ignore[union-attr]
            elif isinstance(ts, str):
                ts = _time_arg(ts, "timestamp").isoformat() if ts else None  # type: ignore[union-attr]
            if log.get("log_file") and log["log_file"] not in files:
                files.append(log["log_file"])
            entries.append(
                {
                    "ts": ts,
                    "seq": int(log.get("seq") or 0),
                    "hash": str(log.get("hash") or f"log-{i}"),
                    "event_type": str(log.get("event_type") or ""),
                    "action": str(log.get("operation_name") or ""),
                    "actor": str(log.get("user") or ""),
                    "session_id": str(log.get("operation_id") or ""),
                    "source": SOURCE,
                    "success": log.get("success"),
                    "error": log.get("error"),
                    "duration_ms": log.get("duration_ms"),
                    "details": summarize({k: v for k, v in log.items() if k not in _ENTRY_KEYS}),
                }
            )
        out = _report_entries(
            entries, output_file, format=fmt, title=title, charts=include_charts, logs=files
        )
        return str(out[0])


# --- compliance -------------------------------------------------------------------

def _columns(dataset: Any) -> "Dict[str, List[Any]]":
    if hasattr(dataset, "columns") and hasattr(dataset, "__getitem__"):
        return {
            str(c): list(dataset[c].head(1000))
            if hasattr(dataset[c], "head")
            else list(dataset[c])[:1000]
            for c in dataset.columns
        }
    if isinstance(dataset, dict):
        return {str(k): list(v)[:1000] for k, v in dataset.items()}
    if isinstance(dataset, list) and all(isinstance(r, dict) for r in dataset):
        cols: Dict[str, List[Any]] = {}
        for r in dataset[:1000]:
            for k, v in r.items():
                cols.setdefault(str(k), []).append(v)
        return cols
    raise TypeError(
        "audit_dataset needs a DataFrame, a dict of columns or a list of records, "
        f"not {type(dataset).__name__}"
    )


class ComplianceReport:
    """Findings of :meth:`ComplianceAuditor.audit_dataset`."""

    def __init__(
        self, regulation: str, dataset_name: str, num_records: int, columns: List[str]
    ) -> None:
        self.regulation = regulation
        self.dataset_name = dataset_name
        self.num_records = num_records
        self.columns = columns
        self.issues: List[Dict[str, Any]] = []
        self.warnings: List[Dict[str, Any]] = []
        self.passed_checks: List[str] = []
        self.personal_data_columns: Dict[str, str] = {}

    def add_issue(self, component: str, issue: str, severity: str, recommendation: str) -> None:
        self.issues.append(
            {
                "component": component,
                "issue": issue,
                "severity": severity,
                "recommendation": recommendation,
            }
        )

    def add_warning(self, component: str, warning: str, recommendation: str) -> None:
        self.warnings.append(
            {"component": component, "warning": warning, "recommendation": recommendation}
        )

    def has_issues(self) -> bool:
        return bool(self.issues)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "regulation": self.regulation,
            "dataset_name": self.dataset_name,
            "num_records": self.num_records,
            "columns": self.columns,
            "personal_data_columns": self.personal_data_columns,
            "issues": self.issues,
            "warnings": self.warnings,
            "passed_checks": self.passed_checks,
            "compliant": not self.issues,
        }

    def summary(self) -> Dict[str, Any]:
        return {
            "regulation": self.regulation,
            "issues": len(self.issues),
            "warnings": len(self.warnings),
            "passed_checks": len(self.passed_checks),
            "compliant": not self.issues,
        }

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"ComplianceReport({self.regulation}, {self.dataset_name!r}: {s['issues']} issues, "
            f"{s['warnings']} warnings, {s['passed_checks']} passed)"
        )


class ComplianceAuditor:
    """Simple, documented checks of a dataset against a regulation, recorded
    in an audit trail under ``log_dir`` (operation ``compliance_audit``).

    The checks are the library's (``evident_compliance_check``, documented
    in ``src/compliance.rs``; also ``evident compliance-check``): column
    names that look like personal data; values that look like e-mail
    addresses, phone, social security or card numbers, IP addresses (on up
    to 1000 values per column) in columns whose names did not already flag
    them; special categories (GDPR Art. 9, CCPA sensitive, HIPAA health
    information; issues of high severity); and, when personal data is
    present, whether ``metadata`` documents consent (``consent_obtained``)
    and a purpose (``purpose``)."""

    def __init__(
        self,
        regulation: str = "GDPR",
        log_dir: Union[str, "os.PathLike[str]", None] = None,
        **_ignored: Any,
    ) -> None:
        _warn_ignored("ComplianceAuditor", _ignored)
        self.regulation = str(regulation).upper()
        self.log_dir = log_dir

    def audit_dataset(
        self, dataset: Any, dataset_name: str = "dataset", metadata: Optional[Dict[str, Any]] = None
    ) -> ComplianceReport:
        cols = _columns(dataset)
        n = (
            len(dataset)
            if hasattr(dataset, "__len__") and not isinstance(dataset, dict)
            else (max((len(v) for v in cols.values()), default=0))
        )
        report = ComplianceReport(self.regulation, dataset_name, n, list(cols))
        trail = None
        if self.log_dir is not None:
            trail = AuditTrail(
                "compliance_audit",
                self.log_dir,
                context={"dataset_name": dataset_name, "regulation": self.regulation},
                regulations=[self.regulation],
            )
            trail.log_data_access(dataset_name, list(cols), n, purpose="compliance_audit")
        try:
            self._check(cols, metadata or {}, report, trail)
        except BaseException as e:
            if trail:
                trail.close("failed", {"error": f"{type(e).__name__}: {e}"})
            raise
        if trail:
            trail.close("completed", report.summary())
        return report

    def _check(
        self,
        cols: Dict[str, List[Any]],
        metadata: Dict[str, Any],
        report: ComplianceReport,
        trail: Optional[AuditTrail],
    ) -> None:
        # Only string values are looked at: others are sent as null.
        dataset = {
            "dataset_name": str(report.dataset_name),
            "num_records": int(report.num_records),
            "columns": [
                {"name": c, "values": [v if isinstance(v, str) else None for v in vals]}
                for c, vals in cols.items()
            ],
            "metadata": summarize(dict(metadata)),
        }
        r = _compliance.check(self.regulation, dataset)
        report.issues.extend(r["issues"])
        report.warnings.extend(r["warnings"])
        report.passed_checks.extend(r["passed_checks"])
        report.personal_data_columns = dict(r["personal_data_columns"])
        if trail:
            for c in r["checks"]:
                trail.log_compliance_check(c["check"], self.regulation, c["passed"], c["details"])
