"""Review stop 45, SecureML compatibility module (seed 003): defects found
by a black-box reviewer, each reproduced here first.

1. ``get_audit_logs`` over a whole directory failed on any ``.jsonl`` file
   that is not an evident log; such files are now skipped with a warning,
   while a damaged evident log still raises.
2. ``audit_function``: an exception or a result that cannot be logged
   (too large, unprintable) replaced the caller's exception / return value.
3. ``@audit_function`` used bare returned a function and never ran the body.
"""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import pytest

from evident import AuditLog
from evident.compat.secureml import AuditTrail, audit_function, get_audit_logs
from evident.errors import EvidentError

HUGE = 17 * 2**20  # over the engine's 16 MiB record limit


def _types(log_dir: Path, name: str):
    return [e["event_type"] for e in get_audit_logs(name, log_dir=log_dir)]


def _trail(log_dir: Path, name: str = "train") -> Path:
    t = AuditTrail(name, log_dir)
    t.log_event("step", {"a": 1})
    t.close()
    return log_dir / f"{name}.jsonl"


# --- 1. other .jsonl files in the directory ----------------------------------


def test_directory_skips_jsonl_files_that_are_not_evident_logs(tmp_path: Path) -> None:
    _trail(tmp_path)
    (tmp_path / "data.jsonl").write_text('{"a": 1}\n')
    (tmp_path / "notes.jsonl").write_text("not json at all\n")
    with pytest.warns(UserWarning) as rec:
        logs = get_audit_logs(start_time="2000-01-01", log_dir=tmp_path)
    assert [e["event_type"] for e in logs] == ["operation_start", "step", "operation_end"]
    text = " ".join(str(w.message) for w in rec)
    assert "data.jsonl" in text and "notes.jsonl" in text
    assert "train.jsonl" not in text


def test_directory_skips_binary_garbage_and_keeps_a_binary_magic_log(tmp_path: Path) -> None:
    _trail(tmp_path)
    (tmp_path / "blob.jsonl").write_bytes(b"\x00\x01\x02garbage")
    with AuditLog(tmp_path / "bin.jsonl", framing="binary") as log:
        log.log("step", "bin", source="secureml", details={"operation_name": "bin"})
    assert (tmp_path / "bin.jsonl").read_bytes().startswith(b"\x89EVD")
    with pytest.warns(UserWarning, match="blob.jsonl") as rec:
        logs = get_audit_logs(log_dir=tmp_path)
    assert len(logs) == 4
    assert sorted(e["operation_name"] for e in logs) == ["bin", "train", "train", "train"]
    assert not any("bin.jsonl" in str(w.message) for w in rec)


def test_directory_without_foreign_files_warns_nothing(tmp_path: Path) -> None:
    _trail(tmp_path, "a")
    _trail(tmp_path, "b")
    (tmp_path / "empty.jsonl").touch()  # an empty file is read as no entries, as before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logs = get_audit_logs(log_dir=tmp_path)
    assert len(logs) == 6


def test_damaged_evident_log_in_directory_still_raises(tmp_path: Path) -> None:
    """A real evident log whose record is broken is not skipped (the
    reader's MalformedLogError, as before the fix)."""
    p = _trail(tmp_path)
    (tmp_path / "data.jsonl").write_text('{"a": 1}\n')
    lines = p.read_text().splitlines(True)
    lines.insert(2, '{"a": 1}\n')  # a foreign line inside the chain
    p.write_text("".join(lines))
    with pytest.warns(UserWarning, match="data.jsonl"):
        with pytest.raises(EvidentError, match="train.jsonl"):
            get_audit_logs(log_dir=tmp_path)


def test_damaged_genesis_line_still_raises(tmp_path: Path) -> None:
    p = _trail(tmp_path)
    lines = p.read_text().splitlines(True)
    lines[0] = lines[0][:-10] + "\n"  # genesis record cut: still sniffs as a log
    p.write_text("".join(lines))
    with pytest.raises(EvidentError, match="train.jsonl"):
        get_audit_logs(log_dir=tmp_path)


def test_named_operation_file_that_is_not_a_log_still_raises(tmp_path: Path) -> None:
    """Asked for by name, the operation's own file is not skipped."""
    (tmp_path / "data.jsonl").write_text('{"a": 1}\n')
    with pytest.raises(EvidentError):
        get_audit_logs("data", log_dir=tmp_path)


# --- 2. exceptions and results that cannot be logged -------------------------


def test_huge_exception_message_propagates_unchanged(tmp_path: Path) -> None:
    err = ValueError("x" * HUGE)

    @audit_function("huge_err", log_dir=tmp_path)
    def f() -> None:
        raise err

    with pytest.raises(ValueError) as info:
        f()
    assert info.value is err
    assert info.value.__context__ is None
    logs = get_audit_logs("huge_err", log_dir=tmp_path)
    assert [e["event_type"] for e in logs] == [
        "operation_start",
        "function_call",
        "function_error",
        "operation_end",
    ]
    fe = logs[2]
    assert fe["error_type"] == "ValueError"
    assert fe["error_message"].startswith("xxx")
    assert len(fe["error_message"]) < 2000  # shortened like arguments/results
    assert f"({HUGE} characters)" in fe["error_message"]
    assert len(fe["error"]) < 2000
    assert fe["success"] is False
    assert logs[3]["status"] == "failed" and logs[3]["success"] is False
    assert len(logs[3]["details"]["error_message"]) < 2000


def test_huge_exception_message_async(tmp_path: Path) -> None:
    @audit_function("huge_async", log_dir=tmp_path)
    async def f() -> None:
        raise KeyError("k" * HUGE)

    with pytest.raises(KeyError) as info:
        asyncio.run(f())
    assert info.value.__context__ is None
    assert _types(tmp_path, "huge_async")[-2:] == ["function_error", "operation_end"]


def test_huge_exception_message_generator(tmp_path: Path) -> None:
    @audit_function("huge_gen", log_dir=tmp_path)
    def g():
        yield 1
        raise ValueError("g" * HUGE)

    it = g()
    assert next(it) == 1
    with pytest.raises(ValueError) as info:
        next(it)
    assert info.value.__context__ is None
    assert _types(tmp_path, "huge_gen")[-2:] == ["function_error", "operation_end"]


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


def test_unprintable_exception_propagates_unchanged(tmp_path: Path) -> None:
    @audit_function("unprintable", log_dir=tmp_path)
    def f() -> None:
        raise _Unprintable()

    with pytest.raises(_Unprintable) as info:
        f()
    assert info.value.__context__ is None
    assert _types(tmp_path, "unprintable")[-2:] == ["function_error", "operation_end"]


def test_error_that_cannot_be_logged_warns_and_keeps_the_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing function_error fails anyway, a warning, the caller's
    exception, and the operation still closed."""
    real = AuditTrail.log_event

    def log_event(self, event_type, *a, **k):
        if event_type == "function_error":
            raise OSError("disk full")
        return real(self, event_type, *a, **k)

    monkeypatch.setattr(AuditTrail, "log_event", log_event)

    @audit_function("err_fail", log_dir=tmp_path)
    def f() -> None:
        raise ValueError("boom")

    with pytest.warns(RuntimeWarning, match="disk full"):
        with pytest.raises(ValueError, match="boom") as info:
            f()
    assert info.value.__context__ is None
    monkeypatch.undo()
    assert _types(tmp_path, "err_fail") == ["operation_start", "function_call", "operation_end"]


class _NoRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_result_that_cannot_be_summarized_reaches_the_caller(tmp_path: Path) -> None:
    value = _NoRepr()

    @audit_function("bad_result", log_dir=tmp_path)
    def f() -> _NoRepr:
        return value

    with pytest.warns(RuntimeWarning, match="bad_result"):
        assert f() is value
    types = _types(tmp_path, "bad_result")
    assert types[0:2] == ["operation_start", "function_call"]
    assert types[-1] == "operation_end"


def test_result_too_large_to_log_reaches_the_caller(tmp_path: Path) -> None:
    # 100 x 100 x 100 short strings: its summary is over the 16 MiB limit
    value = [[["abcdefghijklmnopqrstuvwxyz"] * 100] * 100] * 100

    @audit_function("big_result", log_dir=tmp_path)
    def f():
        return value

    with pytest.warns(RuntimeWarning, match="big_result"):
        assert f() is value
    assert _types(tmp_path, "big_result")[-1] == "operation_end"


def test_audit_trail_with_block_huge_exception_propagates(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as info:
        with AuditTrail("with_huge", tmp_path):
            raise ValueError("w" * HUGE)
    assert info.value.__context__ is None
    logs = get_audit_logs("with_huge", log_dir=tmp_path)
    assert logs[-1]["event_type"] == "operation_end"
    assert logs[-1]["status"] == "failed"
    assert len(logs[-1]["details"]["error"]) < 2000


# --- 3. bare @audit_function --------------------------------------------------


def test_bare_decorator_runs_the_body(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    calls = []

    @audit_function
    def add(a, b):
        calls.append((a, b))
        return a + b

    assert add(2, 3) == 5
    assert calls == [(2, 3)]
    assert add.__name__ == "add"
    logs = get_audit_logs("add")  # default log_dir "audit_logs", name = function name
    assert [e["event_type"] for e in logs] == [
        "operation_start",
        "function_call",
        "function_result",
        "operation_end",
    ]
    assert logs[1]["arguments"] == {"a": 2, "b": 3}
    assert logs[2]["result"] == 5


def test_bare_decorator_on_coroutine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    @audit_function
    async def co(x):
        return x * 2

    assert asyncio.run(co(4)) == 8
    assert _types(Path("audit_logs"), "co")[-2:] == ["function_result", "operation_end"]


def test_callable_with_other_arguments_is_refused(tmp_path: Path) -> None:
    def f() -> None:
        pass

    with pytest.raises(TypeError):
        audit_function(f, log_dir=tmp_path)


def test_parenthesized_forms_unchanged(tmp_path: Path) -> None:
    @audit_function(log_dir=tmp_path)
    def a():
        return 1

    @audit_function("named", tmp_path)
    def b():
        return 2

    assert a() == 1 and b() == 2
    assert _types(tmp_path, "a")[-1] == "operation_end"
    assert _types(tmp_path, "named")[-1] == "operation_end"


def test_a_report_of_logs_that_are_not_dicts_names_the_item(tmp_path):
    from evident.compat.secureml import ReportGenerator
    with pytest.raises(TypeError, match=r"logs\[1\] is a str"):
        ReportGenerator().generate_audit_report(
            logs=[{"event_type": "x", "timestamp": "2026-01-01T00:00:00Z"}, "oops"],
            output_file=str(tmp_path / "r.html"))
