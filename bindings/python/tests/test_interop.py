"""Logs written by other tools read through Python, and the reverse: the
evident CLI (EVIDENT_CLI or target/release/evident) and the Go bindings
(bindings/go, through tests/go_writer; needs `go` on PATH)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

import evident
from conftest import HERE, KEY_A, REPO, cli_path


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([str(cli_path()), *args], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"evident {' '.join(args)}: exit {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def test_read_a_log_written_by_the_cli(tmp_path: Path, framing: str) -> None:
    path = tmp_path / ("cli.jsonl" if framing == "jsonl" else "cli.evl")
    out = cli(
        "append",
        str(path),
        "--event-type",
        "ACTION_EXECUTED",
        "--action",
        "load_trace",
        "--actor",
        "alice",
        "--host",
        "lab-1",
        "--session",
        "s1",
        "--source",
        "cli",
        "--details",
        '{"file":"ch1.bin","n":3}',
        "--note",
        "first",
        "--success",
        "true",
        "--duration-ms",
        "2.5",
        "--git-commit",
        "deadbeef",
        "--otr",
        "--ts",
        "2024-05-01T12:00:00Z",
    ).stdout.strip()
    cli(
        "append",
        str(path),
        "--json",
        '{"event_type":"ACTION_FAILED","action":"compute","error":"oom"}',
    )
    seq, _, h = out.partition(":")
    entries = evident.read_entries(path)
    assert len(entries) == 2
    e = entries[0]
    assert (int(seq), h) == (e.seq, e.hash) == (1, e.hash)
    assert (e.event_type, e.action, e.actor, e.host, e.session_id, e.source) == (
        "ACTION_EXECUTED",
        "load_trace",
        "alice",
        "lab-1",
        "s1",
        "cli",
    )
    assert e.details == {"file": "ch1.bin", "n": 3}
    assert (e.note, e.success, e.duration_ms, e.git_commit, e.otr) == (
        "first",
        True,
        2.5,
        "deadbeef",
        True,
    )
    assert e.ts.isoformat() == "2024-05-01T12:00:00+00:00"
    assert (entries[1].event_type, entries[1].error) == ("ACTION_FAILED", "oom")
    r = evident.verify(path)
    assert r.valid and r.entries == 2 and r.framing == framing
    head = cli("head", str(path)).stdout
    assert f"{r.head.seq}:{r.head.hash}" in head
    # Python appends to the CLI's log; the CLI verifies the whole chain.
    with evident.AuditLog(path) as log:
        log.log("PY", "from_python")
    assert cli("verify", str(path)).returncode == 0


def test_keyed_log_between_cli_and_python(tmp_path: Path) -> None:
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY_A.hex() + "\n")
    path = tmp_path / "keyed.jsonl"
    cli("append", str(path), "--key-file", str(key_file), "--event-type", "K", "--action", "cli")
    with evident.AuditLog(path, key=KEY_A) as log:
        assert log.alg == "hmac-sha256"
        log.log("K", "python")
    assert evident.verify(path, key=KEY_A).valid
    assert cli("verify", str(path), "--key-file", str(key_file)).returncode == 0
    wrong = tmp_path / "wrong.hex"
    wrong.write_text("ff" * 32)
    assert cli("verify", str(path), "--key-file", str(wrong), check=False).returncode == 1


def test_cli_reads_and_detects_tampering_in_a_python_log(tmp_path: Path) -> None:
    path = tmp_path / "py.jsonl"
    with evident.AuditLog(path) as log:
        for i in range(3):
            log.log("PY", f"a{i}", details={"i": i})
    lines = cli("cat", str(path), "--json").stdout.splitlines()
    assert [json.loads(x)["action"] for x in lines] == ["a0", "a1", "a2"]
    data = path.read_bytes().replace(b'"a1"', b'"b1"')
    path.write_bytes(data)
    assert cli("verify", str(path), check=False).returncode == 1
    r = evident.verify(path)
    assert (r.valid, r.kind, r.seq, r.line) == (False, "hash_mismatch", 2, 3)


# --- Go -------------------------------------------------------------------

GO_DIR = REPO / "bindings" / "go"


def _fail_or_skip(msg: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def go_writer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Builds tests/go_writer (a tiny program using bindings/go) once."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed")
    if not (GO_DIR / "go.mod").is_file():
        _fail_or_skip(f"the Go bindings are not in {GO_DIR}")
    out = tmp_path_factory.mktemp("go") / "go_writer"
    env = dict(os.environ, CGO_ENABLED="1", GOTOOLCHAIN="local", GOFLAGS="-mod=mod")
    cmd: List[str] = [go, "build", "-o", str(out)]
    static = REPO / "target" / "release" / "libevident.a"
    if not static.is_file():
        # e.g. a developer's own CARGO_TARGET_DIR: link the shared library there
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release"
        if not (target / "libevident.so").is_file():
            _fail_or_skip(f"no {static} (cargo build --release --lib)")
        cmd += ["-tags", "evident_dynamic"]
        env["CGO_LDFLAGS"] = f"-L{target} -Wl,-rpath,{target}"
    else:
        cmd += ["-tags", "evident_dev"]  # link_static.go: the checkout's libevident.a
    p = subprocess.run(
        cmd + ["."], cwd=HERE / "go_writer", env=env, capture_output=True, text=True, timeout=600
    )
    if p.returncode != 0:
        pytest.fail(f"building tests/go_writer failed:\n{p.stdout}{p.stderr}")
    return out


def run_go(writer: Path, *args: str) -> str:
    p = subprocess.run([str(writer), *args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_read_a_log_written_by_go(go_writer: Path, tmp_path: Path, framing: str) -> None:
    path = tmp_path / ("go.jsonl" if framing == "jsonl" else "go.evl")
    head = run_go(go_writer, str(path), "5")
    entries = evident.read_entries(path)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert f"{entries[-1].seq}:{entries[-1].hash}" == head
    for i, e in enumerate(entries):
        assert (e.event_type, e.action, e.session_id, e.source) == (
            "GO",
            f"go:{i}",
            "go-session",
            "go",
        )
        assert e.details == {"i": i, "lang": "go"}
        assert (e.success, e.duration_ms) == (i % 2 == 0, 1.5)
    r = evident.verify(path, expected_head=head)
    assert r.valid and r.entries == 5 and r.framing == framing


def test_keyed_go_log(go_writer: Path, tmp_path: Path) -> None:
    path = tmp_path / "gokeyed.jsonl"
    run_go(go_writer, str(path), "2", KEY_A.hex())
    assert evident.verify(path, key=KEY_A).valid
    assert evident.verify(path).kind == "wrong_key"


def test_python_and_go_alternate_on_one_log(go_writer: Path, tmp_path: Path) -> None:
    """Python and Go processes append in turns in shared mode: one chain."""
    path = tmp_path / "mixed.jsonl"
    for round_ in range(3):
        with evident.AuditLog(path, lock="shared") as log:
            log.log("PY", f"py:{round_}")
        run_go(go_writer, str(path), "2", "shared")
    entries = evident.read_entries(path)
    assert [e.event_type for e in entries] == ["PY", "GO", "GO"] * 3
    assert [e.seq for e in entries] == list(range(1, 10))
    assert evident.verify(path).valid


# --- C --------------------------------------------------------------------


@pytest.fixture(scope="session")
def c_writer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Builds tests/c_writer/c_writer.c against include/evident.h and the
    very library this package loaded."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    header = REPO / "include" / "evident.h"
    if cc is None:
        _fail_or_skip("no C compiler")
    if not header.is_file():
        _fail_or_skip(f"no {header}")
    lib = Path(evident.library_path).resolve()
    out = tmp_path_factory.mktemp("c") / "c_writer"
    cmd = [
        cc, "-std=c99", "-Wall", "-Werror", "-o", str(out),
        str(HERE / "c_writer" / "c_writer.c"), f"-I{header.parent}",
        str(lib), f"-Wl,-rpath,{lib.parent}",
    ]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        pytest.fail(f"building c_writer failed:\n{' '.join(cmd)}\n{p.stderr}")
    return out


def test_rust_c_python_and_go_write_one_chain(
    c_writer: Path, go_writer: Path, tmp_path: Path, framing: str
) -> None:
    """Rust (the CLI), C, Python and Go append to one log in turns, in shared
    mode; every reader sees one valid chain."""
    path = tmp_path / ("four.jsonl" if framing == "jsonl" else "four.evl")
    expected = []
    for round_ in range(2):
        cli("append", str(path), "--shared", "--event-type", "RUST", "--action", f"rust:{round_}")
        run_go(c_writer, str(path), "1")  # run_go just runs a program
        with evident.AuditLog(path, lock="shared") as log:
            log.log("PY", f"py:{round_}")
        head = run_go(go_writer, str(path), "1", "shared")
        expected += ["RUST", "C", "PY", "GO"]
    entries = evident.read_entries(path)
    assert [e.event_type for e in entries] == expected
    assert [e.seq for e in entries] == list(range(1, 9))
    r = evident.verify(path, expected_head=head)
    assert r.valid and r.entries == 8
    assert cli("verify", str(path)).returncode == 0
