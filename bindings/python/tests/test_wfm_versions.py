"""Tektronix ``.wfm`` versions :WFM#001 and :WFM#002 (besides #003).
:WFM#002 files are written by Tektronix's own library (``tm_data_types``,
with an instrument series of version 2); it cannot write :WFM#001 (its
writer fails), so that file is made from the #002 one by the published
layout: without the 2-byte summary frame type at byte 154 and with a
header 2 bytes shorter."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

import evident.compat.tracekit as tk

tm = pytest.importorskip("tm_data_types")
from tm_data_types.helpers.enums import ByteOrderFormat, VersionNumber  # noqa: E402
from tm_data_types.helpers.instrument_series import InstrumentSeriesDataStyle  # noqa: E402


class _Series:
    """An instrument series (``tm_data_types``' ``product``) of version 2."""

    def __init__(self, byte_order: ByteOrderFormat) -> None:
        self.value = InstrumentSeriesDataStyle(
            byte_order=byte_order, version=VersionNumber.TWO, slot_ids=5, gen_purpose_default=0
        )


def _v1_from_v2(b: bytes) -> bytes:
    endian = "<" if b[0] == 0x0F else ">"
    (offset,) = struct.unpack(endian + "i", b[16:20])
    out = bytearray(b[:154] + b[156:])
    out[2:10] = b":WFM#001"
    out[16:20] = struct.pack(endian + "i", offset - 2)
    return bytes(out)


def test_wfm_002_and_001(tmp_path: Path) -> None:
    # tm_data_types' default byte order (its INTEL setting writes a
    # big-endian header before a little-endian curve, which is not the
    # published layout, so it is not used here)
    order = ByteOrderFormat.PPC
    rate = 1e6
    volts = 2.0 * np.sin(2 * np.pi * 1e3 * np.arange(5000) / rate)
    scale = 2.0 / 30000
    wf = tm.AnalogWaveform()
    wf.y_axis_values = np.round(volts / scale).astype(np.int16)
    wf.y_axis_spacing = scale
    wf.y_axis_offset = 0.25
    wf.x_axis_spacing = 1.0 / rate
    v2 = tmp_path / "v2.wfm"
    tm.write_file(str(v2), wf, product=_Series(order))
    data = v2.read_bytes()
    assert data[2:10] == b":WFM#002"
    expected = tm.read_file(str(v2)).normalized_vertical_values
    (tmp_path / "v1.wfm").write_bytes(_v1_from_v2(data))

    session = tk.Session(name="old scopes")
    for name in ("v2", "v1"):
        trace = session.load_trace(str(tmp_path / f"{name}.wfm"), name=name)
        assert trace.sample_rate == pytest.approx(rate)
        np.testing.assert_allclose(trace.data, expected, rtol=1e-9, atol=1e-9)
        assert tk.frequency(trace) == pytest.approx(1e3, rel=1e-6)
