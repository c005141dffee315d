"""Every spec vector (spec/vectors/*.expect, format in spec/vectors/README.md)
verified through the Python API with the expected result; and, where the
vector says what a writer does, an AuditLog opened on a copy of the log."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List

import pytest

import evident
from conftest import VECTORS


def parse_expect(text: str) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition(": ")
        assert sep, f"bad line {line!r}"
        assert key not in out, f"duplicate key {key}"
        out[key] = value
    return out


def expect_files() -> List[Path]:
    return sorted(VECTORS.glob("*.expect"))


def test_vectors_are_there() -> None:
    assert len(expect_files()) > 50, f"spec vectors not found in {VECTORS}"


@pytest.mark.parametrize("expect_path", expect_files(), ids=lambda p: p.stem)
def test_vector(expect_path: Path, tmp_path: Path) -> None:
    m = parse_expect(expect_path.read_text(encoding="utf-8"))
    log = VECTORS / m["log"]
    key = bytes.fromhex(m["key"]) if "key" in m else None
    kw = dict(
        key=key, expected_head=m.get("expected-head"), expected_log_id=m.get("expected-log-id")
    )
    errors: List[str] = []
    for threads, all_ in ((1, False), (0, False), (1, True), (3, True)):
        r = evident.verify(log, threads=threads, all=all_, **kw)
        got = {"expect": "valid" if r.valid else "invalid"}
        if m["expect"] == "invalid":
            assert r.violations, "invalid without a violation"
            got.update(
                kind=r.kind,
                seq="none" if r.seq is None else str(r.seq),
                line=str(r.line),
                offset=str(r.offset),
            )
            v = r.violations[0]
            assert (v.kind, v.seq, v.line, v.offset, v.message) == (
                r.kind,
                r.seq,
                r.line,
                r.offset,
                r.error,
            )
        if "violations" in m:
            got["violations"] = str(r.violations_total)
            if all_:
                got["violations listed"] = str(len(r.violations))
        if "entries" in m:
            got["entries"] = str(r.entries)
        if r.not_a_log != (m.get("not-a-log", "no") == "yes"):
            errors.append(f"threads {threads} all {all_}: not_a_log is {r.not_a_log}")
        if "head" in m:
            got["head"] = "none" if r.head is None else f"{r.head.seq}:{r.head.hash}"
        for k, value in got.items():
            want = m["violations"] if k == "violations listed" else m[k]
            if value != want:
                errors.append(f"threads {threads} all {all_}: {k}: expected {want}, got {value}")
    if "open" in m:
        errors += check_open(m, log, key, tmp_path)
    assert not errors, "\n".join(errors)


def check_open(m: Dict[str, str], log: Path, key, tmp_path: Path) -> List[str]:
    """Opens a copy as a writer: `ok` (nothing moved, file unchanged),
    `moves-tail` (the bytes from `offset` on are in one sidecar), `refuses`
    (an EvidentError, file unchanged); the head must be `head`."""
    path = tmp_path / log.name
    shutil.copyfile(log, path)
    original = path.read_bytes()
    want = m["open"]
    try:
        w = evident.AuditLog(path, key=key, create=False)
    except evident.EvidentError as e:
        if want != "refuses":
            return [f"open failed ({type(e).__name__}: {e}), expected {want}"]
        return [] if path.read_bytes() == original else ["a refused open changed the file"]
    errors = []
    with w:
        if want == "refuses":
            errors.append("open succeeded, expected a refusal")
        if "head" in m:
            h = w.head()
            if f"{h.seq}:{h.hash}" != m["head"]:
                errors.append(f"open resumed at {h.seq}:{h.hash}, expected {m['head']}")
        torn = w.recovery.torn
    now = path.read_bytes()
    if want == "ok" and (torn or now != original):
        errors.append(f"open moved {torn}, expected nothing")
    if want == "moves-tail":
        off = int(m["offset"])
        ok = (
            len(torn) == 1
            and torn[0].offset == off
            and torn[0].length == len(original) - off
            and Path(torn[0].sidecar).read_bytes() == original[off:]
            and now == original[:off]
        )
        if not ok:
            errors.append(
                f"open moved {torn}, expected the {len(original) - off} bytes from offset {off}"
            )
    return errors
