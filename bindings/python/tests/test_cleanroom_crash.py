"""Clean-room crash-safety and concurrency review of the log writer.

Written from the README ("Using the library", "Durability modes", "Locking",
"The evident command", "Known limitations") and spec/format.md § 9.5 / § 10
alone, as an outside tester would: writers SIGKILLed at random moments in
every durability and lock mode, several processes and threads at once,
torn tails cut at every byte, a writer killed while another waits for the
lock, verify during writes, files replaced under a writer, a full disk
(small tmpfs) and RLIMIT_FSIZE.

Properties: every acknowledged entry survives a kill; a reopened log
verifies (a torn tail moved aside into a sidecar, never deleted); sequence
numbers are gapless; writers never interleave; nothing panics; errors name
the file.  Defects found (fixed since) are the tests at the end of the file.

Seeded RNG, modest iteration counts: the whole file runs in well under 90 s.
"""

from __future__ import annotations

import errno
import os
import random
import resource
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

import evident

from conftest import cli_path

PY = sys.executable

# A writer process: appends forever from `threads` threads and prints one line
# per *acknowledged* entry ("A <id> <seq>"; in buffered mode only after sync()
# returned: "S <id> <seq>" acknowledges every entry of that thread up to it).
WRITER = textwrap.dedent(
    r"""
    import os, sys, threading, random, evident
    path, durability, lock, nthreads, wid, big = sys.argv[1:7]
    nthreads, big = int(nthreads), int(big)
    log = evident.AuditLog(path, durability=durability, lock=lock, lock_timeout=30)
    out = os.fdopen(1, "w", buffering=1)
    olock = threading.Lock()
    def run(t):
        r = random.Random(f"{wid}-{t}")
        i = 0
        pending = []
        while True:
            i += 1
            pad = "x" * r.choice([0, 40, 3000, big])
            name = f"{wid}.{t}.{i}"
            h = log.log("T", name, details={"w": wid, "t": t, "i": i, "pad": pad})
            if durability == "buffered":
                pending.append(name)
                if i % 3 == 0:
                    log.sync()
                    with olock:
                        for n in pending:
                            out.write(f"A {n} {h.seq}\n")
                    pending = []
            else:
                with olock:
                    out.write(f"A {name} {h.seq}\n")
    ts = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(nthreads)]
    for t in ts: t.start()
    for t in ts: t.join()
    """
)


def _env() -> Dict[str, str]:
    return dict(os.environ)


def _acked(out: bytes) -> List[str]:
    names = []
    for line in out.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "A":
            names.append(parts[1])
    return names


def _check_log(path: Path, acked: List[str]) -> List[evident.Entry]:
    """The log verifies, seqs are gapless, no entry twice, every acked one is there."""
    res = evident.verify(path)
    assert res.valid, (path, res.kind, res.error, res.offset)
    entries = list(evident.read_entries(path))
    seqs = [e.seq for e in entries]
    assert seqs == list(range(1, len(seqs) + 1)), "sequence numbers not gapless"
    actions = [e.action for e in entries]
    assert len(set(actions)) == len(actions), "an entry appears twice"
    present = set(actions)
    missing = [a for a in acked if a not in present]
    assert not missing, f"{len(missing)} acknowledged entries lost, e.g. {missing[:5]}"
    # per writer thread, its entries are in the order it appended them
    last: Dict[Tuple[str, int], int] = {}
    for e in entries:
        if e.details and "w" in e.details:
            k = (e.details["w"], e.details["t"])
            assert e.details["i"] > last.get(k, 0), "a thread's entries out of order"
            last[k] = e.details["i"]
    return entries


def _first_ack(p: "subprocess.Popen[bytes]", timeout: float = 60.0) -> bytes:
    """Waits (at most `timeout` s) for a writer's first output line, so that
    the random delay before a kill starts once the writer is appending: on a
    loaded machine starting Python and opening the log alone can take longer
    than the delay. The line is returned, to be counted with the rest."""
    assert p.stdout is not None
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    return p.stdout.readline() if ready else b""


def _no_panic(err: bytes) -> None:
    text = err.decode(errors="replace")
    assert "panicked" not in text and "RUST_BACKTRACE" not in text, text[-2000:]
    assert "Traceback" not in text, text[-2000:]


# --------------------------------------------------------------------------
# 1. SIGKILL at random moments, every durability x lock mode x framing
# --------------------------------------------------------------------------

MODES = [
    (d, l) for d in ("sync", "group", "buffered") for l in ("exclusive", "shared")
]


@pytest.mark.parametrize("framing", ["jsonl", "evl"])
@pytest.mark.parametrize("durability,lock", MODES)
def test_sigkill_at_random_moments(tmp_path: Path, durability: str, lock: str, framing: str) -> None:
    rng = random.Random(f"{durability}-{lock}-{framing}")
    path = tmp_path / f"audit.{framing}"
    evident.AuditLog(path).close()  # exists before the writers start
    acked: List[str] = []
    for rnd in range(3):
        nproc = 1 if lock == "exclusive" else 3
        procs = [
            subprocess.Popen(
                [PY, "-c", WRITER, str(path), durability, lock, "2", f"r{rnd}p{k}",
                 str(rng.choice([5_000, 70_000, 300_000]))],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
            )
            for k in range(nproc)
        ]
        first = [_first_ack(p) for p in procs]
        time.sleep(rng.uniform(0.0, 0.25))
        for p in procs:
            p.kill()
        for p, line in zip(procs, first):
            out, err = p.communicate()
            acked += _acked(line + out)
            _no_panic(err)
        # reopen (recovers any torn tail), then check
        with evident.AuditLog(path, lock=lock) as log:
            rec = log.recovery
            for t in rec.torn:  # moved aside, never deleted
                side = Path(t.sidecar)
                assert side.is_file() and side.stat().st_size == t.length
        _check_log(path, acked)
    assert acked, "the writers never acknowledged anything: test too short"


def test_threads_sharing_one_handle_killed_group_commit(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    acked: List[str] = []
    for rnd in range(3):
        p = subprocess.Popen([PY, "-c", WRITER, str(path), "group", "exclusive", "8", f"g{rnd}", "20000"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
        line = _first_ack(p)
        time.sleep(0.1 + 0.15 * rnd)
        p.kill()
        out, err = p.communicate()
        acked += _acked(line + out)
        _no_panic(err)
        evident.AuditLog(path).close()
        _check_log(path, acked)
    assert len(acked) > 10


BATCH_WRITER = textwrap.dedent(
    r"""
    import os, sys, evident
    path, durability, lock, wid = sys.argv[1:5]
    log = evident.AuditLog(path, durability=durability, lock=lock, lock_timeout=30)
    out = os.fdopen(1, "w", buffering=1)
    b = 0
    while True:
        b += 1
        heads = log.log_many([{"event_type": "B", "action": f"{wid}.{b}.{k}",
                               "details": {"pad": "z" * 20000}} for k in range(50)])
        if durability == "buffered":
            log.sync()
        out.write(f"A {wid}.{b} {heads[-1].seq}\n")
    """
)


@pytest.mark.parametrize("durability,lock", [("sync", "exclusive"), ("group", "shared"), ("buffered", "shared")])
def test_batches_killed_acknowledged_batches_survive(tmp_path: Path, durability: str, lock: str) -> None:
    """README Known limitations: a batch is acknowledged all at once; a crash
    may leave a prefix of an unacknowledged batch as valid entries."""
    path = tmp_path / "audit.jsonl"
    evident.AuditLog(path).close()
    acked: List[str] = []
    for rnd in range(2):
        n = 2 if lock == "shared" else 1
        ps = [subprocess.Popen([PY, "-c", BATCH_WRITER, str(path), durability, lock, f"r{rnd}w{k}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()) for k in range(n)]
        first = [_first_ack(p) for p in ps]
        time.sleep(0.1 + 0.2 * rnd)
        for p in ps:
            p.kill()
        for p, line in zip(ps, first):
            out, err = p.communicate()
            _no_panic(err)
            acked += _acked(line + out)
        evident.AuditLog(path, lock=lock).close()
        entries = _check_log(path, [])
        present = {e.action for e in entries}
        for batch in acked:
            assert all(f"{batch}.{k}" in present for k in range(50)), batch
        # whatever of a batch is present is a prefix of it
        by_batch: Dict[str, Set[int]] = {}
        for a in present:
            w, b, k = a.rsplit(".", 2)
            by_batch.setdefault(f"{w}.{b}", set()).add(int(k))
        for ks in by_batch.values():
            assert ks == set(range(len(ks)))
    assert acked


def test_cli_append_killed_keeps_every_printed_head(tmp_path: Path) -> None:
    """`evident append LOG --json -` prints SEQ:HASH per entry: in sync mode each
    printed head is on disk even if the command is then killed."""
    cli = cli_path()
    for shared in (False, True):
        path = tmp_path / f"cli{int(shared)}.jsonl"
        args = [str(cli), "append", str(path), "--json", "-"] + (["--shared"] if shared else [])
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(25):
            p.stdin.write(f'{{"event_type":"T","action":"c{i}"}}\n'.encode())
            p.stdin.flush()
        time.sleep(0.4)
        p.kill()
        out, err = p.communicate()
        _no_panic(err)
        heads = [l for l in out.decode().split() if ":" in l]
        assert heads, "nothing printed"
        entries = list(evident.read_entries(path))
        got = {f"{e.seq}:{e.hash}" for e in entries}
        assert set(heads) <= got
        assert evident.verify(path).valid


# --------------------------------------------------------------------------
# 2. Torn tails: the last records cut at every byte
# --------------------------------------------------------------------------

def _build(path: Path, n: int) -> List[int]:
    ends = []
    with evident.AuditLog(path) as log:
        for i in range(n):
            log.log("T", f"a{i}", details={"pad": "é" * (i * 7), "i": i})
            ends.append(path.stat().st_size)
    return ends


@pytest.mark.parametrize("framing", ["jsonl", "evl"])
def test_torn_tail_every_byte_of_last_two_records(tmp_path: Path, framing: str) -> None:
    src = tmp_path / f"src.{framing}"
    ends = _build(src, 4)
    data = src.read_bytes()
    cli = cli_path()
    for cut in range(ends[1], len(data)):
        p = tmp_path / f"cut.{framing}"
        for f in tmp_path.glob(f"cut.{framing}*"):
            f.unlink()
        content = data[:cut]
        p.write_bytes(content)
        complete = max(i + 1 for i, e in enumerate(ends) if e <= cut)
        good_end = ends[complete - 1]
        if cut % 67 == 0 and cut != good_end:  # verify is slow on torn tails (in-flight wait)
            v = evident.verify(p)
            assert not v.valid and v.kind == "torn_tail", (cut, v.kind, v.error)
            q = tmp_path / f"cli-{cut}.{framing}"
            shutil.copy(p, q)
            r = subprocess.run([str(cli), "repair", str(q)], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            assert q.read_bytes() == data[:good_end]
            assert len(list(tmp_path.glob(f"cli-{cut}.{framing}.torn-*"))) == 1
        with evident.AuditLog(p) as log:
            rec = log.recovery
            assert log.head().seq == complete, cut
            moved = b"".join(Path(t.sidecar).read_bytes() for t in rec.torn)
            assert moved == content[good_end:], cut
            log.log("T", "after")
        assert p.read_bytes().startswith(data[:good_end])
        assert evident.verify(p).valid


@pytest.mark.parametrize("framing", ["jsonl", "evl"])
def test_lost_pages_zeroed_tail_moved_aside(tmp_path: Path, framing: str) -> None:
    """A power cut may zero the unsynced end (§ 9.5 lost block): any zero run of
    >= 16 bytes from inside the last record to the end is a torn tail."""
    src = tmp_path / f"src.{framing}"
    ends = _build(src, 4)
    data = src.read_bytes()
    for start in range(ends[2] + 1, ends[3] - 16, 13):
        p = tmp_path / f"z{start}.{framing}"
        content = data[:start] + b"\0" * (len(data) - start + 4096)
        p.write_bytes(content)
        with evident.AuditLog(p) as log:
            assert log.head().seq == 3
            moved = b"".join(Path(t.sidecar).read_bytes() for t in log.recovery.torn)
            assert moved == content[ends[2]:]
        assert evident.verify(p).valid


@pytest.mark.parametrize("framing", ["jsonl", "evl"])
def test_lost_page_after_synced_length_case_a(tmp_path: Path, framing: str) -> None:
    """§ 10.3 case A: a lost page in an unsynced record followed by records a
    later page kept: everything from the damaged record on is moved aside."""
    p = tmp_path / f"a.{framing}"
    ends = []
    with evident.AuditLog(p) as log:
        for i in range(10):
            log.log("T", str(i), details={"pad": "p" * 300})
            ends.append(p.stat().st_size)
        log_id = log.log_id
    lk = bytearray((tmp_path / f"a.{framing}.lock").read_bytes())
    assert len(lk) == 384
    lk[256:384] = f"synced {log_id} {ends[4]}".encode().ljust(127) + b"\n"
    (tmp_path / f"a.{framing}.lock").write_bytes(bytes(lk))
    data = bytearray(p.read_bytes())
    data[ends[5] + 10 : ends[6] - 10] = b"\0" * (ends[6] - ends[5] - 20)
    p.write_bytes(bytes(data))
    assert not evident.verify(p).valid  # documented: malformed until reopened
    with evident.AuditLog(p) as log:
        assert log.head().seq == 6
        moved = b"".join(Path(t.sidecar).read_bytes() for t in log.recovery.torn)
        assert moved == bytes(data[ends[5]:])
    assert evident.verify(p).valid


@pytest.mark.parametrize("content", [b"\0" * 256, b"\0" * 384, b" " * 255 + b"\n" + b"\0" * 128])
def test_lock_file_zeroed_by_power_cut_is_accepted(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "a.jsonl"
    _build(p, 2)
    (tmp_path / "a.jsonl.lock").write_bytes(content)
    with evident.AuditLog(p) as log:
        assert log.head().seq == 2
        log.log("T", "x")
    assert evident.verify(p).valid


# --------------------------------------------------------------------------
# 3. Locking: a holder killed while another waits; replaced files
# --------------------------------------------------------------------------

def test_waiter_gets_the_lock_when_the_holder_is_killed(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    holder = subprocess.Popen(
        [PY, "-c", f"import evident,time\nl=evident.AuditLog({str(p)!r})\nl.log('T','holder')\nprint('held',flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, env=_env(),
    )
    try:
        assert holder.stdout.readline().strip() == b"held"
        with pytest.raises(evident.LockedError) as ei:
            evident.AuditLog(p)
        assert str(p) in str(ei.value) and f"pid {holder.pid}" in str(ei.value)
        waiter = subprocess.Popen(
            [PY, "-c", f"import evident\nl=evident.AuditLog({str(p)!r}, lock_timeout=20)\nprint(l.log('T','waiter').seq, flush=True)\nl.close()"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
        )
        time.sleep(0.5)
        holder.kill()
        out, err = waiter.communicate(timeout=30)
        _no_panic(err)
        assert out.strip() == b"2"
    finally:
        holder.kill()
        holder.wait()
    assert [e.action for e in evident.read_entries(p)] == ["holder", "waiter"]
    assert evident.verify(p).valid


def test_log_renamed_over_while_a_writer_waits_is_opened_again(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    holder = subprocess.Popen(
        [PY, "-c", f"import evident,time\nl=evident.AuditLog({str(p)!r})\nl.log('T','old')\nprint('held',flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, env=_env(),
    )
    try:
        holder.stdout.readline()
        waiter = subprocess.Popen(
            [PY, "-c", f"import evident\nl=evident.AuditLog({str(p)!r}, lock_timeout=20)\nprint(l.log_id, flush=True)\nl.log('T','waiter')\nl.close()"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
        )
        time.sleep(0.5)
        other = tmp_path / "other.jsonl"
        with evident.AuditLog(other) as o:
            o.log("T", "new")
            new_id = o.log_id
        os.rename(p, tmp_path / "a.old.jsonl")
        os.rename(other, p)
        holder.kill()
        out, err = waiter.communicate(timeout=30)
        _no_panic(err)
        assert out.decode().strip() == new_id
    finally:
        holder.kill()
        holder.wait()
    assert [e.action for e in evident.read_entries(p)] == ["new", "waiter"]
    assert [e.action for e in evident.read_entries(tmp_path / "a.old.jsonl")] == ["old"]


def test_shared_writer_refuses_after_rotation_and_rollback(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    # logrotate `create`: renamed away, a new empty file at the name
    w = evident.AuditLog(p, lock="shared")
    w.log("T", "1")
    os.rename(p, tmp_path / "a.jsonl.1")
    p.write_bytes(b"")
    with pytest.raises(evident.EvidentError) as ei:
        w.log("T", "2")
    assert str(p) in str(ei.value)
    w.close()
    assert [e.action for e in evident.read_entries(tmp_path / "a.jsonl.1")] == ["1"]
    # rolled back in place by a copy of an older version
    q = tmp_path / "b.jsonl"
    w = evident.AuditLog(q, lock="shared")
    w.log("T", "1")
    shutil.copy(q, tmp_path / "backup")
    w.log("T", "2")
    shutil.copy(tmp_path / "backup", q)
    with pytest.raises(evident.RolledBackError) as ei2:
        w.log("T", "3")
    assert str(q) in str(ei2.value)
    w.close()
    assert [e.action for e in evident.read_entries(q)] == ["1"]


def test_second_writer_through_links_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    with evident.AuditLog(p) as w:
        w.log("T", "1")
        os.symlink(p, tmp_path / "sym.jsonl")
        os.link(p, tmp_path / "hard.jsonl")
        for name in ("sym.jsonl", "hard.jsonl"):
            for lock in ("exclusive", "shared"):
                with pytest.raises(evident.LockedError):
                    evident.AuditLog(tmp_path / name, lock=lock, lock_timeout=0.2).log("T", "x")


@pytest.mark.parametrize("lock", ["exclusive", "shared"])
def test_concurrent_creation_gives_one_log(tmp_path: Path, lock: str) -> None:
    p = tmp_path / "a.jsonl"
    t0 = time.time() + 0.6
    code = (
        "import evident,sys,time\n"
        f"while time.time() < {t0}: pass\n"
        f"l=evident.AuditLog({str(p)!r}, lock={lock!r}, lock_timeout=30)\n"
        "for i in range(10): l.log('T', sys.argv[1] + str(i))\n"
        "l.close(); print(l.log_id)\n"
    )
    ps = [subprocess.Popen([PY, "-c", code, f"w{k}-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()) for k in range(4)]
    ids = set()
    for pr in ps:
        out, err = pr.communicate(timeout=60)
        _no_panic(err)
        ids.add(out.strip())
    assert len(ids) == 1
    res = evident.verify(p)
    assert res.valid and res.entries == 40
    assert sorted(os.listdir(tmp_path)) == ["a.jsonl", "a.jsonl.lock"]


@pytest.mark.parametrize("lock", ["exclusive", "shared"])
def test_empty_file_is_refused_and_left_untouched(tmp_path: Path, lock: str) -> None:
    """README: an existing empty file is refused ("file is empty: not an evident
    log"), never restarted as a new log, by every writer and by repair."""
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"")
    with pytest.raises(evident.MalformedLogError) as ei:
        evident.AuditLog(p, lock=lock)
    assert str(p) in str(ei.value) and "empty" in str(ei.value)
    r = subprocess.run([str(cli_path()), "repair", str(p)], capture_output=True, text=True)
    assert r.returncode == 2 and str(p) in r.stderr
    assert p.read_bytes() == b""


# --------------------------------------------------------------------------
# 4. verify while the log is being written
# --------------------------------------------------------------------------

@pytest.mark.parametrize("framing", ["jsonl", "evl"])
@pytest.mark.parametrize("durability,lock", [("sync", "shared"), ("buffered", "exclusive")])
def test_verify_while_writing_stays_valid(tmp_path: Path, framing: str, durability: str, lock: str) -> None:
    p = tmp_path / f"a.{framing}"
    evident.AuditLog(p).close()
    n = 2 if lock == "shared" else 1
    ws = [subprocess.Popen([PY, "-c", WRITER, str(p), durability, lock, "1", f"w{k}", "200000"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env()) for k in range(n)]
    cli = cli_path()
    try:
        end = time.time() + 1.2
        i = 0
        while time.time() < end:
            if i % 2:
                r = subprocess.run([str(cli), "verify", str(p)], capture_output=True, text=True)
                assert r.returncode == 0, r.stdout + r.stderr
            else:
                v = evident.verify(p)
                assert v.valid, (v.kind, v.error, v.offset)
            i += 1
    finally:
        for w in ws:
            w.kill()
        for w in ws:
            _, err = w.communicate()
            _no_panic(err)
    evident.AuditLog(p, lock=lock).close()
    assert evident.verify(p).valid


# --------------------------------------------------------------------------
# 5. Disk full (tmpfs) and RLIMIT_FSIZE
# --------------------------------------------------------------------------

@pytest.fixture
def small_fs(tmp_path: Path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {r.stderr!r}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(mnt: Path) -> None:
    fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT)
    for chunk in (65536, 4096, 1):
        while True:
            try:
                if os.write(fd, b"z" * chunk) < chunk:
                    break
            except OSError:
                break
    os.close(fd)


DISK_FULL_CHILD = textwrap.dedent(
    r"""
    import os, sys, json, evident
    p, dur, lock = sys.argv[1:4]
    lg = evident.AuditLog(p, durability=dur, lock=lock)
    acked, i, pending = 0, 0, 0
    out = {}
    try:
        while True:
            i += 1
            h = lg.log("T", f"e{i}", details={"pad": "y" * (i * 37 % 3000)})
            if dur != "buffered": acked = h.seq
            elif i % 5 == 0:
                lg.sync(); acked = h.seq
    except evident.EvidentError as e:
        out["err"] = [type(e).__name__, getattr(e, "errno", None), str(e)]
    try:
        lg.log("T", "after")
        out["next"] = "appended"
    except evident.EvidentError as e:
        out["next"] = type(e).__name__
    out["acked"] = acked
    print(json.dumps(out))
    os._exit(0)
    """
)


@pytest.mark.parametrize("framing", ["jsonl", "evl"])
@pytest.mark.parametrize("durability,lock", [("sync", "exclusive"), ("group", "shared"), ("buffered", "exclusive"), ("buffered", "shared")])
def test_disk_full_tmpfs(small_fs: Path, framing: str, durability: str, lock: str) -> None:
    import json

    p = small_fs / f"a.{framing}"
    r = subprocess.run([PY, "-c", DISK_FULL_CHILD, str(p), durability, lock], capture_output=True, env=_env())
    _no_panic(r.stderr)
    out = json.loads(r.stdout)
    kind, eno, msg = out["err"]
    assert eno == errno.ENOSPC and str(p) in msg, out
    assert out["next"] == "PoisonedError"
    assert evident.verify(p).valid
    entries = list(evident.read_entries(p))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert len(entries) >= out["acked"]
    # reopen on the still-full disk: no recovery needed, the log stays valid
    evident.AuditLog(p, lock=lock).close()
    assert evident.verify(p).valid


def test_disk_full_during_tail_recovery_keeps_the_tail(small_fs: Path) -> None:
    p = small_fs / "a.jsonl"
    with evident.AuditLog(p) as log:
        for i in range(5):
            log.log("T", str(i), details={"pad": "q" * 2000})
    torn = b'{"v":1,"seq":6,"prev":"' + b"a" * 30000
    with open(p, "ab") as f:
        f.write(torn)
    _fill(small_fs)
    before = p.read_bytes()
    with pytest.raises(evident.EvidentError) as ei:
        evident.AuditLog(p)
    assert getattr(ei.value, "errno", None) == errno.ENOSPC and str(p) in str(ei.value)
    assert p.read_bytes() == before  # nothing cut
    assert not list(small_fs.glob("a.jsonl.torn-*"))  # the partial sidecar was removed
    (small_fs / "filler").unlink()
    with evident.AuditLog(p) as log:
        (t,) = log.recovery.torn
        assert Path(t.sidecar).read_bytes() == torn
    assert evident.verify(p).valid


def test_disk_full_creating_a_log(small_fs: Path) -> None:
    _fill(small_fs)
    with pytest.raises(evident.EvidentError) as ei:
        evident.AuditLog(small_fs / "new.jsonl")
    assert str(small_fs / "new.jsonl") in str(ei.value)
    assert getattr(ei.value, "errno", None) == errno.ENOSPC
    names = sorted(os.listdir(small_fs))
    assert not [n for n in names if "creating" in n], names
    assert "new.jsonl" not in names


RLIMIT_CHILD = textwrap.dedent(
    r"""
    import os, sys, json, signal, resource, evident
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    p, dur, lock = sys.argv[1:4]
    resource.setrlimit(resource.RLIMIT_FSIZE, (50000, 50000))
    lg = evident.AuditLog(p, durability=dur, lock=lock)
    acked, i = 0, 0
    try:
        while True:
            i += 1
            h = lg.log("T", str(i), details={"pad": "w" * 1500})
            if dur != "buffered": acked = h.seq
            elif i % 4 == 0:
                lg.sync(); acked = h.seq
    except evident.EvidentError as e:
        print(json.dumps({"acked": acked, "errno": getattr(e, "errno", None), "msg": str(e)}))
    os._exit(0)
    """
)


@pytest.mark.parametrize("framing", ["jsonl", "evl"])
@pytest.mark.parametrize("durability,lock", [("sync", "exclusive"), ("buffered", "shared")])
def test_rlimit_fsize_short_write_rolled_back(tmp_path: Path, framing: str, durability: str, lock: str) -> None:
    import json

    p = tmp_path / f"a.{framing}"
    r = subprocess.run([PY, "-c", RLIMIT_CHILD, str(p), durability, lock], capture_output=True, env=_env())
    _no_panic(r.stderr)
    out = json.loads(r.stdout)
    assert out["errno"] == errno.EFBIG and str(p) in out["msg"]
    v = evident.verify(p)
    assert v.valid and v.entries >= out["acked"]  # the short write was cut back
    with evident.AuditLog(p, lock=lock) as log:
        assert log.recovery.torn == []
        log.log("T", "after")
    assert evident.verify(p).valid


# --------------------------------------------------------------------------
# Defects found by this review (fixed): each is a minimal reproduction
# --------------------------------------------------------------------------

@pytest.mark.parametrize("limit,lock", [(100, "exclusive"), (300, "exclusive"), (300, "shared")])
def test_short_lock_file_write_does_not_brick_the_log(tmp_path: Path, limit: int, lock: str) -> None:
    # An existing, valid log whose lock file is missing (restored from a backup,
    # copied, or a tmp cleaner removed it). One process with a small file-size
    # limit (ulimit -f) opens it and closes it: open and close both succeed.
    p = tmp_path / "a.jsonl"
    _build(p, 1)
    (tmp_path / "a.jsonl.lock").unlink()
    code = textwrap.dedent(
        f"""
        import evident, resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, resource.RLIM_INFINITY))
        evident.AuditLog({str(p)!r}, lock={lock!r}).close()
        print("ok")
        """
    )
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=_env())
    assert r.stdout.strip() == "ok", r.stderr  # (it reports no error at all)
    # the lock file is now `limit` bytes of a holder/synced record; § 10.4 rule 4
    # makes every later writer refuse it: the log can no longer be written
    with evident.AuditLog(p, lock=lock) as log:
        log.log("T", "after")
    assert evident.verify(p).valid


def test_cli_errors_on_a_full_disk_name_the_file(small_fs: Path) -> None:
    cli = str(cli_path())
    a = small_fs / "a.jsonl"
    assert subprocess.run([cli, "append", str(a), "--event-type", "T", "--action", "a"], capture_output=True).returncode == 0
    _fill(small_fs)
    for target, details in ((a, "y" * 9000), (small_fs / "b.jsonl", "x")):
        r = subprocess.run([cli, "append", str(target), "--event-type", "T", "--action", "a", "--details",
                            '{"p":"%s"}' % details], capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.startswith(f"evident: {target}:"), r.stderr
        assert "No space left" in r.stderr and "panicked" not in r.stderr
    assert evident.verify(a).valid and evident.verify(a).entries == 1
