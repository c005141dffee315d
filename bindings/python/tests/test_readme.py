"""The README's example runs as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

from conftest import HERE


def test_readme_example_runs(tmp_path: Path, capsys) -> None:
    text = (HERE.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "no python example in README.md"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for code in blocks:
            exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "True 1"
    assert out[1].startswith("1 ") and "load_trace" in out[1]
