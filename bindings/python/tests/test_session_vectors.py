"""Every session vector (spec/vectors/session/*.evs with its .expect, see
spec/session.md § 11) read through the Python API with the expected result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import evident
from conftest import VECTORS

SESSION_VECTORS = VECTORS / "session"
KEY = bytes(range(32))


def vectors() -> List[Path]:
    return sorted(SESSION_VECTORS.glob("*.evs"))


def test_session_vectors_are_there() -> None:
    assert len(vectors()) >= 6, f"session vectors not found in {SESSION_VECTORS}"


def kind_of(e: evident.EvidentError) -> str:
    return {
        evident.NotFoundError: "not_found",
        evident.CorruptLogError: "corrupt",
        evident.WrongKeyError: "wrong_key",
    }.get(type(e), type(e).__name__)


@pytest.mark.parametrize("evs", vectors(), ids=lambda p: p.stem)
def test_session_vector(evs: Path, tmp_path: Path) -> None:
    want: Dict[str, Any] = json.loads(evs.with_suffix(".expect").read_text(encoding="utf-8"))
    path = tmp_path / evs.name
    shutil.copy(evs, path)
    key: Optional[bytes] = KEY if evs.stem.startswith("keyed") or evs.stem == "compacted" else None

    got_versions = [v.version for v in evident.session_versions(path, key=key)]
    assert got_versions == want["versions"]
    report = evident.verify_session(path, key=key)
    assert report.ok == want["verify_ok"]
    assert report.torn_tail_at == want["torn_tail_at"]

    if want["load"] != "ok":
        with pytest.raises(evident.EvidentError) as e:
            evident.load_session(path, key=key)
        assert "error:" + kind_of(e.value) == want["load"]
        return
    s = evident.load_session(path, key=key)
    assert s.version == want["version"]
    content = s.to_dict()
    content.pop("path", None)
    for t in content["traces"]:
        trace = s.get_trace(t["name"])
        trace.verify()
        t["samples"] = bytes(trace.raw).hex()
        t.pop("mapped", None)
        t.pop("compressed", None)
    assert content == want["content"]
    # the order of each entry's parameters (spec/session.md § 4.3)
    if "history_parameters" in want:
        assert [list(e.parameters) for e in s.history.entries] == want["history_parameters"]
        assert [list(e["parameters"]) for e in content["history"]] == want["history_parameters"]
