"""The C calls added so that session.py only converts (issue 10): each pinned
through the Python binding, as a user of the module sees it."""

from __future__ import annotations

import array
import ctypes
import json
import sys
from typing import Any

import pytest

import evident
from evident import _native as N


def _json_out(fn: Any, *args: Any) -> Any:
    out = ctypes.c_void_p()
    N.check(fn(*args, ctypes.byref(out)))
    return json.loads(N.take_string(out))


def test_dtypes_json_is_the_dtypes_table() -> None:
    table = _json_out(N.lib.evident_dtypes_json)
    assert [d["name"] for d in table] == list(evident.DTYPES)
    assert [d["code"] for d in table] == list(range(1, 13))
    for d in table:
        assert tuple(evident.DTYPES[d["name"]]) == (d["code"], d["format"], d["numpy"], d["size"])
        if d["size"]:  # the format describes one sample of that size in native order
            assert memoryview(bytes(d["size"])).cast(d["format"]).itemsize == d["size"]
    assert evident.DTYPES["bit"].size == 0 and evident.DTYPES["bool"].size == 1


def test_dtype_json_resolves_names_aliases_and_formats() -> None:
    def name(spec: str, itemsize: int = 0) -> str:
        return str(_json_out(N.lib.evident_dtype_json, spec.encode(), itemsize)["name"])

    assert [name(a) for a in ("double", "Float64", "int8", "uint64", "bool_", "bits")] == \
        ["f64", "f64", "i8", "u64", "bool", "bit"]
    for code in "bhilqBHILQdf":  # what array.array and memoryview report on this machine
        item = array.array(code).itemsize
        kind = "f" if code in "df" else "u" if code.isupper() else "i"
        assert name(code, item) == name("@" + code, item) == f"{kind}{item * 8}"
    assert name("<l", 8) == "i64" and name("l", 4) == "i32" and name("?", 1) == "bool"
    for spec, item in ((">h", 2), ("e", 2), ("D", 16), ("c", 1), ("complex128", 0)):
        with pytest.raises(evident.InvalidArgumentError, match="sample type|unsupported dtype"):
            name(spec, item)


def test_dtype_len_samples_derives_or_checks_the_count() -> None:
    def count(dtype: str, nbytes: int, length: int = N.UINT64_MAX) -> int:
        n = ctypes.c_uint64(7)
        N.check(N.lib.evident_dtype_len_samples(evident.DTYPES[dtype].code, nbytes, length,
                                                ctypes.byref(n)))
        return n.value

    assert (count("u16", 6), count("bit", 2), count("bit", 2, 9), count("f64", 0, 0)) == \
        (3, 16, 9, 0)
    with pytest.raises(evident.InvalidArgumentError, match="not a whole number of u16"):
        count("u16", 3)
    with pytest.raises(evident.InvalidArgumentError, match="9 bit samples take 2 bytes"):
        count("bit", 1, 9)


def test_add_trace_uses_the_librarys_format_rules() -> None:
    s = evident.Session()
    s.add_trace("l", array.array("l", [-1, 2]))  # C long: i64 or i32 by its size
    assert s.get_trace("l").dtype == ("i64" if array.array("l").itemsize == 8 else "i32")
    with pytest.raises(evident.InvalidArgumentError, match="not a sample type"):
        s.add_trace("u", array.array("u", "ab"))
    if sys.byteorder == "little":
        s.add_trace("mv", memoryview(array.array("H", [1, 2])))
        assert s.get_trace("mv").dtype == "u16" and s.get_trace("mv").to_list() == [1, 2]
    with pytest.raises(evident.InvalidArgumentError, match="not a whole number"):
        s.add_trace("raw", b"\x00\x01\x02", dtype="u16")
    assert s.list_traces() == ["l"] + (["mv"] if sys.byteorder == "little" else [])


def test_history_find_is_the_librarys_filter() -> None:
    s = evident.Session()
    for op, ok in (("a", True), ("b", True), ("a", False), ("a", True)):
        s.history.record(op, {"n": 1}, success=ok)
    found = _json_out(N.lib.evident_session_history_find_json, s._acquire(), b"a", True)
    s._release()
    assert [(e["operation"], e["success"]) for e in found] == [("a", True), ("a", True)]
    assert [e.success for e in s.history.find("a")] == [True, False, True]
    assert [e.operation for e in s.history.find(success_only=True)] == ["a", "b", "a"]
    assert s.history.find("zzz") == []
    assert s.history.find() == s.history.entries


def test_measure_from_name_is_the_librarys_table() -> None:
    def code(name: str) -> int:
        out = ctypes.c_uint32(99)
        N.check(N.lib.evident_measure_from_name(name.encode(), ctypes.byref(out)))
        return out.value

    assert {n: code(n) for n in N.MEASURES} == N.MEASURES  # the compat module's table agrees
    with pytest.raises(evident.InvalidArgumentError, match="use one of frequency"):
        code("Frequency")
    s = evident.Session()
    s.add_trace("sq", [0.0, 1.0] * 50, sample_rate=100.0)
    assert s.measure("sq", "frequency") == pytest.approx(50.0)
    with pytest.raises(evident.InvalidArgumentError, match="unknown measurement \"volts\""):
        s.measure("sq", "volts")
    with pytest.raises(evident.InvalidArgumentError, match="must be a str"):
        s.get_trace("sq").measure(3)  # type: ignore[arg-type]


def test_record_measurement_types_are_checked_by_the_library() -> None:
    s = evident.Session()
    for kw, field in (({"name": 5}, "name"), ({"name": "a", "unit": 3}, "unit"),
                      ({"name": "a", "trace_name": 4}, "trace_name")):
        with pytest.raises(evident.InvalidArgumentError, match=f"field `{field}`"):
            s.record_measurement(value=1.0, **kw)  # type: ignore[arg-type]
    s.record_measurement("v", 2.0, "V", trace_name="CH1")
    s.record_measurement("w", 3)
    got = [(m.name, m.value, m.unit, m.trace_name) for m in s.measurement_records()]
    assert got == [("v", 2.0, "V", "CH1"), ("w", 3, "", None)]
