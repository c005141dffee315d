"""Tektronix ``.wfm`` files in every byte order Tektronix's own library
(``tm_data_types``, on PyPI) writes: its "PPC" setting writes the
little-endian layout (0x0F0F), its "INTEL" setting a big-endian header
(0xF0F0) before a little-endian curve. evident reads both, versions 2 and
3, int16 and float32 curves, and says which byte order it read the curve
in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import evident.compat.tracekit as tk

tm = pytest.importorskip("tm_data_types")
from tm_data_types.helpers.enums import ByteOrderFormat, VersionNumber  # noqa: E402
from tm_data_types.helpers.instrument_series import InstrumentSeriesDataStyle  # noqa: E402


class _Series:
    """An instrument series (``tm_data_types``' ``product``)."""

    def __init__(self, byte_order: ByteOrderFormat, version: VersionNumber) -> None:
        self.value = InstrumentSeriesDataStyle(
            byte_order=byte_order, version=version, slot_ids=5, gen_purpose_default=0
        )


@pytest.mark.parametrize("order", [ByteOrderFormat.INTEL, ByteOrderFormat.PPC])
@pytest.mark.parametrize("version", [VersionNumber.TWO, VersionNumber.THREE])
@pytest.mark.parametrize("raw", ["int16", "float32"])
def test_wfm_every_byte_order_tm_data_types_writes(
    tmp_path: Path, order: ByteOrderFormat, version: VersionNumber, raw: str
) -> None:
    rate = 1e6
    volts = 2.0 * np.sin(2 * np.pi * 1e3 * np.arange(5000) / rate) + 0.01
    wf = tm.AnalogWaveform()
    if raw == "int16":
        scale = 2.0 / 30000
        wf.y_axis_values = np.round(volts / scale).astype(np.int16)
        wf.y_axis_spacing = scale
    else:
        wf.y_axis_values = volts.astype(np.float32)
        wf.y_axis_spacing = 1.0
    wf.y_axis_offset = 0.25
    wf.x_axis_spacing = 1.0 / rate
    path = tmp_path / "tek.wfm"
    tm.write_file(str(path), wf, product=_Series(order, version))
    head = path.read_bytes()[:10]
    assert head[2:10] == version.value
    big_header = head[:2] == b"\xf0\xf0"
    assert big_header == (order == ByteOrderFormat.INTEL)
    expected = tm.read_file(str(path)).normalized_vertical_values

    trace = tk.Session(name="Tek").load_trace(str(path), name="CH1")
    assert trace.metadata["raw_dtype"] == raw
    assert trace.metadata["byte_order"] == ("big" if big_header else "little")
    assert trace.metadata["curve_byte_order"] == "little"
    assert trace.sample_rate == pytest.approx(rate)
    np.testing.assert_allclose(trace.data, expected, rtol=1e-6, atol=1e-6)
    assert tk.frequency(trace) == pytest.approx(1e3, rel=1e-6)
