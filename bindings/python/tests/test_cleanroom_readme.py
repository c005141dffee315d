"""Clean-room acceptance checks of the top-level README.md.

Written from the README alone (not from the other tests): each test runs one
of the README's examples or documented claims as a user would (the `evident`
command from ``$EVIDENT_CLI``, the Python package) and checks what the README
says it does: output, files, exit codes, errors.
"""

import json
import logging
import os
import shutil
import subprocess
import sys

import pytest

import evident

CLI = os.environ.get("EVIDENT_CLI") or shutil.which("evident")
needs_cli = pytest.mark.skipif(not CLI, reason="set EVIDENT_CLI to the evident command")


def ev(*args, input=None, check=None):
    """Runs `evident ARGS...`; returns the CompletedProcess (text)."""
    r = subprocess.run(
        [CLI, *args], input=input, capture_output=True, text=True, timeout=60
    )
    if check is not None:
        assert r.returncode == check, (args, r.returncode, r.stdout, r.stderr)
    return r


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def make_log(name="audit.jsonl", n=4):
    heads = []
    for i in range(n):
        r = ev("append", name, "--event-type", "ACTION_EXECUTED", "--action",
               f"step{i}", "--session", f"s{i % 2}", check=0)
        heads.append(r.stdout.strip())
    return heads


# --- "The `evident` command" -------------------------------------------------


@needs_cli
def test_append_prints_seq_hash_and_verify_exit_codes(cwd):
    r = ev("append", "audit.jsonl", "--event-type", "ACTION_EXECUTED", "--action",
           "load_trace", "--session", "s1", "--details", '{"file":"scope.bin"}', check=0)
    seq, _, h = r.stdout.strip().partition(":")
    assert seq == "1" and len(h) == 64
    ev("verify", "audit.jsonl", check=0)
    head = json.loads(ev("head", "audit.jsonl", "--json", check=0).stdout)
    assert head["head"] == r.stdout.strip() and head["entries"] == 1
    doc = json.loads(ev("verify", "audit.jsonl", "--expect-head", head["head"],
                        "--all", "--json", check=0).stdout)
    assert doc["valid"] is True
    wrong = "1:" + ("0" * 64)
    ev("verify", "audit.jsonl", "--expect-head", wrong, check=1)
    ev("verify", "missing.jsonl", check=2)


@needs_cli
def test_not_a_log_is_exit_2_and_json_errors(cwd):
    (cwd / "empty.jsonl").write_bytes(b"")
    (cwd / "other.json").write_text('{"a": 1}\n')
    (cwd / "rand.bin").write_bytes(os.urandom(300))
    for f in ("empty.jsonl", "other.json", "rand.bin"):
        r = ev("verify", f, check=2)
        assert "not an evident log" in r.stderr
    r = ev("verify", "missing.jsonl", "--json", check=2)
    err = json.loads(r.stderr.strip().splitlines()[-1])["error"]
    assert err["kind"] == "io" and err["path"] == "missing.jsonl" and "seq" in err
    r = ev("verify", "--json", "--bogus", check=2)
    assert json.loads(r.stderr.strip())["error"]["kind"] == "usage"


@needs_cli
def test_tamper_torn_tail_and_repair(cwd):
    make_log("a.jsonl")
    data = (cwd / "a.jsonl").read_bytes()
    # a torn tail: reported distinctly, repair moves it into a sidecar
    (cwd / "torn.jsonl").write_bytes(data[:-20])
    doc = json.loads(ev("verify", "torn.jsonl", "--json", check=1).stdout)
    assert doc["status"] == "torn_tail"
    ev("repair", "torn.jsonl", check=0)
    assert any(p.name.startswith("torn.jsonl.torn-") for p in cwd.iterdir())
    ev("verify", "torn.jsonl", check=0)
    # damage in the middle: verify exit 1; repair (even --force) changes nothing
    (cwd / "mid.jsonl").write_bytes(data.replace(b'"step1"', b'"stepX"'))
    ev("verify", "mid.jsonl", check=1)
    ev("repair", "mid.jsonl", check=1)
    assert (cwd / "mid.jsonl").read_bytes() == data.replace(b'"step1"', b'"stepX"')
    # a damaged end: append refuses, repair --force moves it aside
    (cwd / "end.jsonl").write_bytes(data.replace(b'"step3"', b'"stepZ"'))
    ev("append", "end.jsonl", "--event-type", "E", "--action", "x", check=1)
    ev("repair", "end.jsonl", check=1)
    ev("repair", "end.jsonl", "--force", check=0)
    assert json.loads(ev("head", "end.jsonl", "--json", check=0).stdout)["entries"] == 3


@needs_cli
def test_read_commands_several_logs_and_stdin(cwd):
    make_log("a.jsonl")
    ev("convert", "a.jsonl", "b.evl", "--to", "binary", check=0)
    ha = json.loads(ev("head", "a.jsonl", "--json").stdout)["head"]
    hb = json.loads(ev("head", "b.evl", "--json").stdout)["head"]
    assert ha == hb
    ev("verify", "a.jsonl", "b.evl", check=0)
    docs = json.loads(ev("verify", "--json", "a.jsonl", "b.evl", check=0).stdout)
    assert [d["path"] for d in docs] == ["a.jsonl", "b.evl"]
    docs = json.loads(ev("stats", "--json", "a.jsonl", "b.evl", check=0).stdout)
    assert isinstance(docs, list) and len(docs) == 2
    ev("verify", "a.jsonl", "missing.jsonl", check=2)  # the worst status
    lines = ev("export", "a.jsonl", "b.evl", "--format", "jsonl", check=0).stdout.splitlines()
    assert len(lines) == 8 and lines[0].startswith('{"file":"a.jsonl",')
    assert lines[4].startswith('{"file":"b.evl",')
    one = ev("export", "a.jsonl", "--format", "jsonl", check=0).stdout.splitlines()
    assert one[0].startswith('{"seq":1,')
    csv = ev("export", "a.jsonl", "b.evl", "--format", "csv", check=0).stdout
    assert csv.splitlines()[0].startswith("file,seq,")
    r = ev("verify", "-", input=(cwd / "a.jsonl").read_text(), check=0)
    assert "<stdin>" in r.stdout
    for since in ("1h", "30m", "2d", "1h 30m", "2h ago", "today", "yesterday"):
        out = ev("cat", "a.jsonl", "--since", since, "--json", check=0).stdout
        assert len(out.splitlines()) == 4, since
    assert ev("cat", "a.jsonl", "--since", "now", "--json", check=0).stdout == ""
    r = ev("tail", "a.jsonl", "-n", "20", "--session", "s1", check=0)
    assert len(r.stdout.splitlines()) == 2 and "not checked" in r.stderr
    assert ev("tail", "a.jsonl", "--json", check=0).stderr == ""
    ev("follow", "-", input="", check=2)
    ev("follow", "a.jsonl", "b.evl", "--from-seq", "2", check=2)


@needs_cli
def test_export_csv_and_damaged_record(cwd):
    ev("append", "f.jsonl", "--event-type", "E", "--action", '=HYPERLINK("x")', check=0)
    csv = ev("export", "f.jsonl", "--format", "csv", check=0).stdout
    assert '"=HYPERLINK(""x"")"' in csv  # the value exactly, RFC 4180 quoting
    make_log("a.jsonl")
    bad = (cwd / "a.jsonl").read_bytes().replace(b'"action":"step2"', b'"action":step2"')
    (cwd / "bad.jsonl").write_bytes(bad)
    ev("export", "f.jsonl", "bad.jsonl", "--format", "csv", "-o", "out.csv", check=1)
    assert not (cwd / "out.csv").exists()


@needs_cli
def test_terminal_escapes_in_human_output(cwd):
    ev("append", "e.jsonl", "--event-type", "E", "--action", "a\x1b]0;t\x07b\u202ec", check=0)
    out = ev("cat", "e.jsonl", "--color", "never", check=0).stdout
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\u001b" in out and "\\u202e" in out
    raw = ev("cat", "e.jsonl", "--json", check=0).stdout
    assert json.loads(raw)["action"] == "a\x1b]0;t\x07b\u202ec"
    colored = ev("cat", "e.jsonl", "--color", "always", check=0).stdout
    assert "\x1b[" in colored
    env = dict(os.environ, NO_COLOR="1")
    r = subprocess.run([CLI, "cat", "e.jsonl", "--color", "always"], env=env,
                       capture_output=True, text=True)
    assert "\x1b[" in r.stdout  # always: also when NO_COLOR is set


@needs_cli
def test_key_files(cwd):
    (cwd / "hex.key").write_text("00112233445566778899aabbccddeeff\n")
    (cwd / "short.key").write_text("0011223344556677")
    (cwd / "odd.key").write_text("0011223344556677889")
    (cwd / "raw.key").write_bytes(b"a-raw-key-of-20-byte")
    (cwd / "rawshort.key").write_bytes(b"short-raw")
    (cwd / "big.key").write_bytes(b"a" * 5000)
    ev("append", "k.jsonl", "--key-file", "hex.key", "--event-type", "E", "--action", "a", check=0)
    ev("append", "r.jsonl", "--key-file", "raw.key", "--event-type", "E", "--action", "a", check=0)
    for k in ("short.key", "odd.key", "rawshort.key", "big.key"):
        ev("append", "x.jsonl", "--key-file", k, "--event-type", "E", "--action", "a", check=2)
    ev("verify", "k.jsonl", "--key-file", "hex.key", check=0)
    doc = json.loads(ev("verify", "k.jsonl", "--json", check=1).stdout)
    assert doc["violations"][0]["kind"] == "wrong_key"
    ev("verify", "k.jsonl", "--key-file", "raw.key", check=1)
    ev("verify", "k.jsonl", "--key-file", "/dev/null", check=2)


@needs_cli
def test_completions_man_and_compliance_check(cwd):
    for shell in ("bash", "zsh", "fish", "powershell", "elvish"):
        assert ev("completions", shell, check=0).stdout
    assert ev("man", check=0).stdout.startswith(".ie")
    ev("man", "--dir", "man1", check=0)
    assert (cwd / "man1" / "evident.1").exists()
    assert (cwd / "man1" / "evident-verify.1").exists()
    (cwd / "data.csv").write_text("name,email,age\nAlice,alice@example.com,30\n")
    ev("compliance-check", "data.csv", "--regulation", "gdpr", check=1)
    json.loads(ev("compliance-check", "data.csv", "--regulation", "gdpr", "--json", check=1).stdout)
    (cwd / "clean.csv").write_text("x,y\n1,2\n")
    ev("compliance-check", "clean.csv", "--regulation", "gdpr", check=0)


@needs_cli
def test_checkpoints_and_witness_walkthrough(cwd):
    make_log("audit.jsonl", n=45)
    ev("keygen", "--name", "example.com/audit", "-o", "log.key", check=0)
    ev("keygen", "--name", "example.com/witness", "--witness", "-o", "w.key", check=0)
    ev("checkpoint", "audit.jsonl", "--key", "log.key", "-o", "cp-old", check=0)
    assert (cwd / "audit.jsonl.checkpoints").exists()
    ev("prove", "audit.jsonl", "--seq", "42", "--checkpoint", "cp-old", "-o", "p42", check=0)
    ev("verify-proof", "p42", "--pubkey", "log.key.pub", "--log", "audit.jsonl", check=0)
    # Without --log or --origin there is no origin to expect (spec/checkpoints.md rule 8a).
    ev("verify-proof", "p42", "--pubkey", "log.key.pub", check=2)
    (cwd / "req0").write_bytes(b"old 0\n\n" + (cwd / "cp-old").read_bytes())
    ev("witness", "--store", "wdir", "--key", "w.key", "--log-key", "log.key.pub", "req0",
       "--cosigned", "cp-w0", check=0)
    make_log("audit.jsonl", n=3)
    ev("checkpoint", "audit.jsonl", "--key", "log.key", "-o", "cp", check=0)
    ev("prove", "audit.jsonl", "--consistency", "cp-old", "cp", "-o", "req", check=0)
    ev("witness", "--store", "wdir", "--key", "w.key", "--log-key", "log.key.pub", "req",
       "--cosigned", "cp-w", check=0)
    for extra in ([], ["--incremental"]):
        ev("verify", "audit.jsonl", "--checkpoint", "cp-w", "--pubkey", "log.key.pub",
           "--witness-key", "w.key.pub", "--min-witnesses", "1", *extra, check=0)
    r = ev("witness", "--store", "wdir", "--key", "w.key", "--log-key", "log.key.pub", "req0",
           "--cosigned", "x", check=1)
    assert "409" in r.stderr and "send a proof from" in r.stderr
    lines = (cwd / "audit.jsonl").read_bytes().splitlines(keepends=True)
    (cwd / "cut.jsonl").write_bytes(b"".join(lines[:-2]))
    ev("verify", "cut.jsonl", "--checkpoint", "cp-w", "--pubkey", "log.key.pub", check=1)


# --- "From Python" and the compat examples ------------------------------------


def test_python_example(cwd):
    with evident.AuditLog("audit.jsonl", durability="group") as log:
        head = log.log("ACTION_EXECUTED", "load_trace", session_id="s1",
                       details={"file": "scope.bin", "samples": 1_000_000})

    result = evident.verify("audit.jsonl", expected_head=head)
    assert (result.valid, result.entries) == (True, 1)
    es = list(evident.read_entries("audit.jsonl", evident.Query(newest_first=True, limit=10)))
    assert [(e.seq, e.action, e.details) for e in es] == [
        (1, "load_trace", {"file": "scope.bin", "samples": 1_000_000})]
    assert es[0].ts.isoformat().endswith("+00:00")


def test_io_errors_are_builtin_exceptions(cwd):
    with pytest.raises(FileNotFoundError) as ei:
        evident.AuditLog("no/such/dir/a.jsonl")
    e = ei.value
    assert isinstance(e, evident.EvidentIOError)
    assert e.errno == 2 and e.strerror and e.filename == "no/such/dir/a.jsonl"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_rules(cwd):
    log = evident.AuditLog("fork.jsonl")
    log.log("E", "parent")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            log.log("E", "child")
            msg = b"no error"
        except evident.EvidentError as ex:
            msg = type(ex).__name__.encode()
        os.write(w, msg)
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(w)
    assert os.read(r, 100) == b"ForkedError"
    log.close()
    assert evident.verify("fork.jsonl").entries == 1
    # AuditHandler reopens in the child by itself (shared mode: both write)
    h = evident.AuditHandler("h.jsonl", lock="shared")
    lg = logging.getLogger("cleanroom-readme-fork")
    lg.addHandler(h)
    lg.setLevel(logging.INFO)
    try:
        lg.info("parent")
        pid = os.fork()
        if pid == 0:
            lg.info("child")
            h.close()
            os._exit(0)
        os.waitpid(pid, 0)
        lg.info("parent again")
    finally:
        lg.removeHandler(h)
        h.close()
    res = evident.verify("h.jsonl")
    assert res.valid and res.entries == 3


def test_record_bounds(cwd):
    deep = {}
    cur = deep
    for _ in range(126):
        cur["a"] = {}
        cur = cur["a"]
    with evident.AuditLog("lim.jsonl") as log:
        log.log("E", "ok", details=deep)  # 127 levels
        with pytest.raises(evident.EvidentError):
            log.log("E", "too deep", details={"a": deep})
        with pytest.raises(evident.EvidentError):
            log.log("E", "nan", details={"x": float("nan")})
        log.log("E", "big", details={"x": 2 ** 70})
    last = list(evident.read_entries("lim.jsonl", evident.Query(newest_first=True, limit=1)))[0]
    assert last.details == {"x": float(2 ** 70)}  # integers beyond 64 bits: doubles


def test_shared_mode_rolled_back(cwd):
    a = evident.AuditLog("rb.jsonl", lock="shared")
    a.log("E", "one")
    a.log("E", "two")
    assert evident.verify("rb.jsonl").valid  # readers take no lock
    lines = (cwd / "rb.jsonl").read_bytes().splitlines(keepends=True)
    (cwd / "rb.jsonl").write_bytes(b"".join(lines[:-1]))
    with pytest.raises(evident.EvidentError) as ei:
        a.log("E", "three")
    assert type(ei.value).__name__ == "RolledBackError"


def test_openparallax_example(cwd):
    from evident.compat.openparallax import (AuditLogger, EventType, Query, read_entries,
                                             verify_integrity)

    with AuditLogger("./audit.jsonl") as logger:
        logger.log(event_type=EventType.ACTION_PROPOSED, action_type="run_command",
                   session_id="sess-001", details={"command": "ls -la"})
        logger.log(event_type=EventType.ACTION_BLOCKED, action_type="run_command",
                   session_id="sess-001",
                   details={"command": "rm -rf /", "reason": "denied by policy"})
    result = verify_integrity("./audit.jsonl")
    assert (result.valid, result.entries) == (True, 2)
    blocked = read_entries("./audit.jsonl",
                           Query(session_id="sess-001", event_type=EventType.ACTION_BLOCKED))
    assert len(blocked) == 1 and blocked[0].details["reason"] == "denied by policy"
    if CLI:
        out = ev("cat", "audit.jsonl", "--json", check=0).stdout.splitlines()
        assert json.loads(out[1])["event_type"] == "ACTION_BLOCKED"


@needs_cli
def test_rtgs_example_and_reports(cwd, monkeypatch):
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(cwd / "logs"))
    from evident.compat.rtgs import log_custom_operation

    with log_custom_operation("custom_analysis", "statistical_summary") as logger:
        logger.add_result("mean_temperature", 21.4)
        logger.add_note("Statistical summary of temperature data")
    with log_custom_operation("gridded-data", "extract",
                              parameters={"zb": 2, "area": "mn"}) as logger:
        logger.add_result("rows", 10)
    log = cwd / "logs" / "audit.jsonl"
    ev("verify", str(log), check=0)
    ev("report", str(log), "-o", "reports", check=0)
    md = list((cwd / "reports").glob("*.md"))
    assert len(md) == 1 and "## Summary" in md[0].read_text()
    ev("report", str(log), "--by", "week", "-o", "weekly", check=0)
    assert list((cwd / "weekly").glob("*W*.md"))
    ev("report", "logs/", "--format", "html", "-o", "report.html", check=0)
    html = (cwd / "report.html").read_text()
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org", "")
    ev("report", "logs/", "--format", "pdf", "-o", "report.pdf", check=0)
    assert (cwd / "report.pdf").read_bytes().startswith(b"%PDF")
    ev("reproduce", "reports/", "--program", "rtgs", "-o", "again.sh", check=0)
    sh = (cwd / "again.sh").read_text()
    assert "set -e" in sh and 'rtgs gridded-data extract \\\n  --zb "2" \\\n  --area "mn"' in sh
    ev("reproduce", str(log), "--format", "python", "-o", "again.py", check=0)
    compile((cwd / "again.py").read_text(), "again.py", "exec")
    r = subprocess.run([sys.executable, "-m", "evident.compat.rtgs", "recent"],
                       capture_output=True, text=True, env=os.environ.copy())
    assert r.returncode == 0 and "extract" in r.stdout


@needs_cli
def test_reproduce_treats_the_log_as_data(cwd):
    ev("append", "h.jsonl", "--json", json.dumps({
        "event_type": "tool_operation", "action": "run", "source": "tool", "success": True,
        "details": {"parameters": {"x": "a\x1bb"}, "command": "ls\ntouch PWNED"}}), check=0)
    ev("reproduce", "h.jsonl", "-o", "s.sh", check=0)
    sh = (cwd / "s.sh").read_text()
    assert "$'a\\x1bb'" in sh and "\ntouch PWNED" not in sh
    ev("append", "bad.jsonl", "--json", json.dumps({
        "event_type": "tool_operation", "action": "run", "source": "--evil",
        "details": {"parameters": {}}}), check=0)
    ev("reproduce", "bad.jsonl", "-o", "b.sh", check=2)
    assert not (cwd / "b.sh").exists()


def test_secureml_example(cwd):
    from evident.compat.secureml import AuditTrail, ReportGenerator, get_audit_logs

    audit = AuditTrail(operation_name="preprocessing", log_dir="audit_logs",
                       context={"project": "credit_scoring"}, regulations=["GDPR"])
    audit.log_data_access(dataset_name="customers", columns_accessed=["age"], num_records=2,
                          purpose="data_preparation", user="analyst_123")
    audit.close(status="completed")
    ReportGenerator().generate_audit_report(logs=get_audit_logs(log_dir="audit_logs"),
                                            output_file="audit_report.html", title="Audit")
    assert (cwd / "audit_report.html").exists()
    res = evident.verify("audit_logs/preprocessing.jsonl")
    assert res.valid and res.entries == 3


# --- "Session container" and "Switching from TraceKit" ------------------------


@needs_cli
def test_session_example_and_commands(cwd):
    np = pytest.importorskip("numpy")
    session = evident.Session(name="Power Rail Analysis")
    t = np.linspace(0, 1e-3, 100_000)
    session.add_trace("5V_RAIL", 5 + 0.02 * np.sin(2 * np.pi * 1e3 * t), sample_rate=1e8,
                      units="V")
    session.annotate("Transient response", time_range=(1e-4, 2e-4), layer="analysis")
    session.record_measurement("ripple_vpp", 0.04, unit="V", trace_name="5V_RAIL")
    with evident.AuditLog("audit.jsonl") as audit:
        session.save("power.evs", audit_log=audit)

    session = evident.load_session("power.evs")
    rail = session.get_trace("5V_RAIL").data
    assert rail.shape == (100_000,)
    session.annotation_layers["analysis"].locked = True
    with pytest.raises(evident.EvidentError):
        session.annotate("x", time_range=(0, 1e-5), layer="analysis")
    session.save(compress=True)
    assert [v.version for v in evident.session_versions("power.evs")] == [1, 2]
    entry = list(evident.read_entries("audit.jsonl"))[0]
    assert len(entry.details["commit"]) == 64

    assert "5V_RAIL" in ev("session", "info", "power.evs", check=0).stdout
    json.loads(ev("session", "info", "power.evs", "--version", "1", "--json", check=0).stdout)
    assert len(ev("session", "versions", "power.evs", check=0).stdout.splitlines()) == 2
    ev("session", "export", "power.evs", "--out", "dir", "--format", "npy", check=0)
    assert (cwd / "dir" / "session.json").exists() and (cwd / "dir" / "5V_RAIL.npy").exists()
    ev("session", "export", "power.evs", "--out", "dir", "--format", "npy", check=2)
    ev("session", "export", "power.evs", "--out", "dir", "--format", "npy", "--force", check=0)
    ev("session", "verify", "power.evs", check=0)
    data = (cwd / "power.evs").read_bytes()
    (cwd / "torn.evs").write_bytes(data[:-7])
    ev("session", "verify", "torn.evs", check=0)  # a torn tail leaves exit 0
    ev("session", "verify", "missing.evs", check=2)
    r = ev("verify", "power.evs", check=2)
    assert "evident session" in r.stderr
    ev("session", "compact", "power.evs", check=0)
    assert len(ev("session", "versions", "power.evs", check=0).stdout.splitlines()) == 1


@needs_cli
def test_tracekit_example(cwd):
    np = pytest.importorskip("numpy")
    tm = pytest.importorskip("tm_data_types")
    wf = tm.AnalogWaveform()
    x = np.arange(100_000)
    wf.y_axis_values = (np.sin(2 * np.pi * x / 1000) * 10000).astype(np.int16)
    wf.y_axis_spacing = 1 / 10000
    wf.x_axis_spacing = 1e-6
    tm.write_file("power_supply.wfm", wf)

    import evident.compat.tracekit as tk

    session = tk.Session(name="Power Rail Analysis")
    trace = session.load_trace("power_supply.wfm", name="5V_RAIL")
    session.record_measurement("frequency", tk.frequency(trace), unit="Hz",
                               trace_name="5V_RAIL")
    session.save("power_analysis.tks")
    script = session.history.to_script()
    assert "load_trace" in script and "measure_frequency" in script
    compile(script, "script.py", "exec")

    audit = tk.AuditTrail(secret_key=b"compliance-secret-key")
    audit.record_action("measure_thd", {"result": tk.thd(trace), "unit": "%"})
    assert audit.verify_integrity()
    audit.export_audit_log("audit.json")
    doc = json.loads((cwd / "audit.json").read_text())
    assert doc["entries"][0]["previous_hash"] == "GENESIS"
    assert abs(tk.frequency(trace) - 1000.0) < 1e-6

    r = ev("measure", "power_analysis.tks", "--trace", "5V_RAIL", "--what",
           "frequency,rise_time", "--json", check=0)
    assert abs(json.loads(r.stdout)["5V_RAIL"]["frequency"]["value"] - 1000.0) < 1e-6
