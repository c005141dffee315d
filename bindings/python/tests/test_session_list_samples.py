"""Samples given as a Python list or tuple (``Session.add_trace``): the
library infers the type and converts or refuses each value
(``evident_session_add_trace_values``); the results are those the module
gave when it converted lists itself."""

from __future__ import annotations

import enum
import math

import pytest

import evident


class Level(enum.IntEnum):
    LOW = 0
    HIGH = 1


def _added(values, **kw):
    s = evident.Session()
    s.add_trace("t", values, **kw)
    t = s.get_trace("t")
    return t.dtype, t.to_list()


def test_the_type_is_inferred_from_the_values() -> None:
    assert _added([True, False]) == ("bool", [True, False])
    assert _added([1, -2, 3]) == ("i64", [1, -2, 3])
    assert _added((1, 2.5)) == ("f64", [1.0, 2.5])
    assert _added([True, 2]) == ("f64", [1.0, 2.0])  # mixed bools and ints
    assert _added([Level.HIGH, 2]) == ("i64", [1, 2])
    assert _added([]) == ("f64", [])
    dtype, got = _added([0.5, math.nan, -math.inf, 0.1])
    assert dtype == "f64" and got[0] == 0.5 and math.isnan(got[1]) and got[2:] == [-math.inf, 0.1]


def test_values_are_converted_to_a_named_type() -> None:
    assert _added([1, 0, 1, 1, 0, 0, 0, 0, 1], dtype="bit")[1] == [True, False, True, True] + \
        [False] * 4 + [True]
    assert _added([1, 0, "x", None], dtype="bool") == ("bool", [True, False, True, False])
    assert _added([0, 255], dtype="u8") == ("u8", [0, 255])
    assert _added([-(2**63), 2**63 - 1], dtype="i64")[1] == [-(2**63), 2**63 - 1]
    assert _added([0, 2**64 - 1], dtype="u64")[1] == [0, 2**64 - 1]
    assert _added([2**70, True], dtype="f64")[1] == [float(2**70), 1.0]
    assert _added([0.1], dtype="f32")[1] == [pytest.approx(0.1)]
    assert _added([1e300], dtype="f32")[1] == [math.inf]  # as array.array('f') stored it


def test_numpy_scalars_in_a_list() -> None:
    np = pytest.importorskip("numpy")
    assert _added([np.int16(3), np.float32(0.5)]) == ("f64", [3.0, 0.5])
    assert _added([np.int16(3), np.uint8(4)], dtype="i16") == ("i16", [3, 4])
    assert _added([np.bool_(True), 0], dtype="bit") == ("bit", [True, False])
    assert _added([np.float64(math.inf)])[1] == [math.inf]


@pytest.mark.parametrize(
    "values,dtype",
    [
        ([256], "u8"),
        ([-1], "u32"),
        ([1.5], "i16"),
        ([1.0], "i32"),  # a float is no integer, even a whole one
        ([2**64], "u64"),
        ([2**70], None),  # inferred i64: out of range
        (["1.5"], None),
        (["nan"], None),  # only the library reads a text as NaN (JSON has none)
        ([1.0, "inf"], "f64"),
        ([b"1"], "i64"),
        ([None], "f64"),
        ([[1.0]], None),
        ([object()], None),
        ([1.0], "complex128"),
    ],
)
def test_values_that_do_not_fit_are_refused(values, dtype) -> None:
    s = evident.Session()
    with pytest.raises(evident.InvalidArgumentError):
        s.add_trace("t", values, dtype=dtype)
    assert s.list_traces() == []
