"""verify(): valid logs, tampering found with its position, every option."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import evident
from conftest import KEY_A, KEY_B


def write(path: Path, n: int, **open_kw) -> evident.Head:
    with evident.AuditLog(path, **open_kw) as log:
        for i in range(n):
            head = log.log("V", f"a{i}", details={"i": i})
    return head


def test_valid_log_result_fields(any_log_path: Path, framing: str) -> None:
    head = write(any_log_path, 4)
    r = evident.verify(any_log_path)
    assert r and r.valid
    assert (r.entries, r.head, r.line, r.offset, r.seq, r.kind, r.error) == (
        4,
        head,
        0,
        0,
        None,
        None,
        "",
    )
    assert r.violations == [] and r.violations_total == 0 and not r.only_torn_tail
    assert r.framing == framing and r.alg == "sha256" and r.key_id is None
    assert r.bytes == any_log_path.stat().st_size
    with evident.AuditLog(any_log_path) as log:
        assert r.log_id == log.log_id


def test_tampered_entry_is_found_at_its_line(log_path: Path) -> None:
    write(log_path, 5)
    lines = log_path.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b'"a2"', b'"X2"')  # entry seq 3 is line 4
    log_path.write_bytes(b"".join(lines))
    r = evident.verify(log_path)
    assert not r and not r.valid
    assert (r.kind, r.seq, r.line) == ("hash_mismatch", 3, 4)
    assert r.offset == sum(len(x) for x in lines[:3])
    assert "hash" in r.error  # the library's description; the position is in the fields
    assert r.violations[0] == evident.Violation("hash_mismatch", 3, 4, r.offset, r.error)
    assert len(r.violations) == 1


def test_all_reports_every_violation(log_path: Path) -> None:
    write(log_path, 6)
    lines = log_path.read_bytes().splitlines(keepends=True)
    for i in (2, 5):
        lines[i] = lines[i].replace(b'"V"', b'"W"')
    log_path.write_bytes(b"".join(lines))
    first = evident.verify(log_path)
    assert len(first.violations) == 1 and first.violations_total >= 1
    r = evident.verify(log_path, all=True, threads=2)
    assert [(v.kind, v.seq) for v in r.violations] == [("hash_mismatch", 2), ("hash_mismatch", 5)]
    assert r.violations_total == 2
    assert r.seq == 2 and r.line == 3


def test_binary_tampering(tmp_path: Path) -> None:
    p = tmp_path / "b.evl"
    write(p, 3)
    data = bytearray(p.read_bytes())
    i = data.index(b'"a1"')
    data[i + 1] = ord("Z")
    p.write_bytes(bytes(data))
    r = evident.verify(p)
    assert not r.valid and r.line == 0 and r.seq in (2, None)
    assert r.kind in ("malformed", "hash_mismatch")  # the CRC catches it first


def test_expected_head_detects_truncation(log_path: Path) -> None:
    write(log_path, 3)
    with evident.AuditLog(log_path) as log:
        head = log.head()
    assert evident.verify(log_path, expected_head=head).valid
    assert evident.verify(log_path, expected_head=(head.seq, head.hash)).valid
    assert evident.verify(log_path, expected_head=f"{head.seq}:{head.hash}").valid
    # drop the last entry: every remaining record is fine, but the head is gone
    lines = log_path.read_bytes().splitlines(keepends=True)
    log_path.write_bytes(b"".join(lines[:-1]))
    assert evident.verify(log_path).valid
    r = evident.verify(log_path, expected_head=head)
    assert not r.valid and r.kind == "head_mismatch" and r.line == 0


def test_expected_log_id(log_path: Path) -> None:
    write(log_path, 1)
    with evident.AuditLog(log_path) as log:
        log_id = log.log_id
    assert evident.verify(log_path, expected_log_id=log_id).valid
    r = evident.verify(log_path, expected_log_id="0" * 32)
    assert not r.valid and r.kind == "wrong_log_id"


def test_keys(tmp_path: Path) -> None:
    p = tmp_path / "k.jsonl"
    write(p, 2, key=KEY_A)
    ok = evident.verify(p, key=KEY_A)
    assert ok.valid and ok.alg == "hmac-sha256" and ok.key_id
    for key in (KEY_B, None):
        r = evident.verify(p, key=key)
        assert not r.valid and r.kind == "wrong_key", (key, r)
    q = tmp_path / "plain.jsonl"
    write(q, 1)
    r = evident.verify(q, key=KEY_A)
    assert not r.valid and r.kind == "wrong_key"


def test_torn_tail_is_reported_as_only_torn(log_path: Path) -> None:
    write(log_path, 2)
    with open(log_path, "ab") as f:
        f.write(b'{"v":1,"se')
    r = evident.verify(log_path)
    assert not r.valid and r.kind == "torn_tail" and r.only_torn_tail
    assert r.entries == 2 and r.head is not None and r.head.seq == 2


def test_progress_callback(tmp_path: Path) -> None:
    p = tmp_path / "p.jsonl"
    write(p, 50)
    calls = []
    r = evident.verify(p, progress=lambda done, total: calls.append((done, total)))
    assert r.valid
    assert calls, "progress was never called"
    size = p.stat().st_size
    assert all(total == size and 0 <= done <= size for done, total in calls)
    assert calls[-1][0] == size


def test_progress_exception_is_raised_after_verify(tmp_path: Path) -> None:
    p = tmp_path / "p.jsonl"
    write(p, 3)

    def boom(done: int, total: int) -> None:
        raise KeyboardInterrupt("stop")

    with pytest.raises(KeyboardInterrupt):
        evident.verify(p, progress=boom)


def test_genesis_only_log(log_path: Path) -> None:
    evident.AuditLog(log_path).close()
    r = evident.verify(log_path)
    assert r.valid and r.entries == 0 and r.head is not None and r.head.seq == 0


@pytest.mark.parametrize("threads", [100000, 2**64 - 1, 3])
def test_absurd_thread_counts_verify_quietly(
    any_log_path: Path, threads: int, capfd: pytest.CaptureFixture[str]
) -> None:
    head = write(any_log_path, 20)
    capfd.readouterr()
    r = evident.verify(any_log_path, all=True, threads=threads)
    assert r.valid and r.entries == 20 and r.head == head
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")  # the library never prints (no panic message)



def test_in_flight_wait(log_path: Path) -> None:
    """``in_flight_wait``: 0 reports a torn tail without a pause; a long
    wait sees a writer complete the record (in flight, the log valid)."""
    write(log_path, 3)
    clean = log_path.read_bytes()
    with evident.AuditLog(log_path) as log:
        log.log("V", "a3")
    record = log_path.read_bytes()[len(clean):]
    first, rest = record[: len(record) // 2], record[len(record) // 2:]
    log_path.write_bytes(clean + first)
    r = evident.verify(log_path, in_flight_wait=0)
    assert not r.valid and r.only_torn_tail and r.in_flight_tail is None
    assert r.offset == len(clean) and r.entries == 3
    for bad in (-1, float("nan"), "1", True, [1]):
        with pytest.raises(evident.InvalidArgumentError, match="in_flight_wait"):
            evident.verify(log_path, in_flight_wait=bad)

    def finish() -> None:
        time.sleep(0.2)
        with open(log_path, "ab") as f:
            f.write(rest)

    seen = []
    for _ in range(10):  # a loaded machine may run the writer before verify looks
        log_path.write_bytes(clean + first)
        t = threading.Thread(target=finish)
        t.start()
        r = evident.verify(log_path, in_flight_wait=30)
        t.join()
        assert r.valid, (r.kind, r.error)
        seen.append(r.in_flight_tail)
        if r.in_flight_tail == len(first):
            assert r.entries == 3
            break
        assert r.entries == 4 and r.in_flight_tail is None
    assert seen[-1] == len(first), seen


def test_in_flight_wait_needs_abi_1_13(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(log_path, 1)
    missing = ["evident_verify_options_set_in_flight_wait_ms"]
    monkeypatch.setattr(evident._native, "_in_flight_wait_missing", missing)
    with pytest.raises(evident.UnsupportedError, match="1.13"):
        evident.verify(log_path, in_flight_wait=0)
    assert evident.verify(log_path).valid
