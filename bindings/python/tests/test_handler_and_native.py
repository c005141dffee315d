"""The logging handler, and the native layer: library loading, the
EVIDENT_LIBRARY override, and prototypes for every symbol of the C ABI."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import evident
from conftest import REPO, run_python
from evident import _native

# --- logging.Handler ------------------------------------------------------


def test_handler_writes_records(log_path: Path) -> None:
    logger = logging.getLogger("evident.test.handler")
    logger.setLevel(logging.DEBUG)
    handler = evident.AuditHandler(log_path, durability="group")
    logger.addHandler(handler)
    try:
        logger.info("calibrated %s", "sensor 3", extra={"channel": 3, "session_id": "run-9"})
        logger.warning(
            "overrange", extra={"event_type": "MEASUREMENT", "action": "read", "success": False}
        )
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            logger.exception("division failed")
        logger.debug("with an object", extra={"obj": object()})
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert handler.audit_log.closed
    a, b, c, d = evident.read_entries(log_path)
    assert (a.event_type, a.action, a.source, a.session_id) == (
        "INFO",
        "calibrated sensor 3",
        "evident.test.handler",
        "run-9",
    )
    assert a.details["channel"] == 3 and a.details["level"] == "INFO"
    assert a.details["function"] == "test_handler_writes_records" and a.details["line"] > 0
    assert (b.event_type, b.action, b.success) == ("MEASUREMENT", "read", False)
    assert c.event_type == "ERROR" and c.error and "ZeroDivisionError" in c.error
    assert d.details["obj"].startswith("<object object")
    assert evident.verify(log_path).valid


def test_handler_on_an_open_log_leaves_it_open(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        h = evident.AuditHandler(log)
        h.handle(logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None))
        h.flush()
        h.close()
        assert not log.closed
        assert log.head().seq == 1
    with pytest.raises(TypeError):
        evident.AuditHandler(log, durability="sync")


def test_handler_errors(log_path: Path) -> None:
    log = evident.AuditLog(log_path)
    quiet = evident.AuditHandler(log)
    loud = evident.AuditHandler(log, raise_errors=True)
    log.close()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "after close", (), None)
    old = logging.raiseExceptions
    logging.raiseExceptions = False  # handleError then stays silent
    try:
        quiet.handle(record)  # reported through handleError, not raised
    finally:
        logging.raiseExceptions = old
    with pytest.raises(evident.ClosedError):
        loud.handle(record)


# --- native layer -----------------------------------------------------------


def _fork_and_wait(child) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            code = child()
        except BaseException as e:
            sys.stderr.write(f"child failed: {e!r}\n")
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_log_handle_is_refused_in_a_forked_child(log_path: Path) -> None:
    log = evident.AuditLog(log_path)
    log.log("TEST", "parent-1")

    def child() -> int:
        try:
            log.log("TEST", "child")
        except evident.ForkedError as e:
            ok = f"opened by process {os.getppid()}" in str(e) and "after fork" in str(e)
            return 0 if ok and e.status_name == "EVIDENT_STATUS_FORKED" else 3
        return 2

    assert _fork_and_wait(child) == 0
    log.log("TEST", "parent-2")
    log.close()
    result = evident.verify(log_path)
    assert result.valid and result.entries == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_never_waits_for_the_parents_lock(log_path: Path) -> None:
    """Forked while parent threads append (one of them may hold the log's
    lock at the fork, and no thread of the child will release it): the
    child's head(), recovery and close() fail with ForkedError or do
    nothing at once. Before, head() and close() (which reads the final
    head) waited for ever in about 7 forks of 10."""
    import signal
    import threading
    import time

    log = evident.AuditLog(log_path, durability="sync")
    stop = threading.Event()

    def append() -> None:
        while not stop.is_set():
            log.log("TEST", "parent")

    threads = [threading.Thread(target=append) for _ in range(3)]
    for t in threads:
        t.start()

    def child() -> int:
        signal.alarm(5)  # a hang ends the child: exit by signal, not 0
        for op in (log.head, lambda: log.recovery, log.close):
            try:
                op()
            except evident.ForkedError:
                pass
        return 0

    try:
        for _ in range(10):
            time.sleep(0.002)
            assert _fork_and_wait(child) == 0
    finally:
        stop.set()
        for t in threads:
            t.join()
    log.close()
    assert evident.verify(log_path).valid


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_handler_reopens_in_a_forked_child(log_path: Path) -> None:
    logger = logging.getLogger("evident.test.fork")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = evident.AuditHandler(log_path, raise_errors=True, lock="shared")
    logger.addHandler(handler)
    try:
        logger.info("parent before fork")

        def child() -> int:
            for i in range(3):
                logger.info("child %d", i)
            handler.close()
            return 0

        codes = []
        for _ in range(2):
            codes.append(_fork_and_wait(child))
        logger.info("parent after fork")
        assert codes == [0, 0]
    finally:
        logger.removeHandler(handler)
        handler.close()
    result = evident.verify(log_path)
    assert result.valid, result.violations
    assert result.entries == 2 + 2 * 3
    actions = [e.action for e in evident.read_entries(log_path)]
    assert actions.count("child 0") == 2
    assert actions[0] == "parent before fork" and actions[-1] == "parent after fork"


def test_library_is_inside_the_package_unless_overridden() -> None:
    import os

    lib = Path(evident.library_path)
    if os.environ.get("EVIDENT_LIBRARY"):
        assert lib == Path(os.environ["EVIDENT_LIBRARY"])
    else:
        assert lib.parent == Path(evident.__file__).parent
        assert lib.name.startswith("_libevident")


def test_evident_library_override(tmp_path: Path) -> None:
    code = "import evident, sys; print(evident.library_path)"
    p = run_python(
        code, env={"EVIDENT_LIBRARY": evident.library_path}, stdout=subprocess.PIPE, text=True
    )
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0 and out.strip() == evident.library_path
    bogus = str(tmp_path / "nope.so")
    p = run_python(
        code,
        env={"EVIDENT_LIBRARY": bogus},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, err = p.communicate(timeout=60)
    assert p.returncode != 0 and "ImportError" in err and "nope.so" in err


@pytest.mark.parametrize(
    "name",
    [
        "_libevident.so",  # the Linux wheel, and `pip install` from source
        "libevident.dylib",  # the macOS wheels (scripts/cross-check.sh macos_wheel)
        "evident.dll",  # the Windows wheel (scripts/cross-check.sh windows_wheel)
    ],
)
def test_library_found_inside_the_package(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The package directory of an installed wheel: the library next to
    # _native.py, no EVIDENT_LIBRARY.
    (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(_native, "__file__", str(tmp_path / "_native.py"))
    monkeypatch.delenv("EVIDENT_LIBRARY", raising=False)
    assert _native._find_library() == str(tmp_path / name)
    (tmp_path / name).unlink()
    with pytest.raises(ImportError, match="not installed in"):
        _native._find_library()


def test_every_abi_symbol_has_a_prototype() -> None:
    symbols = REPO / "abi" / "symbols.txt"
    if not symbols.is_file():
        pytest.skip("abi/symbols.txt is not here (not a source checkout)")
    names = set()
    for line in symbols.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.search(r"\b(evident_\w+)\(", line)
        assert m, line
        names.add(m.group(1))
    assert names == set(_native._PROTOTYPES), (
        f"missing: {sorted(names - set(_native._PROTOTYPES))}, "
        f"unknown: {sorted(set(_native._PROTOTYPES) - names)}"
    )


def test_abi_version_and_status_names() -> None:
    lib = _native.lib
    assert lib.evident_abi_version() >> 16 == _native.ABI_VERSION_MAJOR
    assert lib.evident_status_name(5) == b"EVIDENT_STATUS_LOCKED"
    assert _native.kind_name(1) == "hash_mismatch"


def test_structs_match_the_header() -> None:
    import ctypes

    header = REPO / "include" / "evident.h"
    if not header.is_file():
        pytest.skip("include/evident.h is not here")
    text = header.read_text()
    assert "#define EVIDENT_HASH_HEX_CAPACITY 129" in text
    body = text[
        text.index("typedef struct {", text.index("One entry to append")) : text.index(
            "} evident_event;"
        )
    ]
    c_fields = re.findall(r"^\s+(?:const char \*|bool |double )(\w+);", body, re.M)
    assert c_fields == [f[0] for f in _native.evident_event._fields_]
    assert ctypes.sizeof(_native.evident_head) >= 8 + 129


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX only")
def test_no_network_modules_are_imported() -> None:
    code = (
        "import sys, evident, evident.compat.openparallax, evident.compat.tracekit; "
        "net = ('socket', 'urllib.request', 'http.client', 'ssl'); "
        "print(sorted(m for m in net if m in sys.modules))"
    )
    p = run_python(code, stdout=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=60)
    assert out.strip() == "[]"
