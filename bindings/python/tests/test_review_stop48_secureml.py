"""Review stop 48, SecureML compatibility module (seed 003): defects found
by an outside reviewer, each reproduced here first.

1. ``get_audit_logs`` returned the entries of a tampered log (an edited
   value, a duplicated, deleted or forged line) without a word: every log
   it reads is now verified first.
2. ``audit_function`` failed the call, never running the function, when an
   argument could not be summarised (a raising ``__repr__`` or ``__str__``
   of a key, ``10**5000``, ``self`` in a decorated ``__init__``).
3. ``audit_function`` failed the call when the log could not be opened (a
   writer holding its lock).
4. ``AuditTrail.close()`` racing ``log_*`` calls of other threads: events
   after ``operation_end``, three exception types for one condition.
5. (a) empty ``.jsonl`` files in ``log_dir``: read as no entries, as
   documented now; (b) an operation name with NUL was written but could not
   be read by name; (c) ``additional_context``, ``custom_css`` and
   ``logo_path`` were ignored in silence.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import warnings
from pathlib import Path
from typing import Any, List

import pytest

import evident
from evident import AuditLog
from evident.compat.secureml import (
    AuditTrail,
    ReportGenerator,
    audit_function,
    get_audit_logs,
    summarize,
)
from evident.errors import ClosedError, CorruptLogError, InvalidArgumentError


def _trail(log_dir: Path, name: str = "op") -> Path:
    t = AuditTrail(name, log_dir)
    for i in range(3):
        t.log_data_access(dataset_name=f"ds{i}", num_records=100 + i)
    t.close()
    return log_dir / f"{name}.jsonl"


def _types(log_dir: Path, name: str) -> List[str]:
    return [e["event_type"] for e in get_audit_logs(name, log_dir=log_dir)]


# --- 1. tampered logs -----------------------------------------------------------


def _edit_value(p: Path) -> None:
    b = p.read_bytes()
    assert b'"num_records":101' in b
    p.write_bytes(b.replace(b'"num_records":101', b'"num_records":901'))


def _duplicate_line(p: Path) -> None:
    lines = p.read_bytes().splitlines(True)
    lines.insert(3, lines[2])
    p.write_bytes(b"".join(lines))


def _delete_line(p: Path) -> None:
    lines = p.read_bytes().splitlines(True)
    del lines[2]
    p.write_bytes(b"".join(lines))


def _append_forged(p: Path) -> None:
    lines = p.read_bytes().splitlines(True)
    e = json.loads(lines[2])
    e.update(seq=len(lines), prev="00" * 32, hash="11" * 32)
    e["details"]["num_records"] = 7
    with p.open("ab") as f:
        f.write(json.dumps(e, separators=(",", ":")).encode() + b"\n")


DAMAGE = {
    "edited_value": (_edit_value, "hash_mismatch"),
    "duplicated_line": (_duplicate_line, "seq_gap"),
    "deleted_line": (_delete_line, "seq_gap"),
    "appended_forged_entry": (_append_forged, "chain_break"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_tampered_log_raises_by_name(tmp_path: Path, damage: str) -> None:
    p = _trail(tmp_path)
    fn, kind = DAMAGE[damage]
    fn(p)
    assert not evident.verify(p)
    with pytest.raises(CorruptLogError, match="op.jsonl") as info:
        get_audit_logs("op", log_dir=tmp_path)
    assert kind in str(info.value)


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_tampered_log_raises_reading_the_directory(tmp_path: Path, damage: str) -> None:
    _trail(tmp_path, "good")
    p = _trail(tmp_path)
    DAMAGE[damage][0](p)
    with pytest.raises(CorruptLogError, match="op.jsonl"):
        get_audit_logs(log_dir=tmp_path)
    assert len(get_audit_logs("good", log_dir=tmp_path)) == 5  # the other log still reads


def test_intact_logs_read_as_before(tmp_path: Path) -> None:
    _trail(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logs = get_audit_logs("op", log_dir=tmp_path)
    assert [e.get("num_records") for e in logs] == [None, 100, 101, 102, None]


def test_keyed_log_without_its_key_has_links_and_seqs_checked(tmp_path: Path) -> None:
    """The package's rule for a keyed log read without its key (as
    ``evident.reproduce``): its links and seqs are checked, not its hashes."""
    p = tmp_path / "keyed.jsonl"
    with AuditLog(p, key=b"0123456789abcdef0123") as log:
        for i in range(3):
            log.log("data_access", "keyed", source="secureml", details={"i": i})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(get_audit_logs("keyed", log_dir=tmp_path)) == 3
    _delete_line(p)
    with pytest.raises(CorruptLogError, match="keyed.jsonl.*seq_gap"):
        get_audit_logs("keyed", log_dir=tmp_path)


def test_entries_appended_while_reading_are_only_those_verified(tmp_path: Path) -> None:
    """Entries are read up to the head verify checked: a writer appending
    meanwhile adds nothing unverified."""
    t = AuditTrail("op", tmp_path)
    real = evident.verify

    def verify_then_append(*a: Any, **k: Any) -> Any:
        r = real(*a, **k)
        t.log_event("late", {})
        return r

    import evident.compat as compat

    old = compat._verify
    compat._verify = verify_then_append
    try:
        logs = get_audit_logs("op", log_dir=tmp_path)
    finally:
        compat._verify = old
    t.close()
    assert [e["event_type"] for e in logs] == ["operation_start"]
    assert _types(tmp_path, "op") == ["operation_start", "late", "operation_end"]


# --- 2. arguments that cannot be summarised ---------------------------------------


class _BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr explodes")


class _BadKey:
    def __hash__(self) -> int:
        return 1

    def __str__(self) -> str:
        raise ValueError("str boom")

    def __repr__(self) -> str:
        raise ValueError("repr boom")


def test_summarize_never_raises() -> None:
    assert summarize(_BadRepr()) == "<unrepresentable _BadRepr: RuntimeError>"
    assert summarize([1, _BadRepr()]) == [1, "<unrepresentable _BadRepr: RuntimeError>"]
    assert summarize({_BadKey(): 1, "a": 2}) == {"<unrepresentable _BadKey: ValueError>": 1, "a": 2}
    assert summarize(10**5000) == "<int of 5001 digits>"
    assert summarize(-(10**400)) == "<negative int of 401 digits>"
    assert summarize(10**300) == 10**300  # still a number
    assert summarize({"x": _BadRepr()}, cut=False) == {
        "x": "<unrepresentable _BadRepr: RuntimeError>"
    }
    for k in range(308, 1200):  # the digit count is exact
        for n in (10**k - 1, 10**k, 2**(k * 3) + 1):
            if n.bit_length() > 1024:
                assert summarize(n) == f"<int of {len(str(n))} digits>"
            else:
                assert summarize(n) == n


@pytest.mark.parametrize(
    "arg,shown",
    [
        (_BadRepr(), "<unrepresentable _BadRepr: RuntimeError>"),
        ({_BadKey(): 1}, {"<unrepresentable _BadKey: ValueError>": 1}),
        (10**5000, "<int of 5001 digits>"),
    ],
    ids=["raising_repr", "raising_key_str", "int_10_5000"],
)
def test_unsummarisable_argument_runs_the_function(tmp_path: Path, arg: Any, shown: Any) -> None:
    calls = []

    @audit_function(operation_name="op", log_dir=tmp_path)
    def f(x: Any) -> str:
        calls.append(x)
        return "ok"

    with pytest.warns(RuntimeWarning, match="'op'"):
        assert f(arg) == "ok"
    assert calls == [arg]
    logs = get_audit_logs("op", log_dir=tmp_path)
    assert [e["event_type"] for e in logs] == [
        "operation_start",
        "function_call",
        "function_result",
        "operation_end",
    ]
    assert logs[1]["arguments"]["x"] == shown


def test_decorated_init_of_class_whose_repr_needs_init(tmp_path: Path) -> None:
    class Model:
        @audit_function(operation_name="model_init", log_dir=tmp_path)
        def __init__(self, n_estimators: int = 100) -> None:
            self.n_estimators = n_estimators

        def __repr__(self) -> str:
            return f"Model(n_estimators={self.n_estimators})"

    with pytest.warns(RuntimeWarning, match="model_init"):
        m = Model(5)
    assert repr(m) == "Model(n_estimators=5)"
    logs = get_audit_logs("model_init", log_dir=tmp_path)
    assert [e["event_type"] for e in logs] == [
        "operation_start",
        "function_call",
        "function_result",
        "operation_end",
    ]
    assert logs[1]["arguments"] == {
        "self": "<unrepresentable Model: AttributeError>",
        "n_estimators": 5,
    }


def test_huge_int_in_log_method_is_recorded_as_its_size(tmp_path: Path) -> None:
    t = AuditTrail("op", tmp_path)
    with pytest.warns(RuntimeWarning, match="digits"):
        t.log_data_access("x", num_records=10**5000)
    t.close()
    assert get_audit_logs("op", log_dir=tmp_path)[1]["num_records"] == "<int of 5001 digits>"


# --- 3. a log that cannot be opened ------------------------------------------------


def test_locked_log_the_function_still_runs(tmp_path: Path) -> None:
    _trail(tmp_path)
    before = _types(tmp_path, "op")
    ran = []

    @audit_function(operation_name="op", log_dir=tmp_path)
    def f() -> int:
        ran.append(1)
        return 42

    holder = AuditLog(tmp_path / "op.jsonl")  # exclusive: the trail cannot open it
    try:
        t0 = time.monotonic()
        with pytest.warns(RuntimeWarning, match="could not record"):
            assert f() == 42
        assert time.monotonic() - t0 < 15  # the library's lock wait, nothing added
    finally:
        holder.close()
    assert ran == [1]
    assert _types(tmp_path, "op") == before  # nothing written for that call


def _unopenable(tmp_path: Path) -> Path:
    d = tmp_path / "not_a_dir"
    d.write_text("a file where the log directory should be")
    return d


def test_unopenable_log_every_kind_of_function_runs(tmp_path: Path) -> None:
    d = _unopenable(tmp_path)

    @audit_function("plain", log_dir=d)
    def plain(x: int) -> int:
        return x + 1

    @audit_function("failing", log_dir=d)
    def failing() -> None:
        raise KeyError("mine")

    @audit_function("coro", log_dir=d)
    async def coro() -> int:
        return 7

    @audit_function("gen", log_dir=d)
    def gen():
        yield 1
        yield 2
        return 3

    @audit_function("agen", log_dir=d)
    async def agen():
        yield 1
        yield 2

    async def drain() -> List[int]:
        return [x async for x in agen()]

    with pytest.warns(RuntimeWarning) as rec:
        assert plain(1) == 2
        with pytest.raises(KeyError, match="mine") as info:
            failing()
        assert info.value.__context__ is None
        assert asyncio.run(coro()) == 7
        assert list(gen()) == [1, 2]
        assert asyncio.run(drain()) == [1, 2]
    text = " ".join(str(w.message) for w in rec)
    for name in ("plain", "failing", "coro", "gen", "agen"):
        assert f"audit_function({name!r}) could not record" in text


# --- 4. close() racing log_* --------------------------------------------------------


def test_close_racing_log_calls(tmp_path: Path) -> None:
    errors: List[BaseException] = []
    for _ in range(10):
        t = AuditTrail("race", tmp_path)
        ok = []

        def worker() -> None:
            for i in range(200):
                try:
                    ok.append(t.log_data_access(dataset_name=str(i))["seq"])
                except Exception as e:  # noqa: BLE001
                    errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for x in threads:
            x.start()
        t.close()
        for x in threads:
            x.join()
        events = get_audit_logs("race", log_dir=tmp_path, operation_id=t.operation_id)
        assert events[-1]["event_type"] == "operation_end"
        end = events[-1]["seq"]
        assert all(s < end for s in ok)  # every successful call landed before the end
        assert len(ok) == len(events) - 2
    assert {type(e) for e in errors} <= {ClosedError}


def test_log_after_close_raises_closed_error(tmp_path: Path) -> None:
    t = AuditTrail("op", tmp_path)
    t.close()
    with pytest.raises(ClosedError, match="'op'"):
        t.log_data_access("x")
    t.close()  # twice: nothing


def test_close_releases_the_log_when_the_end_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = AuditTrail("op", tmp_path)
    real = AuditTrail.log_event

    def log_event(self, event_type, *a, **k):
        if event_type == "operation_end":
            raise OSError("disk full")
        return real(self, event_type, *a, **k)

    monkeypatch.setattr(AuditTrail, "log_event", log_event)
    log = t._log
    with pytest.raises(OSError, match="disk full"):
        t.close()
    monkeypatch.undo()
    assert t.closed
    with pytest.raises(ClosedError):  # the trail let go of the file
        log.log("x", "y")


# --- 5. low -------------------------------------------------------------------------


def test_empty_jsonl_file_is_documented(tmp_path: Path) -> None:
    _trail(tmp_path)
    (tmp_path / "empty.jsonl").touch()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(get_audit_logs(log_dir=tmp_path)) == 5
    assert "empty" in " ".join(get_audit_logs.__doc__.split())


def test_nul_in_operation_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="NUL"):
        AuditTrail("a\x00b", tmp_path)
    with pytest.raises(InvalidArgumentError, match="NUL"):
        audit_function("a\x00b", log_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InvalidArgumentError, match="NUL"):
        get_audit_logs("a\x00b", log_dir=tmp_path)


def test_nul_in_event_type_is_refused(tmp_path: Path) -> None:
    t = AuditTrail("op", tmp_path)
    with pytest.raises(InvalidArgumentError, match="NUL"):
        t.log_event("a\x00b", {})
    t.close()
    with pytest.raises(InvalidArgumentError, match="NUL"):
        get_audit_logs("op", log_dir=tmp_path, event_type="a\x00b")


def test_report_options_it_cannot_honour_are_named(tmp_path: Path) -> None:
    _trail(tmp_path)
    logs = get_audit_logs("op", log_dir=tmp_path)
    with pytest.warns(UserWarning, match="custom_css"):
        ReportGenerator(custom_css="body{color:#123456}")
    with pytest.warns(UserWarning, match="logo_path"):
        ReportGenerator(logo_path="logo.png")
    with pytest.warns(UserWarning, match="templates_dir"):
        ReportGenerator(templates_dir="templates")
    with pytest.warns(UserWarning, match="additional_context"):
        ReportGenerator().generate_audit_report(
            logs, tmp_path / "r.html", additional_context={"auditor": "ZZ"}
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ReportGenerator().generate_audit_report(logs, tmp_path / "r2.html", title="T")
    assert Path(out).is_file()


def test_trail_whose_start_cannot_be_written_lets_go_of_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = AuditTrail.log_event

    def log_event(self, event_type, *a, **k):
        if event_type == "operation_start":
            raise OSError("disk full")
        return real(self, event_type, *a, **k)

    import evident.compat.secureml as sml

    opened: List[AuditLog] = []

    class Recorded(AuditLog):
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            opened.append(self)

    monkeypatch.setattr(AuditTrail, "log_event", log_event)
    monkeypatch.setattr(sml, "AuditLog", Recorded)
    with pytest.raises(OSError, match="disk full"):
        AuditTrail("op", tmp_path)
    ran = []

    @audit_function("op", log_dir=tmp_path)
    def f() -> int:
        ran.append(1)
        return 1

    with pytest.warns(RuntimeWarning, match="disk full"):
        assert f() == 1
    assert ran == [1]
    monkeypatch.undo()
    assert len(opened) == 2
    for log in opened:  # neither trail holds its file
        with pytest.raises(ClosedError):
            log.log("x", "y")
