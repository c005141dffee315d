"""The optional orjson encoder (``pip install evident-audit[fast]``): with it,
``AuditLog.log`` and ``log_many`` write byte for byte the entries they write
with the standard encoder, and raise the same errors for what JSON cannot
hold. Every case runs both ways in one process (orjson switched off by
setting ``evident.log._fast_dumps`` to None)."""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import evident
from evident import log as evident_log

TS = "2026-12-04T23:30:00.000001Z"


class Color(enum.Enum):
    RED = "red"
    NESTED = ("t", 1)


class Level(enum.IntEnum):
    HIGH = 3


class Name(str, enum.Enum):
    ALICE = "alice"


@dataclasses.dataclass
class Point:
    x: int


DETAILS: List[Any] = [
    {"b": 1, "a": [1, 2.5, None], "c": {"z": True, "y": False}},
    {"floats": [0.1, 1e-05, 1e-7, 1e16, 1.5e300, -0.0, 0.0, 3.0, 5e-324, 1.7976931348623157e308]},
    {"ints": [0, -1, 2**63 - 1, -(2**63), 2**64 - 1]},
    {"big": 2**64, "bigger": -(2**70)},  # beyond 64 bits: left to the standard encoder
    {"s": "\u00e9\u2028/\"\\\x00\x01\x1f\x7f\b\t\n\f\r \U0001f600", "\u00e9": 1, "Z": 2, "a": 3},
    {"null": None, "text with null": "null"},
    {"tuple": (1, "t"), "list": [], "dict": {}},
    {1: "int key", "s": "str key"},
    {True: "bool key"},
    {"enum": Color.RED, "nested": Color.NESTED, "int_enum": Level.HIGH, "str_enum": Name.ALICE},
    {"uuid": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    [1, "two", {"three": 3}],
    12.5,
    {"deep": json.loads("[" * 100 + "]" * 100)},
    {"subclass": type("S", (str,), {})("sub"), "d": type("D", (dict,), {})(k=1)},
]

BAD: List[Any] = [
    {"nan": float("nan")},
    {"inf": [float("inf")]},
    {"minus_inf": -float("inf")},
    {"when": datetime(2026, 12, 4, tzinfo=timezone.utc)},
    {"point": Point(1)},
    {"object": object()},
    {"bytes": b"raw"},
    {"deep": json.loads("[" * 300 + "]" * 300)},  # beyond the library's nesting limit
]


@pytest.fixture
def standard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(evident_log, "_fast_dumps", None)
    yield


def _lines(path: Path) -> List[str]:
    """The entries' lines with the chain fields blanked (they differ per log)."""
    out = []
    for line in path.read_text(encoding="utf-8").split("\n")[1:-1]:
        out.append(re.sub(r'"(prev|hash)":"[0-9a-f]+"', r'"\1":""', line))
    return out


def _write(path: Path, fast: bool, monkeypatch: pytest.MonkeyPatch) -> List[str]:
    saved = evident_log._fast_dumps
    if not fast:
        monkeypatch.setattr(evident_log, "_fast_dumps", None)
    try:
        with evident.AuditLog(path, actor="a", host="h") as log:
            for d in DETAILS:
                log.log("E", "one", details=d, ts=TS)
            log.log_many([{"event_type": "B", "details": d, "ts": TS} for d in DETAILS])
            log.log_many([{"event_type": "C", "action": "x", "details": d} for d in DETAILS[:3]])
    finally:
        monkeypatch.setattr(evident_log, "_fast_dumps", saved)
    return _lines(path)


def test_orjson_is_used_when_installed() -> None:
    try:
        import orjson  # noqa: F401
    except ImportError:
        pytest.skip("orjson is not installed (evident-audit[fast])")
    assert evident_log._fast_dumps is not None, "orjson is installed but not used"


def test_both_encoders_write_the_same_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_fast = _write(tmp_path / "fast.jsonl", True, monkeypatch)
    standard = _write(tmp_path / "std.jsonl", False, monkeypatch)
    assert len(with_fast) == 2 * len(DETAILS) + 3
    # Every line the same, but the ts of the last batch (written now).
    n = 2 * len(DETAILS)
    assert with_fast[:n] == standard[:n]
    strip = [re.sub(r'"ts":"[^"]+"', "", line) for line in with_fast[n:]]
    assert strip == [re.sub(r'"ts":"[^"]+"', "", line) for line in standard[n:]]
    # What was written, spot checks (the canonical forms of spec § 5).
    assert '"details":{"a":[1,2.5,null],"b":1,"c":{"y":false,"z":true}}' in with_fast[0]
    assert '[0.1,0.00001,1e-7,1e+16,1.5e+300,-0.0,0.0,3.0,5e-324,1.7976931348623157e+308]' \
        in with_fast[1]
    assert '"details":{"enum":"red","int_enum":3,"nested":["t",1],"str_enum":"alice"}' \
        in with_fast[9]
    assert '"uuid":"12345678-1234-5678-1234-567812345678"' in with_fast[10]
    assert '"details":{"1":"int key","s":"str key"}' in with_fast[7]
    assert '"s":"\u00e9\u2028/\\"\\\\\\u0000\\u0001\\u001f\x7f\\b\\t\\n\\f\\r \U0001f600"' \
        in with_fast[4]
    rep = evident.verify(tmp_path / "fast.jsonl")
    assert rep.valid and rep.entries == len(with_fast)


@pytest.mark.parametrize("details", BAD, ids=lambda d: next(iter(d)))
def test_both_encoders_refuse_the_same_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, details: Dict[str, Any]
) -> None:
    errors = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(evident_log, "_fast_dumps", None)
        with evident.AuditLog(tmp_path / f"{fast}.jsonl") as log:
            with pytest.raises(evident.InvalidArgumentError) as e1:
                log.log("E", details=details)
            with pytest.raises(evident.InvalidArgumentError) as e2:
                log.log_many([{"event_type": "E"}, {"event_type": "E", "details": details}])
            assert log.head().seq == 0, "nothing written"
        errors.append((str(e1.value), str(e2.value)))
    assert errors[0] == errors[1]
    assert "cannot be written as JSON" in errors[0][0] or "not valid JSON" in errors[0][0]


def test_lone_surrogates_are_named_by_the_library_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(evident_log, "_fast_dumps", None)
        with evident.AuditLog(tmp_path / f"{fast}.jsonl") as log:
            with pytest.raises(evident.EvidentError) as e:
                log.log("E", details={"name": "bad\udcff.csv"})
            assert log.head().seq == 0
        errors.append((type(e.value), str(e.value)))
    assert errors[0] == errors[1]


def test_the_fast_encoder_is_what_log_and_log_many_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if evident_log._fast_dumps is None:
        pytest.skip("orjson is not installed (evident-audit[fast])")
    calls: List[Any] = []
    real = evident_log._fast_dumps

    def counting(o: Any) -> bytes:
        calls.append(o)
        return real(o)  # type: ignore[no-any-return]

    monkeypatch.setattr(evident_log, "_fast_dumps", counting)
    with evident.AuditLog(tmp_path / "c.jsonl") as log:
        log.log("E", details={"k": 1})
        assert calls == [{"k": 1}]
        log.log_many([{"event_type": "E", "details": {"k": 2}}] * 3)
        assert len(calls) == 2 and len(calls[1]) == 3, "the batch is encoded in one call"


def test_log_many_without_the_no_null_call_writes_and_refuses_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With orjson, ``log_many`` lets the library refuse a batch holding a
    null (``evident_log_append_json_array_no_null``, ABI 1.12) instead of
    searching orjson's output itself; a library without that call (older
    than 1.12) gives the same entries and the same errors."""
    if evident_log._fast_dumps is None or evident_log._append_array_no_null is None:
        pytest.skip("needs orjson and a library of ABI 1.12")
    results = []
    for with_call in (True, False):
        if not with_call:
            monkeypatch.setattr(evident_log, "_append_array_no_null", None)
        path = tmp_path / f"{with_call}.jsonl"
        errors = []
        with evident.AuditLog(path, actor="a", host="h") as log:
            log.log_many([{"event_type": "B", "details": d, "ts": TS} for d in DETAILS])
            # None as a field's value, NaN (orjson's null) among valid events.
            log.log_many([{"event_type": "N", "actor": None, "details": {"x": None}, "ts": TS}])
            for bad in BAD:
                with pytest.raises(evident.InvalidArgumentError) as e:
                    log.log_many([{"event_type": "E", "ts": TS}, {"event_type": "E", "details": bad}])
                errors.append(str(e.value))
            assert log.head().seq == len(DETAILS) + 1, "no refused batch wrote anything"
        results.append((_lines(path), errors))
    assert results[0] == results[1]
    assert '"actor":"a"' in results[0][0][-1] and '"details":{"x":null}' in results[0][0][-1]
