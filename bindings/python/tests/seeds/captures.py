"""Capture files the seed documents take for granted, written from the
formats' published layouts: Tektronix ``.wfm`` (:WFM#003, the Performance
Oscilloscope Reference Waveform File Format), sigrok ``.sr`` (a ZIP with
``version``, ``metadata`` and ``logic-1-N`` chunks), CSV."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

WFM_HEADER = 838


def write_wfm(path: Path, volts: np.ndarray, sample_rate: float, tstart: float = 0.0) -> Path:
    """A little-endian :WFM#003 file with an int16 curve (16 precharge and
    16 postcharge points, as scopes write them)."""
    volts = np.asarray(volts, dtype=np.float64)
    peak = float(np.max(np.abs(volts))) or 1.0
    vscale = peak / 32000.0
    raw = np.round(volts / vscale).astype("<i2")
    h = bytearray(WFM_HEADER)
    struct.pack_into("<H", h, 0, 0x0F0F)
    h[2:10] = b":WFM#003"
    h[15] = 2  # bytes per sample
    struct.pack_into("<i", h, 16, WFM_HEADER)  # curve buffer offset
    struct.pack_into("<I", h, 72, 0)  # frames - 1
    struct.pack_into("<III", h, 114, 1, 1, 2)  # implicit/explicit dims, WFMDATA_VECTOR
    struct.pack_into("<dd", h, 168, vscale, 0.0)  # explicit dim 1 scale, offset
    struct.pack_into("<i", h, 240, 0)  # format: int16
    struct.pack_into("<I", h, 244, 0)  # EXPLICIT_SAMPLE
    struct.pack_into("<dd", h, 488, 1.0 / sample_rate, tstart)  # implicit dim 1
    struct.pack_into("<I", h, 768, 0)  # BASE_TIME
    pre = 16 * 2
    post = pre + raw.nbytes
    struct.pack_into("<III", h, 822, pre, post, post + 16 * 2)
    with open(path, "wb") as f:
        f.write(bytes(h))
        f.write(b"\0" * pre)
        f.write(raw.tobytes())
        f.write(b"\0" * 32)
    return Path(path)


def write_sr(
    path: Path, words: np.ndarray, probes: Sequence[str], samplerate: str = "1 MHz"
) -> Path:
    """A sigrok session (format 2) with 8-bit logic words."""
    words = np.asarray(words, dtype=np.uint8)
    meta = (
        "[global]\nsigrok version=0.5.2\n\n[device 1]\ncapturefile=logic-1\n"
        f"total probes={len(probes)}\nsamplerate={samplerate}\ntotal analog=0\n"
        + "".join(f"probe{i + 1}={n}\n" for i, n in enumerate(probes))
        + "unitsize=1\n"
    )
    half = len(words) // 2
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("version", "2")
        z.writestr("metadata", meta)
        z.writestr("logic-1-1", words[:half].tobytes())
        z.writestr("logic-1-2", words[half:].tobytes())
    return Path(path)


def sine(freq: float, rate: float, n: int, amp: float = 1.0, offset: float = 0.0) -> np.ndarray:
    t = np.arange(n) / rate
    return offset + amp * np.sin(2 * np.pi * freq * t)


def pwm(freq: float, rate: float, n: int, duty: float, high: float = 3.3) -> np.ndarray:
    """A PWM signal with finite edges (linear, 20 samples 0-100 %)."""
    t = np.arange(n) / rate
    phase = (t * freq) % 1.0
    ramp = 20 / (rate / freq)  # edge length as a fraction of the period
    up = np.clip(phase / ramp, 0, 1)
    down = np.clip((duty - phase) / ramp + 1, 0, 1)
    return high * np.minimum(up, down)


def ramp_step(rate: float, low: float, high: float, rise_samples: int, n: int) -> np.ndarray:
    """Low, then a linear rise over ``rise_samples``, then high."""
    x = np.full(n, low)
    start = n // 4
    x[start : start + rise_samples + 1] = np.linspace(low, high, rise_samples + 1)
    x[start + rise_samples + 1 :] = high
    return x
