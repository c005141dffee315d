"""Fixtures for the seed examples: each runs in its own directory (the
documents use relative file names), with the global audit trail reset."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

import evident.compat.tracekit as tk


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    tk._global_audit_trail = None
    yield tmp_path
    tk._global_audit_trail = None
    os.chdir(tmp_path.parent)
