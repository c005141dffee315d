"""Shared fixtures. The tests run against the *installed* package
(`pip install ./bindings/python`), or against the library named by
EVIDENT_LIBRARY with `src/` on PYTHONPATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

import evident

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent  # bindings/python/tests -> repository root
VECTORS = REPO / "spec" / "vectors"

KEY_A = bytes(range(0x00, 0x20))  # the spec vectors' key_a
KEY_B = bytes(range(0x20, 0x40))  # the spec vectors' "wrong key"


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture(params=["jsonl", "binary"])
def framing(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def any_log_path(tmp_path: Path, framing: str) -> Path:
    """A log path in each framing (the extension selects it)."""
    return tmp_path / ("audit.jsonl" if framing == "jsonl" else "audit.evl")


def cli_path() -> Path:
    """The evident CLI: $EVIDENT_CLI, else target/release or target/debug."""
    env = os.environ.get("EVIDENT_CLI")
    if env:
        p = Path(env)
        if not p.is_file():
            pytest.fail(f"EVIDENT_CLI={env} does not exist (cargo build --release --bins)")
        return p
    for profile in ("release", "debug"):
        p = REPO / "target" / profile / "evident"
        if p.is_file():
            return p
    pytest.fail(
        "the evident CLI was not found: set EVIDENT_CLI or run `cargo build --release --bins`"
    )


def run_python(code: str, *args: str, env: Dict[str, str] | None = None, **kw) -> subprocess.Popen:
    """Starts `python -c code args...` with this interpreter."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.Popen([sys.executable, "-c", code, *args], env=e, **kw)


def seqs(path: Path) -> List[int]:
    return [e.seq for e in evident.read_entries(path)]


def go_available() -> bool:
    return shutil.which("go") is not None
