"""One base class for Python objects that own a native handle.

A :class:`Managed` object owns exactly one pointer returned by the library
and frees it exactly once, with the library's free function for that type:

- deterministically, by :meth:`Managed.close` (safe to call twice, and from
  any thread) or by leaving a ``with`` block;
- as a safety net only, by :func:`weakref.finalize` when the object is
  garbage-collected without ``close()`` (never at interpreter exit, where
  another exit hook may still use it).

Calls into the library borrow the pointer with :meth:`_acquire` /
:meth:`_release`. ``close()`` marks the object closed at once (later calls
raise :class:`~evident.errors.ClosedError`), then waits until every call in
flight has returned before it frees the handle, so a pointer is never freed
while another thread is using it.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, ClassVar, Optional, TypeVar

from .errors import ClosedError

__all__ = ["Managed"]

T = TypeVar("T", bound="Managed")


def _free(fn: Callable[[int], None], ptr: int) -> None:
    fn(ptr)


class Managed:
    """Owner of one native handle (see the module documentation)."""

    #: The library's free function for this handle type (set by subclasses).
    _free_fn: ClassVar[Callable[[Any], None]]
    #: What the object is, for the ClosedError message.
    _what: ClassVar[str] = "object"

    _ptr: Optional[int] = None
    _finalizer: "Optional[weakref.finalize[Any, Any]]" = None

    def _set_handle(self, ptr: int) -> None:
        """Takes ownership of ``ptr`` (once, right after creating it)."""
        assert self._finalizer is None, "handle already set"
        # A plain lock guards ``_ptr`` and ``_in_flight``. ``_drained`` is
        # created only by a close() that has to wait for calls in flight; the
        # call that brings ``_in_flight`` to 0 releases it. Calls made while
        # nobody is closing thus pay for one uncontended lock each, and
        # nothing else.
        self._lock = threading.Lock()
        self._in_flight = 0
        self._drained: Optional[threading.Lock] = None
        self._ptr = ptr
        self._finalizer = weakref.finalize(self, _free, type(self)._free_fn, ptr)
        # Not at interpreter exit: another exit hook (``logging.shutdown``,
        # the application's own) may still use the object after the
        # finalizers' hook has run, and would read freed memory. The process
        # is ending; the OS takes the memory back. (AuditLog closes its open
        # logs properly at exit by a hook of its own.)
        self._finalizer.atexit = False

    def _acquire(self) -> int:
        """Borrows the handle for one call; pair with :meth:`_release`."""
        lock = self.__dict__.get("_lock")
        if lock is None:
            raise ClosedError(f"this {self._what} is closed")
        with lock:
            ptr = self._ptr
            if ptr is None:
                raise ClosedError(f"this {self._what} is closed")
            self._in_flight += 1
            return ptr

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1
            # Once close() has set ``_drained`` no call can start any more,
            # so the count only goes down and reaches 0 exactly once.
            if self._in_flight == 0 and self._drained is not None:
                self._drained.release()

    def _detach(self) -> Optional[int]:
        """Marks the object closed and waits for the calls in flight.

        Returns the handle, still allocated, to the one caller that closed
        the object (``None`` to every other caller). Free it with
        :meth:`_free_handle`.
        """
        lock = self.__dict__.get("_lock")
        if lock is None:
            return None
        with lock:
            ptr = self._ptr
            if ptr is None:
                return None
            self._ptr = None
            if not self._in_flight:
                return ptr
            # Only this caller gets here (``_ptr`` was not None under the
            # lock): a held lock that the last call in flight releases.
            drained = self._drained = threading.Lock()
            drained.acquire()
        drained.acquire()
        return ptr

    def _free_handle(self) -> None:
        """Frees the handle now (runs the finalizer; it runs only once)."""
        if self._finalizer is not None:
            self._finalizer()

    def _closing(self, ptr: int) -> None:
        """Hook: runs in :meth:`close` before the handle is freed."""

    def close(self) -> None:
        """Releases the native handle. Calling it again does nothing."""
        ptr = self._detach()
        if ptr is None:
            return
        try:
            self._closing(ptr)
        finally:
            self._free_handle()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called (or the handle was never set)."""
        return self._ptr is None

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
