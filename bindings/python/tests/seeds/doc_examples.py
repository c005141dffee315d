"""Every code example of the seed documents, taken from the documents
themselves (not transcribed), with only the import line mapped to evident:

=====================================================  ==============================
seed import                                            evident import
=====================================================  ==============================
``import tracekit as tk``, ``tracekit.session``,        ``evident.compat.tracekit``
``tracekit.core.audit``
``secureml.audit`` / ``.reporting`` / ``.compliance``   ``evident.compat.secureml``
``rtgs_lab_tools.audit`` (and its services)             ``evident.compat.rtgs``
the CLI ``rtgs audit …``                                ``python -m evident.compat.rtgs …``
``openparallax_audit``                                  ``evident.compat.openparallax``
=====================================================  ==============================

The documents are plain text (rendered web pages, a coverage listing), so the
code is found the way a reader finds it: a run of lines that is not prose
(seed 001: the ``>>>`` lines of each docstring; seed 004: the lines after a
``python`` / ``bash`` label). Each example is an :class:`Example` with its
line numbers in the document and a kind:

``python``     runnable Python
``signature``  a ``def`` (or, in seed 004, a call written with annotations)
               that states a function's parameters and defaults
``class``      a class definition (``@dataclass`` with ``Attributes:``, an enum)
``output``     output the document shows for the example before it
``bash``       shell commands
``json`` / ``markdown`` / ``script`` / ``env``  file contents the document shows
``install``    ``pip install …`` (not run: evident is installed)

The documents are not copied into the repository (they are the seed
systems' text); they are read from ``$EVIDENT_SEEDS_DIR``, else
the nearest ``shared/seeds`` above the repository.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

DOCS = {
    "000": "000_4ace85b9c805e0ec.txt",
    "001": "001_73576ef75268b259.txt",
    "002": "002_5cd8c185d701b678.txt",
    "003": "003_269cd5e088ec8fd3.txt",
    "004": "004_577dc3c577de47c9.txt",
}


def seeds_dir() -> Optional[Path]:
    env = os.environ.get("EVIDENT_SEEDS_DIR")
    if env:
        return Path(env) if (Path(env) / DOCS["000"]).is_file() else None
    for up in Path(__file__).resolve().parents:
        if (up / "shared" / "seeds" / "README.md").is_file():
            return up / "shared" / "seeds"
    return None


@dataclass
class Example:
    seed: str
    line: int  # first line in the document (1-based)
    end: int  # last line
    kind: str
    code: str  # as the document has it

    @property
    def id(self) -> str:
        return f"{self.seed}:{self.line}"

    @property
    def mapped(self) -> str:
        return map_imports(self.code) if self.kind in ("python", "output") else self.code


# --- the import mapping (the only change) ---------------------------------------

_PY_MAP = [
    (re.compile(r"^(\s*)import tracekit as (\w+)", re.M), r"\1import evident.compat.tracekit as \2"),
    (
        re.compile(r"^(\s*)from tracekit(?:\.session|\.core\.audit)? import ", re.M),
        r"\1from evident.compat.tracekit import ",
    ),
    (
        re.compile(r"^(\s*)from secureml\.(?:audit|reporting|compliance) import ", re.M),
        r"\1from evident.compat.secureml import ",
    ),
    (
        re.compile(r"^(\s*)from rtgs_lab_tools\.audit(?:\.audit_service|\.report_service)? import ", re.M),
        r"\1from evident.compat.rtgs import ",
    ),
    (re.compile(r"^(\s*)from openparallax_audit import ", re.M), r"\1from evident.compat.openparallax import "),
]
# ``from rtgs_lab_tools import sensing_data, visualization, audit``: ``audit`` is
# the audit module (evident.compat.rtgs); the other two are RTGS's own tools,
# which the test supplies.
_RTGS_PKG = re.compile(r"^(\s*)from rtgs_lab_tools import (.*)$", re.M)


def _rtgs_pkg(m: "re.Match[str]") -> str:
    indent, names = m.group(1), [n.strip() for n in m.group(2).split(",")]
    lines = [f"{indent}from evident.compat import rtgs as audit"] if "audit" in names else []
    return "\n".join(lines) or f"{indent}pass"


def map_imports(code: str) -> str:
    for pat, rep in _PY_MAP:
        code = pat.sub(rep, code)
    return _RTGS_PKG.sub(_rtgs_pkg, code)


def map_shell(line: str) -> Optional[List[str]]:
    """``rtgs audit SUB ARGS`` -> argv for ``python -m evident.compat.rtgs``
    (None for a comment or blank line)."""
    import shlex

    s = line.strip()
    if not s or s.startswith("#"):
        return None
    argv = shlex.split(s)
    assert argv[:2] == ["rtgs", "audit"], s
    return argv[2:]


# --- finding the examples -----------------------------------------------------------

_HEADING = re.compile(r"^(?:[A-Za-z_][\w.]*(?:\(\))?|[A-Z][\w’'&/-]*(?: [\w’'&/()-]+)*)$")


def _is_prose(line: str) -> bool:
    s = line.rstrip()
    if re.match(r"^\s*\d+\. [A-Z]", s) or s.lstrip().startswith("•"):  # list items
        return True
    if not s or s[0].isspace():
        return False
    if re.match(r"^[A-Z][\w ,’'()/&-]*:$", s) and "=" not in s:  # "Example - ...:", "Output:"
        return True
    if re.match(r"^[a-z_]+:$", s) and s[:-1] not in ("else", "try", "finally"):  # "recent:"
        return True
    if s.startswith(("Skip to content", "Latest commit", "History", "File metadata")):
        return True
    if _HEADING.match(s) and not s.endswith(")") or re.fullmatch(r"\w+\(\)", s):
        return True
    # a sentence: words, ends with . or : or has several words and no code punctuation
    if re.match(r"^[A-Z][a-z]", s) and not re.search(r"[=({\[#]|^\w+\.\w+", s):
        return True
    if re.match(r"^[A-Z][a-z]+ .*[.:]$", s) and not re.search(r"=|\w\(", s):
        return True
    if re.match(r"^\d+ lines|^[\d.]+ KB", s):
        return True
    return False


def _classify(code: str, prev: str) -> str:
    first = code.lstrip().split("\n", 1)[0]
    if prev.rstrip() == "Output:":
        return "output"
    if first.startswith("pip install"):
        return "install"
    if first.startswith("#!/bin/bash"):
        return "script"
    if first.startswith("# Audit Report"):
        return "markdown"
    if first.startswith("{"):
        return "json"
    if re.match(r"^# In \.env|^[A-Z_]+=", first):
        return "env"
    lines = [ln for ln in code.splitlines() if ln.strip()]
    if all(ln.startswith(("#", "rtgs ")) for ln in lines) and any(ln.startswith("rtgs ") for ln in lines):
        return "bash"
    if first.startswith("def ") or re.search(r"\w\((\w+): \w", code) or re.search(
        r"^\s+\w+: [\w| \[\]]+( = .+)?,?\s*(#.*)?$", code, re.M
    ) and not first.startswith(("@dataclass", "class ")):
        return "signature"
    if first.startswith(("@dataclass", "class ")):
        return "class"
    return "python"


def _runs(lines: List[str], is_code: "callable[[int], bool]") -> List[List[int]]:  # type: ignore[valid-type]
    runs: List[List[int]] = []
    cur: Optional[List[int]] = None
    for i in range(len(lines)):
        if is_code(i):
            if cur is None:
                cur = [i, i]
            else:
                cur[1] = i
        elif lines[i].strip() == "" and cur is not None:
            continue
        elif cur is not None:
            runs.append(cur)
            cur = None
    if cur is not None:
        runs.append(cur)
    return runs


def _prev_text(lines: List[str], i: int) -> str:
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    return lines[j] if j >= 0 else ""


def _generic(seed: str, lines: List[str]) -> List[Example]:
    out: List[Example] = []
    for a, b in _runs(lines, lambda i: not _is_prose(lines[i]) and lines[i].strip() != ""):
        if out and out[-1].kind == "output" and a <= out[-1].end:
            continue  # part of the output shown before
        kind = _classify("\n".join(lines[a : b + 1]), _prev_text(lines, a))
        if kind == "output":  # shown output runs to the next heading
            b = a
            while b + 1 < len(lines) and not re.fullmatch(r"[A-Z][A-Za-z ]*", lines[b + 1].rstrip()):
                b += 1
            while not lines[b].strip():
                b -= 1
        out.append(Example(seed, a + 1, b + 1, kind, "\n".join(lines[a : b + 1])))
    return out


def _labelled(seed: str, lines: List[str]) -> List[Example]:
    """Seed 004: each block follows a ``python`` / ``bash`` label line."""
    out = []
    i = 0
    while i < len(lines):
        if lines[i].strip() in ("python", "bash"):
            a = i + 1
            b = a
            j = a
            while j < len(lines) and (not _is_prose(lines[j]) or lines[j].startswith("class ")):
                if lines[j].strip() in ("python", "bash"):
                    break
                if lines[j].strip():
                    b = j
                j += 1
            code = "\n".join(lines[a : b + 1])
            out.append(Example(seed, a + 1, b + 1, _classify(code, lines[i]), code))
            i = j
        else:
            i += 1
    return out


_DOCTEST = re.compile(r"^(\d+) ?(>>>|\.\.\.) ?(.*)$")


def _doctests(seed: str, lines: List[str]) -> List[Example]:
    """Seed 001: the ``>>>`` sessions of the module's docstrings (each line
    is prefixed with its line number in audit.py)."""
    out = []
    cur: List[str] = []
    start = end = 0
    for i, ln in enumerate(lines):
        m = _DOCTEST.match(ln)
        if m:
            if not cur:
                start = i
            cur.append(m.group(3))
            end = i
        elif cur:
            out.append(Example(seed, start + 1, end + 1, "python", "\n".join(cur)))
            cur = []
    return out


def examples(seed: str, base: Optional[Path] = None) -> List[Example]:
    base = base or seeds_dir()
    assert base is not None
    lines = (base / DOCS[seed]).read_text(encoding="utf-8").split("\n")
    if seed == "001":
        return _doctests(seed, lines)
    if seed == "004":
        return _labelled(seed, lines)
    return _generic(seed, lines)


def all_examples(base: Optional[Path] = None) -> Dict[str, List[Example]]:
    return {s: examples(s, base) for s in DOCS}


if __name__ == "__main__":  # list them: python doc_examples.py [seed]
    import sys

    for s in sys.argv[1:] or list(DOCS):
        for ex in examples(s):
            head = ex.code.strip().split("\n", 1)[0][:60]
            print(f"{ex.id:9} {ex.end:5} {ex.kind:9} {head}")
