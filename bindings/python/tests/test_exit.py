"""Interpreter exit with an open log still used by the ``logging`` module.

At exit, ``logging.shutdown`` (atexit) flushes and closes every handler. A
log left open must still be usable then: the safety net that frees native
handles at exit must neither free it first (the handler's flush / close
would raise ClosedError) nor lose the entries logged last.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import evident
from conftest import run_python

N = 50

# The script logs N records and exits without closing anything.
SCRIPT = r"""
import logging, sys
import evident

path, mode, durability, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
logger = logging.getLogger("exit-test")
logger.setLevel(logging.INFO)
logger.propagate = False
if mode == "path":
    handler = evident.AuditHandler(path, durability=durability)
elif mode == "object":
    handler = evident.AuditHandler(evident.AuditLog(path, durability=durability))
else:  # the log object kept by the script too, in a module global
    LOG = evident.AuditLog(path, durability=durability)
    handler = evident.AuditHandler(LOG)
logger.addHandler(handler)
for i in range(n):
    logger.info("record %d", i, extra={"i": i})
"""


@pytest.mark.parametrize("mode", ["path", "object", "global"])
@pytest.mark.parametrize("durability", ["buffered", "sync"])
def test_exit_with_open_handler_keeps_every_entry(tmp_path: Path, mode: str, durability: str) -> None:
    path = tmp_path / "audit.jsonl"
    p = run_python(
        SCRIPT, str(path), mode, durability, str(N), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = p.communicate(timeout=60)
    text = err.decode("utf-8", "replace")
    assert p.returncode == 0, text
    assert "ClosedError" not in text, text
    assert "Traceback" not in text, text
    assert text == "", text
    res = evident.verify(path)
    assert res.valid, res.error
    entries = evident.read_entries(path)
    assert [e.action for e in entries] == [f"record {i}" for i in range(N)]
    assert [e.details["i"] for e in entries] == list(range(N))


def test_exit_unreferenced_log_is_still_closed(tmp_path: Path) -> None:
    """The safety net still works for a log nobody closes (buffered entries
    are written at exit)."""
    path = tmp_path / "audit.jsonl"
    code = (
        "import sys, evident\n"
        "LOG = evident.AuditLog(sys.argv[1], durability='buffered')\n"
        "for i in range(10): LOG.log('e', f'a{i}')\n"
    )
    p = run_python(code, str(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0 and err == b"", err.decode("utf-8", "replace")
    assert evident.verify(path).valid
    assert [e.action for e in evident.read_entries(path)] == [f"a{i}" for i in range(10)]


def test_circular_details_is_a_clear_error(tmp_path: Path) -> None:
    d: dict = {"a": 1}
    d["self"] = d
    lst: list = [1]
    lst.append(lst)
    with evident.AuditLog(tmp_path / "audit.jsonl") as log:
        for bad in (d, {"x": lst}):
            with pytest.raises(evident.InvalidArgumentError) as ei:
                log.log("e", "a", details=bad)
            msg = str(ei.value)
            assert "details" in msg and "circular" in msg.lower(), msg
            assert not isinstance(ei.value.__cause__, RecursionError)
            with pytest.raises(evident.InvalidArgumentError) as ei:
                log.log_many([{"event_type": "e", "details": bad}])
            msg = str(ei.value)
            assert "event 0" in msg and "circular" in msg.lower(), msg
        # Nothing was written by the failed calls.
        assert log.head().seq == 0
        # The same object, once the cycle is broken, is written.
        del d["self"]
        assert log.log("e", "a", details=d).seq == 1


def test_circular_extra_through_handler(tmp_path: Path) -> None:
    """A cycle in `extra=` of a log record: the entry is still written (its
    value as repr), like any other value JSON cannot represent."""
    import logging

    path = tmp_path / "audit.jsonl"
    logger = logging.getLogger("circular-extra")
    logger.propagate = False
    h = evident.AuditHandler(path, raise_errors=True)
    logger.addHandler(h)
    try:
        d: dict = {}
        d["d"] = d
        logger.warning("cyc", extra={"cyc": d})
    finally:
        logger.removeHandler(h)
        h.close()
    (e,) = evident.read_entries(path)
    assert e.action == "cyc"
    assert e.details["cyc"] == repr(d)



# An atexit hook registered before any native object exists runs after the
# finalizers' own exit hook (atexit runs hooks last in, first out), so it
# sees objects whose safety net has already run at exit.
LATE_HOOK = r"""
import atexit, sys
import evident

state = {}

def late():
    it, s = state["it"], state["session"]
    print("iter", next(it).action)
    print("session", s.name)

atexit.register(late)
path = sys.argv[1]
with evident.AuditLog(path) as log:
    for i in range(3):
        log.log("e", f"a{i}")
state["it"] = evident.iter_entries(path)
state["session"] = evident.Session("kept")
"""


def test_exit_hooks_can_still_use_native_objects(tmp_path: Path) -> None:
    """The safety net frees no handle at interpreter exit: another exit hook
    may still use the object (before, it read freed memory)."""
    path = tmp_path / "audit.jsonl"
    p = run_python(LATE_HOOK, str(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=60)
    text = err.decode("utf-8", "replace")
    assert p.returncode == 0 and text == "", text
    assert out.decode().splitlines() == ["iter a0", "session kept"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
