"""Clean-room acceptance tests of the Python binding documentation.

Every example of bindings/python/README.md and docs/python-session.md, and
the claims of the public docstrings (help()), transcribed and checked as an
outside tester would: written from the documents only.
"""

import array
import copy
import datetime as dt
import json
import logging
import math
import os
import pickle
import sys
import threading

import pytest

import evident

UTC = dt.timezone.utc


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------
# README "Use"
# --------------------------------------------------------------------------


def test_readme_use_example(cwd, capsys):
    with evident.AuditLog("audit.jsonl", durability="sync") as log:
        head = log.log("ACTION_EXECUTED", "load_trace", session_id="s1",
                       details={"file": "scope.bin"}, success=True)

    result = evident.verify("audit.jsonl", expected_head=head)
    print(result.valid, result.entries)            # True 1
    for e in evident.read_entries("audit.jsonl", evident.Query(newest_first=True, limit=10)):
        print(e.seq, e.ts.isoformat(), e.event_type, e.action, e.details)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "True 1"
    seq, ts, et, action, details = out[1].split(" ", 4)
    assert (seq, et, action) == ("1", "ACTION_EXECUTED", "load_trace")
    assert details == "{'file': 'scope.bin'}"
    assert dt.datetime.fromisoformat(ts).tzinfo is not None
    assert isinstance(head, evident.Head) and head == (1, head.hash)
    assert head.seq == 1 and len(head.hash) == 64 and head.hash == head.hash.lower()


def test_auditlog_members(cwd):
    log = evident.AuditLog("a.jsonl", actor="alice", host="bench")
    try:
        h1 = log.log("E", "a", details='{"x": 1}')  # details as JSON text
        h2 = log.append("E", "b", details={"y": [1, 2]})  # append == log
        h3 = log.append_json({"event_type": "E", "action": "c", "details": {"z": 1}})
        h4 = log.append_json('{"event_type": "E", "action": "d"}')
        assert [h.seq for h in (h1, h2, h3, h4)] == [1, 2, 3, 4]
        log.sync()
        assert log.head() == h4
        assert log.recovery.created is True and log.recovery.torn == []
        assert log.path == "a.jsonl"
        assert len(log.log_id) == 32 and int(log.log_id, 16) >= 0
        assert log.key_id in (None, "")
        assert log.framing == "jsonl"
        assert log.alg == "sha256"
        with pytest.raises(evident.InvalidArgumentError):
            log.append_json({"event_type": "E", "bogus": 1})
    finally:
        log.close()
    log.close()  # twice is fine
    assert log.closed
    with pytest.raises(evident.ClosedError):
        log.log("E", "after close")
    es = evident.read_entries("a.jsonl")
    assert [e.details for e in es] == [{"x": 1}, {"y": [1, 2]}, {"z": 1}, {}]
    assert {e.actor for e in es} == {"alice"} and {e.host for e in es} == {"bench"}


def test_keyed_binary_log_and_wrong_key(cwd):
    key = b"k" * 32
    with evident.AuditLog("a.evl", key=key) as log:
        log.log("E", "x")
        assert log.framing == "binary"
        assert log.alg == "hmac-sha256"
        assert log.key_id
    assert evident.verify("a.evl", key=key).valid
    r = evident.verify("a.evl", key=b"w" * 32)
    assert not r.valid and r.kind == "wrong_key"
    with pytest.raises(evident.WrongKeyError):
        evident.AuditLog("a.evl", key=b"w" * 32)


def test_verify_result_fields_and_bool(cwd):
    with evident.AuditLog("a.jsonl") as log:
        for i in range(3):
            head = log.log("E", str(i))
    r = evident.verify("a.jsonl", expected_head=head, threads=1,
                       progress=lambda d, t: None)
    assert bool(r) is True and r.valid
    assert r.entries == 3 and r.head == head
    assert (r.line, r.offset, r.seq, r.kind, r.error) == (0, 0, None, None, "")
    assert r.violations == []
    # tamper with a line: invalid, first violation described
    lines = open("a.jsonl", encoding="utf-8").read().splitlines(True)
    assert '"action":"1"' in lines[2]
    lines[2] = lines[2].replace('"action":"1"', '"action":"X"')
    open("a.jsonl", "w", encoding="utf-8").write("".join(lines))
    r = evident.verify("a.jsonl", all=True)
    assert bool(r) is False and not r.valid
    assert r.kind == "hash_mismatch" and r.line == 3 and r.error
    assert r.violations and isinstance(r.violations[0], evident.Violation)
    assert r.violations_total >= 1


def test_verify_expected_head_detects_truncation(cwd):
    with evident.AuditLog("a.jsonl") as log:
        log.log("E", "1")
        head = log.log("E", "2")
    data = open("a.jsonl", "rb").read().splitlines(True)
    open("a.jsonl", "wb").write(b"".join(data[:-1]))
    r = evident.verify("a.jsonl", expected_head=head)
    assert not r.valid and r.kind == "head_mismatch"
    r = evident.verify("a.jsonl", expected_log_id="0" * 32)
    assert not r.valid and r.kind == "wrong_log_id"


def test_batch_append_all_or_nothing(cwd):
    with evident.AuditLog("a.jsonl") as log:
        heads = log.log_many([{"event_type": "E", "action": "a", "details": {"i": 1}},
                              '{"event_type": "E", "action": "b"}',
                              {"event_type": "E", "action": "c", "details": '{"j": 2}'}])
        assert [h.seq for h in heads] == [1, 2, 3]
        assert all(isinstance(h, evident.Head) for h in heads)
        with pytest.raises(evident.InvalidArgumentError):
            log.append_many([{"event_type": "E", "action": "d"}, {"event_type": "E", "nope": 1}])
        assert log.head().seq == 3
    assert [e.action for e in evident.read_entries("a.jsonl")] == ["a", "b", "c"]


def test_thread_shared_log(cwd):
    log = evident.AuditLog("a.jsonl", durability="group")
    errors = []

    def work(t):
        try:
            for i in range(25):
                log.log("E", f"{t}-{i}")
        except Exception as e:  # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    log.close()
    assert not errors
    r = evident.verify("a.jsonl")
    assert r.valid and r.entries == 100


def test_close_waits_for_appends_in_flight(cwd):
    log = evident.AuditLog("a.jsonl", durability="sync")
    outcomes = []

    def work():
        for i in range(200):
            try:
                log.log("E", str(i))
                outcomes.append("ok")
            except evident.ClosedError:
                outcomes.append("closed")

    t = threading.Thread(target=work)
    t.start()
    while not outcomes:
        pass
    log.close()
    t.join()
    ok = outcomes.count("ok")
    assert set(outcomes) <= {"ok", "closed"}
    r = evident.verify("a.jsonl")
    assert r.valid and r.entries == ok


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def _write_many(path, n=20):
    with evident.AuditLog(path) as log:
        for i in range(n):
            log.log("EVEN" if i % 2 == 0 else "ODD", f"a{i}", session_id=f"s{i % 3}",
                    details={"i": i}, success=(i % 4 != 0), duration_ms=float(i))


def test_read_paths(cwd):
    _write_many("a.jsonl")
    last = evident.read_entries("a.jsonl", evident.Query(newest_first=True, limit=5))
    assert isinstance(last, evident.EntryList) and isinstance(last, list)
    assert [e.seq for e in last] == [20, 19, 18, 17, 16]
    assert isinstance(last[0], evident.Entry)
    e = last[0]
    assert e.ts.tzinfo is not None and e.details == {"i": 19}
    assert e.success is True and e.duration_ms == 19.0 and e.otr is False
    assert len(e.hash) == 64 and len(e.prev) == 64
    odd = evident.read_entries("a.jsonl", evident.Query(event_type="ODD", session_id="s1"))
    assert [x.seq for x in odd] == [2, 8, 14, 20]
    rng = evident.read_entries("a.jsonl", evident.Query(seq_min=3, seq_max=5))
    assert [x.seq for x in rng] == [3, 4, 5]
    # since inclusive, until exclusive
    ts3 = rng[0].ts
    ts5 = rng[2].ts
    sel = evident.read_entries("a.jsonl", evident.Query(since=ts3, until=ts5))
    assert sel[0].seq == 3 and all(x.ts < ts5 for x in sel)
    recs = last.records()
    assert isinstance(recs, list) and recs[0]["seq"] == 20 and isinstance(recs[0]["ts"], str)
    assert recs[0]["ts"].endswith("Z")
    assert evident.read_records("a.jsonl", evident.Query(newest_first=True, limit=5)) == recs
    it = evident.iter_entries("a.jsonl")
    assert isinstance(it, evident.EntryIterator)
    assert [x.seq for x in it] == list(range(1, 21))
    with evident.iter_entries("a.jsonl") as it2:
        next(it2)
    assert it2.closed


def test_read_pandas(cwd):
    pd = pytest.importorskip("pandas")
    _write_many("a.jsonl", 6)
    df = evident.read_entries("a.jsonl").to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 6
    assert str(df["ts"].dt.tz) == "UTC"
    assert df["details"].iloc[0] == {"i": 0}
    df2 = evident.read_dataframe("a.jsonl", evident.Query(limit=2))
    assert list(df2["seq"]) == [1, 2]


def test_iterator_damaged_record_continues(cwd):
    _write_many("a.jsonl", 4)
    lines = open("a.jsonl", "rb").read().splitlines(True)
    lines[2] = b"{not json\n"  # entry 2 (line 1 is the genesis)
    open("a.jsonl", "wb").write(b"".join(lines))
    it = evident.iter_entries("a.jsonl")
    got = []
    errors = 0
    while True:
        try:
            got.append(next(it).seq)
        except StopIteration:
            break
        except evident.MalformedLogError:
            errors += 1
    assert errors == 1 and got == [1, 3, 4]


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

ERROR_NAMES = ["EvidentIOError", "MalformedLogError", "CorruptLogError", "WrongKeyError",
               "LockedError", "InvalidArgumentError", "TooLargeError", "PoisonedError",
               "UnsupportedError", "ClosedError", "NotFoundError", "LayerLockedError",
               "ForkedError", "RolledBackError", "InternalError"]


def test_error_classes_exist():
    for n in ERROR_NAMES:
        cls = getattr(evident, n)
        assert issubclass(cls, evident.EvidentError), n
    assert issubclass(evident.NotFoundError, KeyError)
    assert issubclass(evident.EvidentIOError, OSError)


def test_missing_log_is_file_not_found(cwd):
    with pytest.raises(FileNotFoundError) as ei:
        evident.AuditLog("missing.jsonl", create=False)
    e = ei.value
    assert isinstance(e, evident.EvidentIOError) and isinstance(e, evident.EvidentError)
    assert e.errno == 2 and e.strerror and "missing.jsonl" in e.filename
    assert e.status is not None and e.status_name
    with pytest.raises(FileNotFoundError):
        evident.verify("missing.jsonl")
    with pytest.raises(FileNotFoundError):
        evident.read_entries("missing.jsonl")


def test_is_a_directory(cwd):
    os.mkdir("d")
    with pytest.raises(IsADirectoryError) as ei:
        evident.verify("d")
    assert isinstance(ei.value, evident.EvidentIOError)


def test_permission_error(cwd):
    if os.geteuid() == 0:
        pytest.skip("root ignores permissions")
    os.mkdir("ro")
    os.chmod("ro", 0o500)
    try:
        with pytest.raises(PermissionError) as ei:
            evident.AuditLog("ro/a.jsonl")
        assert isinstance(ei.value, evident.EvidentIOError)
    finally:
        os.chmod("ro", 0o700)


def test_create_new_and_locked(cwd):
    with evident.AuditLog("a.jsonl") as log:
        log.log("E")
        with pytest.raises(evident.LockedError) as ei:
            evident.AuditLog("a.jsonl")
        assert "a.jsonl" in str(ei.value)
    with pytest.raises(evident.EvidentError):
        evident.AuditLog("a.jsonl", create_new=True)


def test_deep_details_invalid_argument(cwd):
    d = {}
    cur = d
    for _ in range(5000):
        cur["x"] = {}
        cur = cur["x"]
    with evident.AuditLog("a.jsonl") as log:
        with pytest.raises(evident.InvalidArgumentError):
            log.log("E", details=d)
        lst = []
        for _ in range(5000):
            lst = [lst]
        with pytest.raises(evident.InvalidArgumentError):
            log.log("E", details={"l": lst})


def test_verify_not_a_log(cwd):
    open("notes.txt", "w").write("hello world\n")
    r = evident.verify("notes.txt")
    assert r.not_a_log is True and not r.valid
    open("empty.jsonl", "w").close()
    assert evident.verify("empty.jsonl").not_a_log is True


def test_naive_datetime_refused(cwd):
    with evident.AuditLog("a.jsonl") as log:
        with pytest.raises(evident.InvalidArgumentError):
            log.log("E", ts=dt.datetime(2026, 1, 1))
        h = log.log("E", ts=dt.datetime(2026, 1, 1, tzinfo=UTC))
        assert h.seq == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_forked_error(cwd):
    log = evident.AuditLog("a.jsonl")
    log.log("E", "parent")
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            log.log("E", "child")
        except evident.ForkedError as e:
            code = 0 if "reopen it in the child after fork" in str(e) and str(os.getppid()) in str(e) else 3
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    log.log("E", "parent2")
    log.close()
    assert [e.action for e in evident.read_entries("a.jsonl")] == ["parent", "parent2"]


# --------------------------------------------------------------------------
# AuditHandler
# --------------------------------------------------------------------------


def test_audit_handler(cwd):
    log = evident.AuditLog("a.jsonl")
    h = evident.AuditHandler(log)
    logger = logging.getLogger("cleanroom.handler")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(h)
    try:
        logger.info("loaded %s", "scope.bin", extra={"session_id": "s9", "rows": 42,
                                                    "success": True, "duration_ms": 1.5})
        try:
            1 / 0
        except ZeroDivisionError:
            logger.exception("boom")
        logger.warning("w", extra={"event_type": "CUSTOM", "action": "act", "actor": "bob"})
    finally:
        logger.removeHandler(h)
        h.close()
    assert not log.closed  # a log given as an object stays open
    log.close()
    es = evident.read_entries("a.jsonl")
    assert len(es) == 3
    e = es[0]
    assert e.event_type == "INFO" and e.action == "loaded scope.bin"
    assert e.source == "cleanroom.handler" and e.session_id == "s9"
    assert e.success is True and e.duration_ms == 1.5
    assert e.details["rows"] == 42
    for k in ("logger", "level", "module", "function", "line", "thread", "process"):
        assert k in e.details, k
    assert es[1].event_type == "ERROR" and "ZeroDivisionError" in (es[1].error or "")
    assert (es[2].event_type, es[2].action, es[2].actor) == ("CUSTOM", "act", "bob")


def test_audit_handler_from_path_and_raise_errors(cwd):
    h = evident.AuditHandler("h.jsonl", durability="buffered")
    rec = logging.LogRecord("n", logging.INFO, __file__, 1, "msg", None, None)
    h.handle(rec)
    h.close()
    assert evident.verify("h.jsonl").entries == 1
    # raise_errors: a failure reaches the caller
    log = evident.AuditLog("x.jsonl")
    h2 = evident.AuditHandler(log, raise_errors=True)
    log.close()
    with pytest.raises(evident.EvidentError):
        h2.handle(logging.LogRecord("n", logging.INFO, __file__, 1, "msg", None, None))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_audit_handler_prefork(cwd):
    h = evident.AuditHandler("p.jsonl", lock="shared")
    logger = logging.getLogger("cleanroom.prefork")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(h)
    try:
        logger.info("parent-before")
        pids = []
        for c in range(2):
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    logger.info("child-%d", c)
                except BaseException:
                    code = 1
                os._exit(code)
            pids.append(pid)
        for pid in pids:
            _, st = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(st) == 0
        logger.info("parent-after")
    finally:
        logger.removeHandler(h)
        h.close()
    actions = sorted(e.action for e in evident.read_entries("p.jsonl"))
    assert actions == ["child-0", "child-1", "parent-after", "parent-before"]
    assert evident.verify("p.jsonl").valid


# --------------------------------------------------------------------------
# Checkpoints (docstrings)
# --------------------------------------------------------------------------


def test_checkpoint_module_doctest(cwd):
    import evident.checkpoint as ck
    _write_many("audit.jsonl", 5)
    skey, vkey = evident.checkpoint.keygen("example.com/audit")
    cp = evident.checkpoint.create("audit.jsonl", skey)
    assert evident.checkpoint.verify("audit.jsonl", cp, vkey)["outcome"] == "match"
    assert len(ck.list_checkpoints("audit.jsonl")) == 1
    proof = ck.prove("audit.jsonl", 3, cp)
    assert ck.verify_proof(proof, vkey) == (True, None)
    with evident.AuditLog("audit.jsonl") as log:
        log.log("E", "more")
    cp2 = ck.create("audit.jsonl", skey)
    cons = ck.prove_consistency("audit.jsonl", cp, cp2)
    ok, why = ck.verify_proof(cons, vkey, cp)
    assert ok, why
    # truncation is detected against the newer checkpoint
    lines = open("audit.jsonl", "rb").read().splitlines(True)
    open("audit.jsonl", "wb").write(b"".join(lines[:-1]))
    assert ck.verify("audit.jsonl", cp2, vkey)["outcome"] == "truncated"


def test_auto_checkpoint(cwd):
    import evident.checkpoint as ck
    skey, vkey = ck.keygen("example.com/auto")
    with evident.AuditLog("a.jsonl", checkpoint=ck.AutoCheckpoint(skey, every_entries=2)) as log:
        for i in range(5):
            log.log("E", str(i))
        assert log.checkpoint_error() is None
    cps = ck.list_checkpoints("a.jsonl")
    # a checkpoint's size counts the genesis record: after entries 2 and 4, and at close
    sizes = [c["size"] for c in cps]
    assert sizes == [3, 5, 6]
    assert ck.verify("a.jsonl", cps[-1]["checkpoint"], vkey)["valid"]


# --------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------


def test_report_and_reproduce(cwd):
    _write_many("a.jsonl", 4)
    files = evident.report("a.jsonl", "out", format="md", by="day")
    assert files and all(os.path.exists(f.path if hasattr(f, "path") else f) for f in files)
    files = evident.report(["a.jsonl"], "r.html", format="html")
    assert os.path.getsize("r.html") > 0 and len(files) == 1
    info = evident.reproduce("a.jsonl", "replay.sh", program="tool")
    assert info["operation_count"] >= 1 and os.access("replay.sh", os.X_OK)
    files = evident.report_entries([e.record() for e in evident.read_entries("a.jsonl")], "e.html")
    assert os.path.getsize("e.html") > 0


# --------------------------------------------------------------------------
# Session container: README example
# --------------------------------------------------------------------------


def test_readme_session_example(cwd, capsys):
    session = evident.Session(name="Power Rail Analysis")
    session.metadata["dut"] = "PSU-001234"
    # numpy arrays, array.array, lists, raw bytes with dtype=, TraceKit traces
    session.add_trace("5V_RAIL", array.array("d", [5.01, 4.98, 5.02, 4.99]),
                      sample_rate=1e6, units="V")
    session.add_trace("ENABLE", [True, True, False, True], dtype="bit")
    session.annotate("Transient response", time_range=(1e-6, 2e-6), layer="analysis")
    session.record_measurement("ripple_vpp", 0.04, unit="V", trace_name="5V_RAIL")
    session.history.record("measure_ripple", {"trace": "5V_RAIL"}, result=0.04)
    with evident.AuditLog("audit.jsonl") as audit:   # the audit entry names the commit
        session.save("power.evs", audit_log=audit)
    commit1 = session.commit

    session = evident.load_session("power.evs")        # the newest complete version
    trace = session.get_trace("5V_RAIL")
    print(trace.dtype, len(trace), trace.sample_rate, trace.is_mapped)  # f64 4 1000000.0 True
    print(trace.data[0])          # numpy array over the file mapping (memoryview without numpy)
    print(session.get_measurements()["ripple_vpp"]["value"])            # 0.04
    session.annotation_layers["analysis"].locked = True                 # refuses changes now
    session.save(compress=True)                                         # version 2, zstd
    print([v.version for v in evident.session_versions("power.evs")])  # [1, 2]

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "f64 4 1000000.0 True"
    assert float(out[1]) == 5.01
    assert out[2] == "0.04"
    assert out[3] == "[1, 2]"
    np = pytest.importorskip("numpy")
    assert isinstance(trace.data, np.ndarray) and not trace.data.flags.writeable
    with pytest.raises(evident.LayerLockedError):
        session.annotate("x", time=1e-6, layer="analysis")
    with pytest.raises(evident.LayerLockedError):
        session.annotation_layers["analysis"].add(text="y", time=1e-6)
    # the audit entry names the commit
    [entry] = evident.read_entries("audit.jsonl")
    assert commit1 in json.dumps(entry.record())
    assert session.metadata["dut"] == "PSU-001234"
    loaded = evident.load_session("power.evs")
    # compress= applies to the traces a save writes; unchanged ones are reused
    assert loaded.version == 2 and not loaded.get_trace("5V_RAIL").compressed
    assert session.last_save.traces_written == 0 and session.last_save.traces_reused == 2
    assert loaded.get_trace("ENABLE").dtype == "bit"
    assert loaded.get_trace("ENABLE").to_list() == [True, True, False, True]
    v1 = evident.load_session("power.evs", version=1)
    assert v1.version == 1 and not v1.annotation_layers["analysis"].locked


def test_python_session_doc_example(cwd):
    samples = [0.0, 1.0, 0.5, 0.25]
    session = evident.Session(name="Power Supply Analysis")
    session.add_trace("CH1", samples, sample_rate=1e6)
    session.annotate("Voltage spike", time=1.5e-6)
    session.record_measurement("rise_time", 2.3e-9, unit="s")
    session.save("analysis.evs")
    session = evident.load_session("analysis.evs")
    assert session.name == "Power Supply Analysis"
    assert session.list_traces() == ["CH1"]
    assert session.get_trace("CH1").to_list() == samples
    [a] = session.get_annotations()
    assert a.text == "Voltage spike"
    assert session.get_measurements()["rise_time"]["unit"] == "s"


def test_session_metadata_constructor_and_props(cwd):
    s = evident.Session("m", metadata={"a": 1})
    assert s.metadata == {"a": 1}
    assert s.version is None and s.name == "m"
    assert s.created_at.tzinfo is not None and s.modified_at.tzinfo is not None
    s.metadata["nested"] = {"l": [1]}
    s.metadata["nested"]["l"].append(2)  # nested written through
    p = s.save("m.evs")
    assert str(p).endswith("m.evs") and s.version == 1 and len(s.commit) == 64
    assert str(s.path).endswith("m.evs")
    assert evident.load_session("m.evs").metadata == {"a": 1, "nested": {"l": [1, 2]}}
    d = copy.deepcopy(s.metadata)
    assert type(d) is dict and d == {"a": 1, "nested": {"l": [1, 2]}}
    assert type(pickle.loads(pickle.dumps(s.metadata))) is dict
    # a value JSON cannot hold is reported by the next save
    s.metadata["bad"] = object()
    with pytest.raises(evident.EvidentError):
        s.save()
    with evident.Session("ctx") as s2:
        s2.add_trace("t", [1.0])
        t = s2.get_trace("t")
    assert s2.closed and t.to_list() == [1.0]  # traces stay valid after close


def test_session_metadata_is_keyword(cwd):
    # docs/python-session.md said "Session(name, metadata=None)": metadata is keyword-only
    with pytest.raises(TypeError):
        evident.Session("m", {"a": 1})
    assert evident.Session().name == "Untitled Session"


def test_naive_datetime_in_session(cwd):
    s = evident.Session("n")
    with pytest.raises(evident.InvalidArgumentError):
        s.annotate("x", time=1.0, created_at=dt.datetime(2026, 1, 1))
    s.annotate("x", time=1.0, created_at=dt.datetime(2026, 1, 1, tzinfo=UTC))
    s.metadata["when"] = dt.datetime(2026, 1, 1)
    with pytest.raises(evident.InvalidArgumentError):
        s.save("n.evs")


def test_save_options_and_save_info(cwd):
    s = evident.Session("o")
    s.add_trace("t", list(range(1000)), dtype="i32")
    s.save("o.evs", compress=5, sync=False, lock_timeout=math.inf)
    info = s.last_save
    assert isinstance(info, evident.SaveInfo)
    assert info.version == 1 and info.traces_written == 1 and info.traces_reused == 0
    assert info.bytes_written > 0 and info.sample_bytes_written > 0 and len(info.commit) == 64
    s.record_measurement("m", 1)
    s.save()
    assert s.last_save.traces_written == 0 and s.last_save.traces_reused == 1
    with pytest.raises(evident.InvalidArgumentError):
        s.save(compress=23)
    s.save("other.evs", include_traces=False)
    assert evident.load_session("other.evs").list_traces() == []
    loaded = evident.load_session("o.evs")
    assert loaded.get_trace("t").compressed
    assert loaded.get_trace("t").to_list() == list(range(1000))


def test_keyed_session(cwd):
    key = b"s" * 32
    s = evident.Session("k")
    s.add_trace("t", [1.0, 2.0])
    s.save("k.evs", key=key)
    with pytest.raises(evident.WrongKeyError):
        evident.load_session("k.evs", key=b"x" * 32)
    loaded = evident.load_session("k.evs", key=key)
    loaded.record_measurement("m", 2)
    loaded.save()  # default: the key it was loaded with
    assert [v.version for v in evident.session_versions("k.evs", key=key)] == [1, 2]
    assert evident.verify_session("k.evs", key=key).ok


def test_versions_compact_verify(cwd):
    s = evident.Session("v")
    s.add_trace("t", [1.0, 2.0, 3.0])
    s.save("v.evs")
    c1 = s.commit
    s.record_measurement("m", 1)
    s.save()
    vs = s.versions()
    assert [v.version for v in vs] == [1, 2] and isinstance(vs[0], evident.VersionInfo)
    assert vs[0].commit == c1 and vs[0].ts.tzinfo is not None
    with pytest.raises(evident.NotFoundError) as ei:
        evident.load_session("v.evs", version=3)
    assert isinstance(ei.value, KeyError)
    c2 = s.commit
    info = evident.compact_session("v.evs")
    assert isinstance(info, evident.CompactInfo)
    vs = evident.session_versions("v.evs")
    assert len(vs) == 1
    assert vs[0].compacted_from == {"version": 2, "commit": c2}
    rep = evident.verify_session("v.evs")
    assert isinstance(rep, evident.SessionReport) and rep.ok and rep.problems == []
    for k in ("records", "data_frames", "bytes", "sample_bytes_checked", "problem_details"):
        assert k in rep.details, k
    # damage a byte in the middle: problems reported, not raised
    data = bytearray(open("v.evs", "rb").read())
    data[len(data) // 2] ^= 0xFF
    open("v.evs", "wb").write(bytes(data))
    rep = evident.verify_session("v.evs")
    assert rep.ok is False and rep.problems
    with pytest.raises(evident.EvidentError):
        evident.verify_session("nothing.evs")
    open("junk.evs", "wb").write(b"not a session at all")
    with pytest.raises(evident.EvidentError):
        evident.load_session("junk.evs")


def test_traces_types_and_sources(cwd):
    np = pytest.importorskip("numpy")
    s = evident.Session("t")
    for name in ["f64", "f32", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "bool"]:
        s.add_trace(name, [1, 0, 1], dtype=name)
        assert s.get_trace(name).dtype == name
    for alias, code in [("float64", "f64"), ("double", "f64"), ("float32", "f32"),
                        ("int16", "i16"), ("uint8", "u8"), ("uint16", "u16")]:
        s.add_trace("a_" + alias, [1, 2], dtype=alias)
        assert s.get_trace("a_" + alias).dtype == code
    # lists: bools -> bool, ints -> i64, else f64
    s.add_trace("lb", [True, False])
    s.add_trace("li", [1, 2])
    s.add_trace("lf", [1, 2.5])
    assert [s.get_trace(n).dtype for n in ("lb", "li", "lf")] == ["bool", "i64", "f64"]
    # raw bytes with dtype; bit packed with length
    s.add_trace("raw", (1).to_bytes(2, "little") + (2).to_bytes(2, "little"), dtype="u16")
    assert s.get_trace("raw").to_list() == [1, 2]
    s.add_trace("bits", bytes([0b00000101]), dtype="bit", length=3)
    t = s.get_trace("bits")
    assert len(t) == 3 and t.to_list() == [True, False, True] and t.bits() == [True, False, True]
    assert t.raw.tobytes() == bytes([0b101]) if hasattr(t.raw, "tobytes") else bytes(t.raw) == bytes([5])
    # numpy, numpy dtypes, float/int/bool
    s.add_trace("np", np.arange(4, dtype=np.int16))
    assert s.get_trace("np").dtype == "i16"
    s.add_trace("npconv", np.arange(4, dtype=np.int16), dtype=np.float64)
    assert s.get_trace("npconv").dtype == "f64"
    with pytest.raises(evident.EvidentError):
        s.add_trace("lossy", np.array([1.5, 2.5]), dtype="i32")  # only without loss
    s.add_trace("pyint", [1, 2], dtype=int)
    assert s.get_trace("pyint").dtype == "i64"
    s.add_trace("pybool", [1, 0], dtype=bool)
    assert s.get_trace("pybool").dtype == "bool"
    # typed buffer
    s.add_trace("arr", array.array("h", [7, 8]))
    assert s.get_trace("arr").dtype == "i16"
    # evident.Trace, and an object with .data
    tr = evident.Trace.from_data([1.0, 2.0], name="x", sample_rate=10.0, units="A")
    s.add_trace("fromtrace", tr)
    got = s.get_trace("fromtrace")
    assert (got.sample_rate, got.units) == (10.0, "A")

    class Fake:
        data = np.array([1.0, 2.0, 3.0])
        metadata = {"sample_rate": 50.0, "units": "mV", "probe": "x10"}

    s.add_trace("fake", Fake())
    got = s.get_trace("fake")
    assert got.sample_rate == 50.0 and got.units == "mV"
    s.add_trace("fake2", Fake(), sample_rate=100.0)  # keyword overrides
    assert s.get_trace("fake2").sample_rate == 100.0
    assert set(evident.DTYPES) >= {"f64", "f32", "i8", "i16", "i32", "i64", "u8", "u16",
                                   "u32", "u64", "bool", "bit"}
    assert "np" in s.traces and isinstance(s.traces["np"], evident.Trace)
    s.remove_trace("np")
    assert "np" not in s.list_traces()
    with pytest.raises(evident.NotFoundError):
        s.remove_trace("np")
    with pytest.raises(KeyError):
        s.get_trace("np")


def test_trace_data_without_copy_and_lifetime(cwd):
    s = evident.Session("l")
    s.add_trace("t", [1.0, 2.0, 3.0], sample_rate=2.0, start_time=1.0)
    s.save("l.evs")
    s.close()
    s = evident.load_session("l.evs")
    t = s.get_trace("t")
    data = t.data
    raw = t.raw
    s.close()
    t.close()
    assert list(data) == [1.0, 2.0, 3.0]
    assert len(bytes(raw)) == 24
    t2 = evident.load_session("l.evs").get_trace("t")
    assert t2.duration == 1.5 and list(t2.time_vector()) == [1.0, 1.5, 2.0]
    assert t2.nbytes == 24
    t2.verify()


def test_measure(cwd):
    n = 1000
    rate = 1e5
    sig = [1.0 if (i // 50) % 2 == 0 else 0.0 for i in range(n)]  # 1 kHz square
    s = evident.Session("meas")
    s.add_trace("sq", sig, sample_rate=rate)
    f = s.measure("sq", "frequency")
    assert abs(f - 1000.0) < 1.0
    t = s.get_trace("sq")
    assert abs(t.measure("duty_cycle") - 50.0) < 2
    assert abs(t.measure("period") - 1e-3) < 1e-5
    assert abs(t.measure("amplitude") - 1.0) < 1e-6
    for what in ("rise_time", "fall_time", "thd"):
        assert isinstance(t.measure(what), float)
    s.add_trace("flat", [1.0] * 10)
    assert math.isnan(s.measure("flat", "frequency"))
    ops = [e.operation for e in s.history.entries]
    assert "measure_frequency" in ops
    before = len(s.history.entries)
    t.measure("frequency")  # not recorded
    assert len(s.history.entries) == before


def test_load_trace_csv_records_history(cwd):
    open("cap.csv", "w").write("time,value\n0,1.0\n0.001,2.0\n0.002,3.0\n")
    s = evident.Session("lt")
    tr = s.load_trace("cap.csv")
    assert tr.name == "cap" and tr.to_list() == [1.0, 2.0, 3.0]
    assert s.list_traces() == ["cap"]
    e = s.history.entries[-1]
    assert e.operation == "load_trace"
    assert "cap.csv" in json.dumps(e.parameters)
    with pytest.raises(evident.EvidentError):
        s.load_trace("missing.csv", "m")
    assert s.history.entries[-1].operation == "load_trace"
    assert s.history.entries[-1].success is False
    s.history.auto_record = False
    n = len(s.history.entries)
    s.load_trace("cap.csv", "again")
    assert len(s.history.entries) == n
    import numpy as np
    np.save("a.npy", np.array([1, 2, 3], dtype=np.int32))
    tr = s.load_trace("a.npy", "npy")
    assert tr.dtype == "i32"


def test_annotations(cwd):
    s = evident.Session("an")
    kinds = {
        "region": dict(time_range=(1.0, 2.0), amplitude_range=(0.0, 1.0)),
        "range": dict(time_range=(1.0, 2.0)),
        "point": dict(time=1.5),
        "horizontal": dict(amplitude=0.5),
        "text": dict(),
    }
    for want, kw in kinds.items():
        a = s.annotate(want, layer="k", **kw)
        assert str(getattr(a.annotation_type, "value", a.annotation_type)) == want, want
    a = s.annotate("meta", time=3.0, layer="m", probe="x10", color="#ff0000")
    assert a.metadata == {"probe": "x10"}
    with pytest.raises(evident.InvalidArgumentError):
        s.annotate("bad", time_range=(2.0, 1.0))
    with pytest.raises(evident.InvalidArgumentError):
        s.annotate("bad", time=math.nan)
    got = s.get_annotations("k", time_range=(1.4, 1.6))
    assert sorted(x.text for x in got) == ["point", "range", "region"]
    assert len(s.get_annotations()) == 6
    layer = s.annotation_layers["k"]
    assert sorted(x.text for x in layer.find_at_time(1.5)) == ["point", "range", "region"]
    assert sorted(x.text for x in layer.find_in_range(0.0, 1.2)) == ["range", "region"]
    layer.color = "blue"
    layer.description = "d"
    layer.visible = False
    assert s.annotation_layers["k"].color == "blue"
    layer.locked = True
    with pytest.raises(evident.LayerLockedError):
        layer.clear()
    layer.description = "still changeable"  # properties may still change
    assert s.annotation_layers["k"].description == "still changeable"
    with pytest.raises(KeyError):
        s.annotation_layers["nope"]
    assert s.get_annotations("nope") == []  # unlike annotation_layers["nope"] (doubtful)
    with pytest.raises(evident.NotFoundError):
        s.remove_layer("nope")
    # a constructed layer: private until stored, then copied whole
    L = evident.AnnotationLayer("new", description="made", locked=False)
    L.add(text="p", time=0.1)
    L.locked = True
    s.annotation_layers["new"] = L
    stored = s.annotation_layers["new"]
    assert stored.locked and stored.description == "made" and [x.text for x in stored.annotations] == ["p"]
    s.save("an.evs")
    loaded = evident.load_session("an.evs")
    assert loaded.annotation_layers["new"].locked


def test_measurements_and_history(cwd):
    np = pytest.importorskip("numpy")
    s = evident.Session("mh")
    s.record_measurement("vpp", np.float64(0.5), unit="V", trace_name="CH1", probe="x1")
    s.record_measurement("vpp", 0.6, unit="V")
    s.record_measurement("list", [1, 2, {"a": np.int32(3)}])
    m = s.get_measurements()
    assert m["vpp"]["value"] == 0.6 and m["vpp"]["unit"] == "V"
    assert set(m["vpp"]) >= {"value", "unit", "trace_name", "timestamp"}
    assert m["list"]["value"] == [1, 2, {"a": 3}]
    assert s.get_measurements()["vpp"] == s.measurements["vpp"]
    h = s.history
    h.record("filter", {"z_last": 1, "a_first": 2, "obj": {"b": 1, "a": 2}}, result=3)
    h.record("bad op!", {}, success=False, error_message="boom")
    h.record("store", {"o": object()})
    e = h.entries[0]
    assert list(e.parameters) == ["z_last", "a_first", "obj"]
    assert list(e.parameters["obj"]) == ["a", "b"]  # members of an object come back sorted
    assert isinstance(h.entries[2].parameters["o"], str)
    assert [x.operation for x in h.find(success_only=True)] == ["filter", "store"]
    assert [x.operation for x in h.find(operation="filter")] == ["filter"]
    summ = h.summary()
    for k in ("total_operations", "successful", "failed", "total_duration_ms",
              "average_duration_ms", "operations", "first", "last"):
        assert k in summ, k
    assert summ["total_operations"] == 3 and summ["failed"] == 1
    script = h.to_script()
    assert "filter(z_last=1, a_first=2" in script
    assert "# " in script and "bad op!" in script
    s.save("mh.evs")
    loaded = evident.load_session("mh.evs")
    assert list(loaded.history.entries[0].parameters) == ["z_last", "a_first", "obj"]
    h.max_entries = 2
    assert len(h.entries) == 2 and h.entries[0].operation == "bad op!"
    own = evident.OperationHistory()
    own.record("x", {})
    assert len(own.entries) == 1


def test_session_shared_between_threads(cwd):
    s = evident.Session("th")
    errors = []

    def work(t):
        try:
            for i in range(20):
                s.add_trace(f"t{t}-{i}", [float(i)])
                s.annotate(f"{t}-{i}", time=float(i), layer=f"L{t}")
                s.get_trace(f"t{t}-{i}").to_list()
        except Exception as e:  # pragma: no cover
            errors.append(e)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert len(s.list_traces()) == 80 and len(s.get_annotations()) == 80
    s.save("th.evs")
    assert len(evident.load_session("th.evs").list_traces()) == 80


def test_summary_info_to_dict(cwd):
    s = evident.Session("sum")
    s.add_trace("t", [1.0])
    assert "sum" in s.summary()
    info = s.info()
    assert info["name"] == "sum"
    d = s.to_dict()
    json.dumps(d)


def test_trace_object_with_dict_metadata(cwd):
    # "an object with .data (TraceKit's traces): sample_rate, start_time, units and
    # JSON metadata are taken from it or its .metadata" -- a dict .metadata too
    class DictMeta:
        data = [1.0, 2.0, 3.0]
        metadata = {"sample_rate": 70.0, "start_time": 0.5, "units": "A", "probe": "x10"}

    s = evident.Session("dm")
    s.add_trace("c", DictMeta())
    t = s.get_trace("c")
    assert (t.sample_rate, t.start_time, t.units, t.metadata) == (70.0, 0.5, "A", {"probe": "x10"})

    class AttrMeta:
        data = [1.0]

        class metadata:
            sample_rate = 60.0
            units = "V"

    s.add_trace("b", AttrMeta())
    assert (s.get_trace("b").sample_rate, s.get_trace("b").units) == (60.0, "V")


def test_misc_documented_details(cwd):
    assert evident.library_path == os.environ.get("EVIDENT_LIBRARY", evident.library_path)
    # TooLargeError, lock_timeout
    with evident.AuditLog("b.jsonl") as log:
        with pytest.raises(evident.TooLargeError):
            log.log("E", details={"b": "x" * (17 << 20)})
        with pytest.raises(evident.LockedError):
            evident.AuditLog("b.jsonl", lock_timeout=0.1)
    # sample types: a C long by its size; bit data is an unpacked bool copy
    s = evident.Session("x")
    s.add_trace("l", array.array("l", [1, 2]))
    assert s.get_trace("l").dtype == {8: "i64", 4: "i32"}[array.array("l").itemsize]
    s.add_trace("b", [True, False, True], dtype="bit")
    t = s.get_trace("b")
    np = pytest.importorskip("numpy")
    assert t.data.dtype == np.bool_ and list(t.data) == [True, False, True]
    f64 = evident.DTYPES["f64"]
    assert (f64.code, f64.fmt, f64.typestr, f64.size) == (1, "d", "<f8", 8)
    # lazy is accepted
    open("cap.csv", "w").write("1.0\n2.0\n")
    assert s.load_trace("cap.csv", "lz", lazy=True).to_list() == [1.0, 2.0]
    # to_script: an operation that is not one public name is a comment
    s.history.record("not a name", {})
    s.history.record("_private", {})
    lines = [ln for ln in s.history.to_script().splitlines() if "not a name" in ln or "_private" in ln]
    assert lines and all(ln.lstrip().startswith("#") for ln in lines), lines
    # get_measurements carries **metadata
    s.record_measurement("m", 1, probe="x10")
    assert s.get_measurements()["m"]["probe"] == "x10"


def test_report_formats(cwd):
    _write_many("a.jsonl", 4)
    for by in ("day", "week", "tool"):
        assert evident.report("a.jsonl", f"md-{by}", by=by)
    since = dt.datetime(2000, 1, 1, tzinfo=UTC)
    evident.report("a.jsonl", "r.pdf", format="pdf", since=since, until="2999-01-01T00:00:00Z")
    assert open("r.pdf", "rb").read(5) == b"%PDF-"
    evident.report("a.jsonl", "s.html", format="html", source="nobody")
    assert os.path.getsize("s.html") > 0


def test_compat_modules_named_in_readme(cwd):
    import importlib
    import subprocess
    importlib.import_module("evident.compat.openparallax")
    tk = importlib.import_module("evident.compat.tracekit")
    for n in ("AuditTrail", "Session", "load_session", "WaveformTrace", "DigitalTrace", "frequency",
              "period", "amplitude", "rise_time", "fall_time", "duty_cycle", "thd", "load_trace"):
        assert hasattr(tk, n), n
    sm = importlib.import_module("evident.compat.secureml")
    for n in ("AuditTrail", "audit_function", "get_audit_logs", "ReportGenerator", "ComplianceAuditor"):
        assert hasattr(sm, n), n
    importlib.import_module("evident.compat.rtgs")
    env = dict(os.environ, EVIDENT_RTGS_DIR=str(cwd / "rtgs"))
    r = subprocess.run([sys.executable, "-m", "evident.compat.rtgs", "--help"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_torn_tail(cwd):
    _write_many("a.jsonl", 3)
    with open("a.jsonl", "ab") as f:
        f.write(b'{"seq":4,"ts":"2026-')  # an interrupted write
    assert [e.seq for e in evident.iter_entries("a.jsonl")] == [1, 2, 3]  # never a torn record
    r = evident.verify("a.jsonl")
    assert not r.valid and r.only_torn_tail and r.kind == "torn_tail"
    with evident.AuditLog("a.jsonl") as log:
        rec = log.recovery
        assert rec.created is False and len(rec.torn) == 1
        torn = rec.torn[0]
        assert isinstance(torn, evident.TornTail) and torn.length == 20 and os.path.exists(torn.sidecar)
        assert log.log("E").seq == 4
    assert evident.verify("a.jsonl").valid


def test_signatures_as_documented(cwd):
    s = evident.Session("x")
    s.save("x.evs")
    # README: load_session(path, *, version, key) -- keyword-only
    with pytest.raises(TypeError):
        evident.load_session("x.evs", 1)
    assert evident.load_session("x.evs", version=1).version == 1
    # README said "Entry dataclasses": Entry is an immutable object, not a dataclass
    import dataclasses
    _write_many("a.jsonl", 1)
    e = evident.read_entries("a.jsonl")[0]
    assert not dataclasses.is_dataclass(e)
    with pytest.raises(AttributeError):
        e.action = "x"
    assert e.record()["seq"] == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_audit_handler_prefork_exclusive_child_locked(cwd):
    # docstring: with the default exclusive lock a child's reopen fails with LockedError
    h = evident.AuditHandler("p.jsonl", raise_errors=True)
    logger = logging.getLogger("cleanroom.prefork.excl")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(h)
    try:
        logger.info("parent")
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                logger.info("child")
            except evident.LockedError:
                code = 0
            except BaseException:
                code = 2
            os._exit(code)
        _, st = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(st) == 0
        logger.info("parent2")
    finally:
        logger.removeHandler(h)
        h.close()
    assert [e.action for e in evident.read_entries("p.jsonl")] == ["parent", "parent2"]


def test_verify_progress_and_fields_round_trip(cwd):
    with evident.AuditLog("a.jsonl") as log:
        log.log("E", "x", otr=True, note="n", git_commit="abc", error="bad", source="tool",
                success=False, duration_ms=2.5, actor="bob", host="h")
    calls = []
    r = evident.verify("a.jsonl", progress=lambda done, total: calls.append((done, total)))
    assert r.valid and calls and calls[-1][0] == calls[-1][1] == os.path.getsize("a.jsonl")
    e = evident.read_entries("a.jsonl", evident.Query(since="2000-01-01T00:00:00Z"))[0]
    assert (e.otr, e.note, e.git_commit, e.error, e.source, e.success, e.duration_ms, e.actor, e.host) == \
        (True, "n", "abc", "bad", "tool", False, 2.5, "bob", "h")


def test_trace_data_without_numpy(cwd):
    import subprocess
    code = r'''
import sys; sys.modules["numpy"] = None
import array, evident
s = evident.Session("n")
s.add_trace("t", [1.0, 2.0, 3.0], sample_rate=2.0)
s.add_trace("b", [True, False, True], dtype="bit")
s.add_trace("i", array.array("h", [1, 2]))
s.save("n.evs")
s = evident.load_session("n.evs")
t = s.get_trace("t")
d = t.data
assert isinstance(d, memoryview) and d.readonly and d.format == "d" and d.tolist() == [1.0, 2.0, 3.0]
assert t.is_mapped and t.time_vector() == [0.0, 0.5, 1.0]
assert s.get_trace("i").data.format == "h" and s.get_trace("i").data.tolist() == [1, 2]
b = s.get_trace("b")
assert bytes(b.data) == bytes(b.raw) == bytes([5]) and b.bits() == [True, False, True]
print("ok")
'''
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_handler_threads_and_commit_delay(cwd):
    log = evident.AuditLog("t.jsonl", durability="group", commit_delay=0.001)
    h = evident.AuditHandler(log)
    logger = logging.getLogger("cleanroom.threads")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(h)
    try:
        ts = [threading.Thread(target=lambda t=t: [logger.info("t%d-%d", t, i) for i in range(25)])
              for t in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    finally:
        logger.removeHandler(h)
        h.close()
        log.close()
    r = evident.verify("t.jsonl")
    assert r.valid and r.entries == 100
    with pytest.raises(evident.InvalidArgumentError):
        evident.AuditLog("u.jsonl", durability="group", commit_delay=2.0)
