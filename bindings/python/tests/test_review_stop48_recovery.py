"""Outside review of 7 December 2026 (second round): a log cut below the
length made durable, or with a torn tail, was taken up again by the compat
modules without a word (the library reports it in ``AuditLog.recovery``,
which their users never see)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, List

import pytest

from evident.compat import openparallax as op
from evident.compat import rtgs
from evident.compat import secureml
from evident.compat import tracekit as tk

KEY = b"k" * 32


def _cut_last_record(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 1])


def _tear(path: Path) -> None:
    with open(path, "ab") as f:
        f.write(b'{"v":1,"seq":')


def _tracekit(path: Path) -> Callable[[], None]:
    def write() -> None:
        with tk.AuditTrail(KEY, path=path) as t:
            t.record_action("x", {"n": 1})
    return write


def _openparallax(path: Path) -> Callable[[], None]:
    def write() -> None:
        lg = op.AuditLogger(str(path))
        lg.log(op.EventType.ACTION_EXECUTED, "x", "s", {"n": 1})
        lg.close()
    return write


def _rtgs(path: Path) -> Callable[[], None]:
    def write() -> None:
        rtgs.record_operation("tool", "op", parameters={"n": 1})
    return write


def _secureml(path: Path) -> Callable[[], None]:
    def write() -> None:
        secureml.AuditTrail("op", log_dir=str(path.parent)).close()
    return write


def _messages(write: Callable[[], None]) -> List[str]:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        write()
    return [str(w.message) for w in got if issubclass(w.category, UserWarning)]


@pytest.mark.parametrize("make", [_tracekit, _openparallax, _rtgs, _secureml])
def test_a_cut_and_a_torn_tail_are_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        make: Callable[..., Callable[[], None]]) -> None:
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "audit.jsonl"
    write = make(path)
    write()
    if make is _rtgs:
        path = rtgs.log_path()
    elif make is _secureml:
        path = next(tmp_path.glob("*.jsonl"))
    write()
    assert _messages(write) == []  # nothing to say
    _cut_last_record(path)
    said = _messages(write)
    assert any("shorter than" in m and str(path) in m for m in said), said
    _tear(path)
    said = _messages(write)
    assert any("moved aside" in m and ".torn-" in m for m in said), said
