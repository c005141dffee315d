"""Signed checkpoints from Python: the spec's checkpoint vectors
(spec/vectors/checkpoints/manifest.json) and a round trip."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import evident
from evident import checkpoint as cp
from conftest import VECTORS

CP = VECTORS / "checkpoints"


def _read(name: str) -> str:
    return (CP / name).read_text()


def _manifest():
    return json.loads(_read("manifest.json"))


def _vectors(kind: str):
    return [v for v in _manifest()["vectors"] if v["kind"] == kind]


@pytest.mark.parametrize("v", _vectors("verify"), ids=lambda v: f"{v['log']}-{v['checkpoint']}-{v.get('min_witnesses', 0)}")
def test_verify_vectors(v) -> None:
    m = _manifest()
    try:
        r = cp.verify(
            CP / v["log"],
            _read(v["checkpoint"]),
            _read(m["log_vkey"]).strip(),
            witness_keys=[_read(m["witness_vkey"]).strip()],
            min_witnesses=v.get("min_witnesses", 0),
        )
        outcome = r["outcome"]
        assert r["valid"] == (v["expect"] == "match")
    except evident.EvidentError:
        outcome = "bad_signature"  # a checkpoint that does not parse
    assert outcome == v["expect"], v


@pytest.mark.parametrize("v", _vectors("inclusion") + _vectors("consistency"), ids=lambda v: v["proof"])
def test_proof_vectors(v) -> None:
    vkey = _read(_manifest()["log_vkey"]).strip()
    old = _read(v["old"]) if "old" in v else None
    try:
        ok, reason = cp.verify_proof(_read(v["proof"]), vkey, old)
    except evident.EvidentError:
        ok, reason = False, "malformed"
    assert ok == (v["expect"] == "ok"), (v, reason)


def test_witness_vectors(tmp_path: Path) -> None:
    m = _manifest()
    (w,) = _vectors("witness")
    skey = _read("witness.skey").strip()
    for r in w["requests"]:
        out = cp.witness_add_checkpoint(tmp_path / "store", skey, [_read(m["log_vkey"]).strip()], _read(r["request"]))
        assert out["status"] == r["status"], (r, out)
        if "outcome" in r:
            assert out["outcome"] == r["outcome"]


def test_round_trip(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    with evident.AuditLog(log) as a:
        for i in range(10):
            a.log("ACTION_EXECUTED", f"a{i}")
    skey, vkey = cp.keygen("example.com/py")
    c1 = cp.create(log, skey)
    assert c1.splitlines()[1] == "11"
    proof = cp.prove(log, 4, c1)
    assert cp.verify_proof(proof, vkey) == (True, None)
    assert cp.verify(log, c1, vkey)["outcome"] == "match"
    with evident.AuditLog(log) as a:
        a.log("ACTION_EXECUTED", "more")
    c2 = cp.create(log, skey)
    cons = cp.prove_consistency(log, c1, c2)
    assert cp.verify_proof(cons, vkey, old=c1) == (True, None)
    r = cp.verify(log, c1, vkey, incremental=True)
    assert (r["outcome"], r["mode"]) == ("match", "incremental")
    # A cut log is reported, not raised.
    shutil.copy(log, tmp_path / "cut.jsonl")
    lines = (tmp_path / "cut.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "cut.jsonl").write_text("".join(lines[:5]))
    assert cp.verify(tmp_path / "cut.jsonl", c2, vkey)["outcome"] == "truncated"
    with pytest.raises(evident.EvidentError):
        cp.create(log, "not a key")


def test_origin_must_be_the_logs_or_the_named_one(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    with evident.AuditLog(log) as a:
        a.log("ACTION_EXECUTED", "a")
    skey, vkey = cp.keygen("example.com/py")
    assert cp.verify(log, cp.create(log, skey), vkey)["outcome"] == "match"
    other = cp.create(log, skey, origin="example.com/another-log", sidecar=False)
    r = cp.verify(log, other, vkey)
    assert (r["valid"], r["outcome"]) == (False, "bad_signature")
    assert "origin" in r["message"]
    assert cp.verify(log, other, vkey, origin="example.com/another-log")["outcome"] == "match"


def test_verify_proof_checks_the_origin_when_given(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    with evident.AuditLog(log) as a:
        for i in range(4):
            a.log("ACTION_EXECUTED", f"a{i}")
    skey, vkey = cp.keygen("example.com/py")
    mine = cp.create(log, skey)
    origin = mine.splitlines()[0]
    assert origin.startswith("evident/")
    fork = cp.create(log, skey, origin="example.com/fork", sidecar=False)
    proof, forked = cp.prove(log, 2, mine), cp.prove(log, 2, fork)
    # Without an origin any is accepted (as before); with one, only it.
    assert cp.verify_proof(forked, vkey) == (True, None)
    assert cp.verify_proof(proof, vkey, origin=origin) == (True, None)
    ok, why = cp.verify_proof(forked, vkey, origin=origin)
    assert not ok and "example.com/fork" in why and origin in why
    # Consistency proofs too.
    with evident.AuditLog(log) as a:
        a.log("ACTION_EXECUTED", "more")
    fork2 = cp.create(log, skey, origin="example.com/fork", sidecar=False)
    cons = cp.prove_consistency(log, fork, fork2)
    assert cp.verify_proof(cons, vkey, old=fork) == (True, None)
    assert cp.verify_proof(cons, vkey, old=fork, origin="example.com/fork") == (True, None)
    ok, why = cp.verify_proof(cons, vkey, old=fork, origin=origin)
    assert not ok and "example.com/fork" in why
