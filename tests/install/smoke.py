"""Smoke test of an INSTALLED evident-audit wheel (scripts/test-install.sh
runs it with a clean venv's Python, no cargo on PATH, outside the checkout).

Usage: python smoke.py DIR. Prints "ok ..." and exits 0.
"""

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import evident

directory = Path(sys.argv[1])
assert shutil.which("cargo") is None, "cargo is on PATH: this test needs it absent"
lib = Path(evident.library_path)
assert lib.parent == Path(evident.__file__).parent, lib
assert lib.name == "_libevident.so", lib.name  # one library for every Python 3
assert "site-packages" in lib.parts, lib
assert not os.environ.get("EVIDENT_LIBRARY")

path = directory / "py.jsonl"
with evident.AuditLog(path, durability="group") as log:
    for i in range(3):
        head = log.log("ACTION_EXECUTED", "smoke", session_id="s1", details={"i": i})
result = evident.verify(path, expected_head=head)
assert result.valid and result.entries == 3, result
entries = evident.read_entries(path, evident.Query(newest_first=True, limit=2))
assert [e.seq for e in entries] == [3, 2]
assert entries[0].details == {"i": 2}
numpy = importlib.util.find_spec("numpy") is not None
print("ok", result.entries, evident.library_version(), "numpy" if numpy else "no numpy")
