"""Seed 000's captures are Tektronix ``.wfm`` files: evident reads files
written by Tektronix's own library (``tm_data_types``, on PyPI), not only
the ones the tests write from the published layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import evident.compat.tracekit as tk

tm = pytest.importorskip("tm_data_types")


@pytest.mark.parametrize("raw", ["int16", "float32"])
def test_wfm_written_by_tektronix_library(workdir: Path, raw: str) -> None:
    rate = 1e6
    volts = 2.0 * np.sin(2 * np.pi * 1e3 * np.arange(20_000) / rate)
    wf = tm.AnalogWaveform()
    if raw == "int16":
        scale = 2.0 / 30000
        wf.y_axis_values = np.round(volts / scale).astype(np.int16)
        wf.y_axis_spacing = scale
    else:
        wf.y_axis_values = volts.astype(np.float32)
        wf.y_axis_spacing = 1.0
    wf.y_axis_offset = 0.5
    wf.x_axis_spacing = 1.0 / rate
    tm.write_file(str(workdir / "tek.wfm"), wf)
    expected = tm.read_file(str(workdir / "tek.wfm")).normalized_vertical_values

    session = tk.Session(name="Tek")
    trace = session.load_trace("tek.wfm", name="CH1")
    assert trace.metadata["raw_dtype"] == raw
    assert trace.sample_rate == pytest.approx(rate)
    np.testing.assert_allclose(trace.data, expected, rtol=1e-6, atol=1e-6)
    assert tk.frequency(trace) == pytest.approx(1e3, rel=1e-6)
    assert tk.amplitude(trace) == pytest.approx(4.0, rel=5e-3)
