"""Error mapping: every exception class is reachable from a real failure and
carries the library's message (naming the file), status code and name."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest

import evident
from conftest import KEY_A, KEY_B, VECTORS, run_python
from evident import errors


def vector_copy(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copyfile(VECTORS / name, dst)
    return dst


def assert_library_error(e: evident.EvidentError, cls: type, status: int, path: Path) -> None:
    # I/O errors are raised as the subclass that is also the built-in
    # OSError subclass of their errno (FileNotFoundError, ...).
    assert type(e) is cls or (cls is evident.EvidentIOError and isinstance(e, cls)), type(e)
    assert e.status == status
    assert e.status_name and e.status_name.startswith("EVIDENT_STATUS_")
    assert str(path) in str(e), str(e)
    assert "\n" not in str(e)


def test_hierarchy() -> None:
    classes = [
        evident.EvidentIOError,
        evident.MalformedLogError,
        evident.CorruptLogError,
        evident.WrongKeyError,
        evident.LockedError,
        evident.InvalidArgumentError,
        evident.TooLargeError,
        evident.PoisonedError,
        evident.UnsupportedError,
        evident.ClosedError,
        evident.InternalError,
    ]
    for cls in classes:
        assert issubclass(cls, evident.EvidentError)
    assert issubclass(evident.EvidentIOError, OSError)
    assert issubclass(evident.InvalidArgumentError, ValueError)
    assert [errors.error_class(s) for s in range(1, 11)] == classes[:10]
    assert errors.error_class(101) is evident.InvalidArgumentError
    assert errors.error_class(102) is evident.InternalError
    assert errors.error_class(100) is evident.InternalError
    assert errors.error_class(9999) is evident.InternalError


def test_missing_file_is_io_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    for call in (
        lambda: evident.verify(missing),
        lambda: evident.read_entries(missing),
        lambda: evident.AuditLog(missing, create=False),
    ):
        with pytest.raises(evident.EvidentIOError) as e:
            call()
        assert_library_error(e.value, evident.EvidentIOError, 1, missing)
        assert isinstance(e.value, OSError)


def test_io_errors_are_the_matching_oserror_subclass(tmp_path: Path) -> None:
    import errno
    import os

    missing = tmp_path / "missing.jsonl"
    for call in (
        lambda: evident.verify(missing),
        lambda: evident.read_entries(missing),
        lambda: evident.AuditLog(missing, create=False),
        lambda: evident.AuditLog(tmp_path / "no-dir" / "a.jsonl"),
    ):
        with pytest.raises(FileNotFoundError) as e:
            call()
        assert isinstance(e.value, evident.EvidentIOError)
        assert e.value.errno == errno.ENOENT
        assert e.value.strerror == os.strerror(errno.ENOENT)
        assert e.value.filename is not None and e.value.filename.endswith(".jsonl")
        assert e.value.status == 1
        assert str(tmp_path) in str(e.value) and "\n" not in str(e.value)
    # A directory where a log is expected.
    d = tmp_path / "adir"
    d.mkdir()
    with pytest.raises(IsADirectoryError) as e:
        evident.verify(d)
    assert isinstance(e.value, evident.EvidentIOError)
    assert e.value.errno == errno.EISDIR and e.value.filename == str(d)
    # An existing log opened with create_new: FileExistsError.
    log = tmp_path / "a.jsonl"
    evident.AuditLog(log).close()
    with pytest.raises(FileExistsError) as e:
        evident.AuditLog(log, create_new=True)
    assert e.value.errno == errno.EEXIST and e.value.filename == str(log)
    # Unreadable file (not as root, who may read anything).
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        log.chmod(0)
        with pytest.raises(PermissionError) as e:
            evident.verify(log)
        assert e.value.errno == errno.EACCES
    # The exceptions survive pickling (multiprocessing) with their fields.
    import pickle

    with pytest.raises(FileNotFoundError) as e:
        evident.verify(missing)
    again = pickle.loads(pickle.dumps(e.value))
    assert type(again) is type(e.value)
    assert (again.errno, again.filename, str(again)) == (
        e.value.errno,
        e.value.filename,
        str(e.value),
    )


def test_deeply_nested_details_are_an_invalid_argument(tmp_path: Path) -> None:
    deep: list = []
    cur = deep
    for _ in range(100_000):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    text = "[" * 100_000 + "]" * 100_000
    with evident.AuditLog(tmp_path / "a.jsonl") as log:
        for details in (deep, {"x": deep}):
            with pytest.raises(evident.InvalidArgumentError) as e:
                log.log("E", "a", details=details)
            assert "details" in str(e.value) and "nested too deeply" in str(e.value)
        with pytest.raises(evident.InvalidArgumentError):
            log.log("E", "a", details=text)
        # the JSON path (a NUL in a field) too
        with pytest.raises(evident.InvalidArgumentError):
            log.log("E", "a\x00b", details=text)
        with pytest.raises(evident.InvalidArgumentError):
            log.append_json({"event_type": "E", "action": "a", "details": deep})
        assert log.head().seq == 0


def test_malformed_file(tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("this is not an audit log\n")
    with pytest.raises(evident.MalformedLogError) as e:
        evident.AuditLog(p)
    assert_library_error(e.value, evident.MalformedLogError, 2, p)
    assert p.read_text() == "this is not an audit log\n"  # untouched
    with pytest.raises(evident.MalformedLogError):
        evident.read_entries(p)
    # verify reports it as a finding, not an exception
    r = evident.verify(p)
    assert not r.valid and r.kind == "malformed"
    assert r.not_a_log  # "not an evident log", not tampering
    ok = tmp_path / "ok.jsonl"
    evident.AuditLog(ok).close()
    assert not evident.verify(ok).not_a_log


def test_corrupt_last_record_refuses_append(tmp_path: Path) -> None:
    p = vector_copy("last_hash_mismatch.jsonl", tmp_path)
    before = p.read_bytes()
    with pytest.raises(evident.CorruptLogError) as e:
        evident.AuditLog(p)
    assert_library_error(e.value, evident.CorruptLogError, 3, p)
    assert p.read_bytes() == before


def test_wrong_key(tmp_path: Path) -> None:
    p = tmp_path / "k.jsonl"
    evident.AuditLog(p, key=KEY_A).close()
    for key in (KEY_B, None):
        with pytest.raises(evident.WrongKeyError) as e:
            evident.AuditLog(p, key=key)
        assert_library_error(e.value, evident.WrongKeyError, 4, p)
    q = tmp_path / "keyless.jsonl"
    evident.AuditLog(q).close()
    with pytest.raises(evident.WrongKeyError):
        evident.AuditLog(q, key=KEY_A)


def test_locked(log_path: Path) -> None:
    with evident.AuditLog(log_path) as holder:
        holder.log("L")
        with pytest.raises(evident.LockedError) as e:
            evident.AuditLog(log_path, lock_timeout=0)
        assert_library_error(e.value, evident.LockedError, 5, log_path)
        with pytest.raises(evident.LockedError):
            evident.AuditLog(log_path, lock_timeout=0.05)
    # reading and verifying do not need the lock
    assert evident.verify(log_path).valid


def test_locked_by_another_process_names_it(log_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys, evident
        log = evident.AuditLog(sys.argv[1])
        print("ready", flush=True)
        sys.stdin.readline()
        log.close()
        """
    )
    import subprocess

    p = run_python(code, str(log_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        with pytest.raises(evident.LockedError) as e:
            evident.AuditLog(log_path)
        assert str(p.pid) in str(e.value)
    finally:
        assert p.stdin is not None
        p.stdin.write("\n")
        p.stdin.close()
        assert p.wait(timeout=60) == 0


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"details": "{not json"}, "details"),
        ({"details": {"x": float("nan")}}, "details"),
        ({"details": {"x": object()}}, "details"),
        ({"duration_ms": float("inf")}, ""),
        ({"ts": "not a time"}, "ts"),
        ({"action": "\udc80"}, ""),  # a lone surrogate is not UTF-8
        ({"details": "\x00"}, "NUL"),
    ],
)
def test_invalid_entry_arguments(log_path: Path, kwargs: dict, fragment: str) -> None:
    with evident.AuditLog(log_path) as log:
        with pytest.raises(evident.InvalidArgumentError) as e:
            log.log("E", **kwargs)
        assert fragment in str(e.value)
        assert log.head().seq == 0
        assert log.log("E").seq == 1  # the log is still usable


def test_invalid_details_from_library_has_status(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        with pytest.raises(evident.InvalidArgumentError) as e:
            log.log("E", details="[1,")
        assert e.value.status == 6 and e.value.status_name == "EVIDENT_STATUS_INVALID_ARGUMENT"
        with pytest.raises(evident.InvalidArgumentError) as e:
            log.append_json({"event_type": "E", "bogus": 1})
        assert "bogus" in str(e.value)
        with pytest.raises(evident.InvalidArgumentError):
            log.append_json("[1, 2]")
        with pytest.raises(evident.InvalidArgumentError) as e:
            log.log("\udcff")
        assert e.value.status == 101


@pytest.mark.parametrize(
    "kwargs",
    [
        {"framing": "xml"},
        {"durability": "maybe"},
        {"lock": "none"},
        {"alg": "md5"},
        {"key": b"short"},
        {"key": "a str key is not bytes"},
        {"lock_timeout": -1},
        {"buffer_size": -5},
        {"actor": 42},
    ],
)
def test_invalid_open_arguments(log_path: Path, kwargs: dict) -> None:
    with pytest.raises(evident.InvalidArgumentError):
        evident.AuditLog(log_path, **kwargs)


def test_invalid_query_and_verify_arguments(log_path: Path) -> None:
    evident.AuditLog(log_path).close()
    bad_queries = [
        evident.Query(limit=-1),
        evident.Query(seq_min=2**64),
        evident.Query(since="last week"),
        evident.Query(until=__import__("datetime").datetime(2024, 1, 1)),  # naive
    ]
    for q in bad_queries:
        with pytest.raises(evident.InvalidArgumentError):
            evident.read_entries(log_path, q)
    with pytest.raises(evident.InvalidArgumentError):
        evident.read_entries(log_path, {"limit": 1})  # type: ignore[arg-type]
    with pytest.raises(evident.InvalidArgumentError):
        evident.verify(log_path, expected_head="zz")
    with pytest.raises(evident.InvalidArgumentError):
        evident.verify(log_path, expected_head=(1, "not hex"))
    with pytest.raises(evident.InvalidArgumentError):
        evident.verify(log_path, threads=-1)
    with pytest.raises(evident.InvalidArgumentError):
        evident.verify(log_path, key=b"short")


def test_too_large(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        with pytest.raises(evident.TooLargeError) as e:
            log.log("BIG", details={"blob": "x" * (16 * 1024 * 1024 + 1)})
        assert_library_error(e.value, evident.TooLargeError, 7, log_path)
        assert log.log("SMALL").seq == 1
    assert evident.verify(log_path).entries == 1


def test_unsupported(tmp_path: Path) -> None:
    p = vector_copy("unsupported_version.jsonl", tmp_path)
    with pytest.raises(evident.UnsupportedError) as e:
        evident.AuditLog(p)
    assert_library_error(e.value, evident.UnsupportedError, 9, p)


def test_closed(log_path: Path) -> None:
    log = evident.AuditLog(log_path)
    log.close()
    with pytest.raises(evident.ClosedError):
        log.log("X")
    it = evident.iter_entries(log_path)
    it.close()
    assert list(it) == []  # a closed iterator is exhausted


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_poisoned_after_a_failed_write(log_path: Path) -> None:
    # A child process limits its file size, so that an append fails with
    # EFBIG; the log is then poisoned until it is reopened.
    code = textwrap.dedent(
        """
        import resource, signal, sys, evident
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        log = evident.AuditLog(sys.argv[1])
        log.log("OK", "before")
        size = __import__("os").path.getsize(sys.argv[1])
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, resource.RLIM_INFINITY))
        try:
            log.log("BIG", details={"x": "y" * 1000})
        except evident.EvidentIOError as e:
            print("first:", type(e).__name__, e.status)
        try:
            log.log("OK", "after")
        except evident.PoisonedError as e:
            print("second:", type(e).__name__, e.status, sys.argv[1] in str(e))
        try:
            log.close()
        except evident.EvidentError as e:
            print("close:", type(e).__name__)
        """
    )
    import subprocess

    p = run_python(code, str(log_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    lines = out.splitlines()
    assert "first: EvidentIOError 1" in lines, out
    assert "second: PoisonedError 8 True" in lines, out
    # Reopening recovers: the failed append left at most a torn tail.
    with evident.AuditLog(log_path) as log:
        assert log.head().seq == 1
        log.log("OK", "reopened")
    assert [e.action for e in evident.read_entries(log_path)] == ["before", "reopened"]
    assert evident.verify(log_path).valid


_BIG_READ = r'''
import resource, sys
import evident
from evident import Query
path, what, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
reads = {
    "forward": lambda: evident.read_entries(path),
    "records": lambda: evident.read_records(path),
    "newest": lambda: evident.read_entries(path, Query(newest_first=True)),
    "last": lambda: evident.read_entries(path, Query(newest_first=True, limit=2)),
    "iterate": lambda: [e.details for e in evident.iter_entries(path)],
}
with open("/proc/self/statm") as f:
    size = int(f.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (size + (mib << 20), resource.RLIM_INFINITY))
try:
    got = reads[what]()
    print("read", len(got))
except MemoryError:
    print("MemoryError")
except evident.EvidentError as e:
    print("refused:", type(e).__name__, e)
'''


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as Linux applies it")
@pytest.mark.parametrize("what", ["forward", "records", "newest", "last", "iterate"])
def test_reading_a_large_entry_with_memory_refused_is_an_error_not_an_abort(
    tmp_path: Path, what: str
) -> None:
    """An 8 MiB entry read while the allocator refuses the memory for it
    (an address-space limit a little above the process's size): an error
    (``EvidentError`` naming the file, or Python's ``MemoryError``), the
    interpreter alive. Before, the library's buffers were infallible
    allocations: "memory allocation of N bytes failed", SIGABRT."""
    import subprocess

    path = tmp_path / "big.jsonl"
    with evident.AuditLog(path) as log:
        log.log("BIG", "big", details={"x": "y" * (8 << 20)})
        log.log("OK", "small")
    outcomes = []
    for mib in (6, 12, 20, 30, 45, 200):
        p = run_python(_BIG_READ, str(path), what, str(mib),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (mib, p.returncode, out, err[-2000:])
        outcomes.append(out.strip())
        if out.startswith("refused:"):
            assert str(path) in out, out
    # The smallest limits refuse the read; with room enough, it works.
    assert outcomes[0].startswith(("refused:", "MemoryError")), outcomes
    assert outcomes[-1] == "read 2", outcomes


_BIG_APPEND = r'''
import json, resource, sys
import evident
path, mib = sys.argv[1], int(sys.argv[2])
log = evident.AuditLog(path)
log.log("OK", "before")
text = json.dumps({"event_type": "BIG", "action": "b", "details": {"x": "z" * (8 << 20)}})
with open("/proc/self/statm") as f:
    size = int(f.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (size + (mib << 20), resource.RLIM_INFINITY))
try:
    log.append_json(text)
    print("appended")
except MemoryError:
    print("MemoryError")
except evident.EvidentError as e:
    print("refused:", type(e).__name__, e)
# The limit lifted, the log goes on: nothing of a refused append was kept.
resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
log.log("OK", "after")
log.close()
r = evident.verify(path)
print("valid", r.valid, r.entries)
'''


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as Linux applies it")
def test_appending_a_large_entry_with_memory_refused_is_an_error_not_an_abort(
    tmp_path: Path,
) -> None:
    """An 8 MiB event appended (``append_json``) while the allocator refuses
    the memory to build its record: an ``EvidentIOError`` naming the file,
    nothing of it written, and the log goes on. Before, the record's buffer
    and the parsed details were infallible allocations: SIGABRT."""
    import subprocess

    outcomes = []
    for mib in (8, 16, 24, 32, 200):
        path = tmp_path / f"big{mib}.jsonl"
        p = run_python(_BIG_APPEND, str(path), str(mib),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (mib, p.returncode, out, err[-2000:])
        first, last = out.strip().splitlines()
        outcomes.append(first)
        if first.startswith("refused:"):
            assert "EvidentIOError" in first and str(path) in first, first
            assert last == "valid True 2", out
        elif first == "appended":
            assert last == "valid True 3", out
    assert outcomes[0].startswith(("refused:", "MemoryError")), outcomes
    assert outcomes[-1] == "appended", outcomes
