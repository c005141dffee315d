"""Clean-room acceptance checks of the `evident` CLI against its own help text.

Every check here was written from what `evident --help`, `evident help <cmd>` and
`evident <cmd> --help` print, and nothing else. A check marked xfail(strict=True)
documents a defect: the help says one thing and the CLI does another.
The CLI is taken from $EVIDENT_CLI (see conftest.cli_path).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest

from conftest import cli_path

EVIDENT = str(cli_path())
HEAD_RE = re.compile(r"^(\d+):([0-9a-f]{64})$")


def run(*args, input=None, timeout=30, env=None, cwd=None) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    return subprocess.run(
        [EVIDENT, *map(str, args)],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=e,
        cwd=cwd,
    )


def assert_clean_error(p: subprocess.CompletedProcess, rc: int = 2, names: str | None = None):
    """An error: the documented exit status, one-line `evident: ...` messages, no panic."""
    assert p.returncode == rc, (p.returncode, p.stdout, p.stderr)
    assert "panicked" not in p.stderr and "RUST_BACKTRACE" not in p.stderr, p.stderr
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert lines, "no error message"
    assert all(l.startswith("evident: ") for l in lines), p.stderr
    if names is not None:
        assert names in p.stderr, p.stderr


def append(log: Path, event_type="E", action="a", *extra) -> str:
    p = run("append", log, "--event-type", event_type, "--action", action, *extra)
    assert p.returncode == 0, p.stderr
    head = p.stdout.strip()
    assert HEAD_RE.match(head), head
    return head


def make_log(path: Path, n: int, *extra) -> Path:
    for i in range(n):
        append(path, "ACTION_EXECUTED", f"op{i}", "--session", "s1" if i % 2 else "s2", *extra)
    return path


def tamper_line(src: Path, dst: Path, line_no: int, old: str, new: str) -> Path:
    lines = src.read_text().split("\n")
    assert old in lines[line_no]
    lines[line_no] = lines[line_no].replace(old, new, 1)
    dst.write_text("\n".join(lines))
    return dst


# --------------------------------------------------------------------------- help itself


def top_level_commands() -> List[str]:
    out = run("--help").stdout
    block = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [l.split()[0] for l in block.splitlines() if l.startswith("  ") and l.split()]


def session_commands() -> List[str]:
    out = run("session", "--help").stdout
    block = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [l.split()[0] for l in block.splitlines() if l.startswith("  ") and l.split()]


def test_every_listed_command_has_help_and_help_subcommand_agrees():
    cmds = [c for c in top_level_commands() if c != "help"]
    assert len(cmds) == 25, cmds  # 25 with import-openparallax
    for c in cmds:
        a = run(c, "--help")
        b = run("help", c)
        assert a.returncode == 0 and b.returncode == 0, c
        assert a.stdout == b.stdout, c
        assert "Usage: evident " + c in a.stdout
    for c in [c for c in session_commands() if c != "help"]:
        a = run("session", c, "--help")
        b = run("help", "session", c)
        assert a.returncode == 0 and a.stdout == b.stdout, c


def test_version_and_short_help():
    p = run("--version")
    assert p.returncode == 0 and re.match(r"^evident \d+\.\d+\.\d+", p.stdout)
    assert run("-V").stdout == p.stdout
    short = run("-h")
    assert short.returncode == 0 and "Usage: evident [OPTIONS] <COMMAND>" in short.stdout


def test_unknown_command_and_missing_argument_are_usage_errors():
    assert_clean_error(run("no-such-command"), 2)
    assert_clean_error(run("verify"), 2)


def test_man_prints_roff_and_writes_one_page_per_command(tmp_path):
    p = run("man")
    assert p.returncode == 0 and p.stdout.lstrip().startswith(".") and ".TH evident 1" in p.stdout
    d = tmp_path / "man"
    p = run("man", "--dir", d)
    assert p.returncode == 0
    printed = set(p.stdout.split())
    files = {str(d / f) for f in os.listdir(d)}
    assert printed == files
    expected = {"evident.1", "evident-session.1"}
    expected |= {f"evident-{c}.1" for c in top_level_commands() if c != "help"}
    expected |= {f"evident-session-{c}.1" for c in session_commands() if c != "help"}
    assert set(os.listdir(d)) == expected


def test_completions_for_each_documented_shell():
    for sh in ["bash", "elvish", "fish", "powershell", "zsh"]:
        p = run("completions", sh)
        assert p.returncode == 0 and len(p.stdout) > 1000, sh
    bash = run("completions", "bash").stdout
    assert subprocess.run(["bash", "-n"], input=bash, text=True).returncode == 0
    assert_clean_error(run("completions", "tcsh"), 2)


# --------------------------------------------------------------------------- append


def test_append_prints_head_and_all_flags_land_in_the_entry(tmp_path):
    log = tmp_path / "a.jsonl"
    head = append(
        log, "X", "a1",
        "--actor", "alice", "--host", "h1", "--session", "s1", "--source", "src",
        "--details", '{"file":"ch1.bin"}', "--note", "hi", "--success", "false",
        "--duration-ms", "5", "--error", "boom", "--git-commit", "abc", "--otr",
        "--ts", "2026-01-02T03:04:05Z",
    )
    assert head.startswith("1:")
    e = json.loads(run("cat", "--json", log).stdout)
    assert e["seq"] == 1 and e["event_type"] == "X" and e["action"] == "a1"
    assert e["actor"] == "alice" and e["host"] == "h1" and e["session_id"] == "s1"
    assert e["source"] == "src" and e["details"] == {"file": "ch1.bin"} and e["note"] == "hi"
    assert e["success"] is False and e["duration_ms"] == 5 and e["error"] == "boom"
    assert e["git_commit"] == "abc" and e["otr"] is True
    assert e["ts"].startswith("2026-01-02T03:04:05")
    assert e["hash"] == head.split(":")[1]
    h = json.loads(run("head", "--json", log).stdout)
    assert h["head"] == head and h["head_seq"] == 1 and h["entries"] == 1


def test_append_defaults_actor_os_user_and_host_name(tmp_path):
    import getpass

    log = tmp_path / "a.jsonl"
    append(log)
    e = json.loads(run("cat", "--json", log).stdout)
    assert e["actor"] == getpass.getuser()
    assert e["host"] == socket.gethostname()


def test_append_json_overrides_flags_and_json_stdin(tmp_path):
    log = tmp_path / "a.jsonl"
    p = run("append", log, "--actor", "alice", "--json",
            '{"event_type":"Y","action":"a2","actor":"bob"}')
    assert p.returncode == 0
    p = run("append", log, "--json", "-",
            input='{"event_type":"Z","action":"a3"}\n{"event_type":"Z","action":"a4"}\n')
    assert p.returncode == 0
    heads = p.stdout.split()
    assert [h.split(":")[0] for h in heads] == ["2", "3"]
    es = [json.loads(l) for l in run("cat", "--json", log).stdout.splitlines()]
    assert es[0]["actor"] == "bob"
    assert [e["action"] for e in es] == ["a2", "a3", "a4"]


def test_append_bad_values_are_clean_usage_errors(tmp_path):
    log = tmp_path / "a.jsonl"
    assert_clean_error(run("append", log, "--event-type", "E", "--action", "a", "--details", "notjson"))
    assert_clean_error(run("append", log, "--event-type", "E", "--action", "a", "--success", "maybe"))
    assert_clean_error(run("append", log, "--event-type", "E", "--action", "a", "--ts", "soon"))
    assert_clean_error(run("append", log, "--event-type", "E", "--action", "a", "--durability", "x"))
    assert_clean_error(run("append", log, "--json", "[1,2]"), names=str(log))


def test_append_framing_by_extension_and_conflicts(tmp_path):
    for name, framing in [("x.evl", "binary"), ("x.bin", "binary"), ("x.jsonl", "jsonl"),
                          ("x.log", "jsonl")]:
        append(tmp_path / name)
        assert json.loads(run("head", "--json", tmp_path / name).stdout)["framing"] == framing
    append(tmp_path / "y.log", "E", "a", "--binary")
    assert json.loads(run("head", "--json", tmp_path / "y.log").stdout)["framing"] == "binary"
    append(tmp_path / "z.evl", "E", "a", "--framing", "jsonl")
    assert json.loads(run("head", "--json", tmp_path / "z.evl").stdout)["framing"] == "jsonl"
    # --binary is "the same as --framing binary": giving both with different values conflicts
    assert_clean_error(run("append", tmp_path / "w.jsonl", "--event-type", "E", "--action", "a",
                           "--binary", "--framing", "jsonl"))
    # an existing log must have the requested framing
    assert_clean_error(run("append", tmp_path / "x.jsonl", "--event-type", "E", "--action", "a",
                           "--binary"), names="x.jsonl")


def test_append_durability_modes(tmp_path):
    log = tmp_path / "d.jsonl"
    for mode in ["sync", "group", "buffered"]:
        append(log, "E", mode, "--durability", mode)
    assert run("verify", log).returncode == 0


def test_log_locked_by_a_writer_is_exit_2_and_lock_timeout_waits(tmp_path):
    log = make_log(tmp_path / "L.jsonl", 1)
    holder = subprocess.Popen([EVIDENT, "append", str(log), "--json", "-"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The holder has the lock once it printed the head of an entry.
        holder.stdin.write('{"event_type":"E","action":"first"}\n')
        holder.stdin.flush()
        assert holder.stdout.readline().startswith("2:")
        p = run("append", log, "--event-type", "E", "--action", "x")
        assert_clean_error(p, 2, names="L.jsonl")
        t = time.monotonic()
        p = run("append", log, "--event-type", "E", "--action", "x", "--lock-timeout", "1")
        assert_clean_error(p, 2)
        assert time.monotonic() - t >= 0.9
    finally:
        holder.stdin.write('{"event_type":"E","action":"held"}\n')
        holder.stdin.close()
        holder.wait(10)
    assert holder.returncode == 0


# --------------------------------------------------------------------------- verify, head


@pytest.fixture
def logs(tmp_path):
    good = make_log(tmp_path / "good.jsonl", 4)
    bad = tamper_line(good, tmp_path / "bad.jsonl", 2, '"op1"', '"opX"')
    return good, bad


def test_verify_exit_status_0_1_2(tmp_path, logs):
    good, bad = logs
    assert run("verify", good).returncode == 0
    p = run("verify", bad)
    assert p.returncode == 1 and "hash_mismatch" in p.stdout
    assert_clean_error(run("verify", tmp_path / "missing.jsonl"), 2, names="missing.jsonl")
    (tmp_path / "g.txt").write_text("garbage\n")
    assert_clean_error(run("verify", tmp_path / "g.txt"), 2, names="g.txt")
    (tmp_path / "empty.jsonl").write_text("")
    assert_clean_error(run("verify", tmp_path / "empty.jsonl"), 2, names="empty.jsonl")
    # several logs: the exit status is the worst
    assert run("verify", good, bad).returncode == 1
    assert run("verify", good, bad, tmp_path / "missing.jsonl").returncode == 2


def test_verify_json_report_fields(logs):
    good, bad = logs
    r = json.loads(run("verify", "--json", good).stdout)
    assert r["valid"] is True and r["status"] == "valid" and r["violations"] == []
    assert r["entries"] == 4 and HEAD_RE.match(r["head"]) and r["framing"] == "jsonl"
    r = json.loads(run("verify", "--json", bad).stdout)
    assert r["valid"] is False
    v = r["violations"][0]
    # "printed with its kind, entry seq, line (JSONL) and byte offset"
    assert v["kind"] == "hash_mismatch" and v["seq"] == 2 and v["line"] == 3
    assert isinstance(v["offset"], int)


def test_verify_all_and_stdin(tmp_path, logs):
    good, _ = logs
    two = tamper_line(good, tmp_path / "two0.jsonl", 1, '"op0"', '"opY"')
    two = tamper_line(two, tmp_path / "two.jsonl", 3, '"op2"', '"opZ"')
    assert len(json.loads(run("verify", "--json", two).stdout)["violations"]) == 1
    assert len(json.loads(run("verify", "--json", "--all", two).stdout)["violations"]) == 2
    p = run("verify", "-", input=good.read_text())
    assert p.returncode == 0


def test_verify_expect_head_detects_truncation_and_expect_log_id(tmp_path, logs):
    good, _ = logs
    head = json.loads(run("head", "--json", good).stdout)
    trunc = tmp_path / "t.jsonl"
    trunc.write_text("".join(good.read_text().splitlines(True)[:-1]))
    assert run("verify", trunc).returncode == 0
    assert run("verify", "--expect-head", head["head"], good).returncode == 0
    assert run("verify", "--expect-head", head["head"], trunc).returncode == 1
    assert run("verify", "--expect-log-id", head["log_id"], good).returncode == 0
    assert run("verify", "--expect-log-id", "0" * 32, good).returncode == 1
    assert_clean_error(run("verify", "--expect-head", "garbage", good), 2)


def test_head_text_json_and_no_verify(logs):
    good, bad = logs
    p = run("head", good)
    assert p.returncode == 0 and "head:" in p.stdout and "log id:" in p.stdout
    j = json.loads(run("head", "--json", good).stdout)
    assert j["verified"] is True and j["entries"] == 4
    j = json.loads(run("head", "--json", "--no-verify", bad).stdout)
    assert j["verified"] is False and j["head_seq"] == 4
    assert run("head", bad).returncode == 1


def test_keyed_log(tmp_path):
    key = tmp_path / "k.hex"
    key.write_text("00112233445566778899aabbccddeeff\n")
    log = tmp_path / "k.jsonl"
    append(log, "E", "a", "--key-file", key)
    assert run("verify", "--key-file", key, log).returncode == 0
    # no key for a keyed log: 1 for verify (a finding), 2 for commands that write
    p = run("verify", "--json", log)
    assert p.returncode == 1 and json.loads(p.stdout)["violations"][0]["kind"] == "wrong_key"
    assert_clean_error(run("append", log, "--event-type", "E", "--action", "b"), 2)
    other = tmp_path / "o.hex"
    other.write_text("ffeeddccbbaa99887766554433221100")
    assert run("verify", "--key-file", other, log).returncode == 1
    assert_clean_error(run("append", log, "--event-type", "E", "--action", "b", "--key-file", other), 2)
    # key file rules: hex needs >= 32 digits; raw bytes >= 16; missing file
    short = tmp_path / "short"
    short.write_text("abc")
    assert_clean_error(run("verify", "--key-file", short, log), 2, names="short")
    odd = tmp_path / "odd"
    odd.write_text("0" * 33)
    assert_clean_error(run("verify", "--key-file", odd, log), 2, names="odd")
    raw = tmp_path / "raw"
    raw.write_bytes(b"sixteen raw bytes!")
    log2 = tmp_path / "k2.jsonl"
    append(log2, "E", "a", "--key-file", raw)
    assert run("verify", "--key-file", raw, log2).returncode == 0
    big = tmp_path / "big"
    big.write_bytes(b"x" * 5000)
    assert_clean_error(run("verify", "--key-file", big, log), 2, names="big")
    assert_clean_error(run("verify", "--key-file", tmp_path / "nokey", log), 2, names="nokey")


def test_color_option_and_no_color(logs):
    good, _ = logs
    assert "\x1b[" in run("verify", "--color", "always", good).stdout
    assert "\x1b[" in run("verify", "--color", "always", good, env={"NO_COLOR": "1"}).stdout
    assert "\x1b[" not in run("verify", "--color", "never", good).stdout
    assert "\x1b[" not in run("verify", good).stdout  # auto, stdout is a pipe


# --------------------------------------------------------------------------- cat, tail, stats, export


def test_cat_filters_order_limit(tmp_path):
    log = tmp_path / "c.jsonl"
    append(log, "X", "a1", "--actor", "alice", "--session", "s1", "--source", "src",
           "--ts", "2026-01-02T03:04:05Z")
    for i in range(2, 6):
        append(log, "Y", f"a{i}", "--actor", "bob")

    def seqs(*args):
        p = run("cat", "--json", *args, log)
        assert p.returncode == 0, p.stderr
        return [json.loads(l)["seq"] for l in p.stdout.splitlines()]

    assert seqs() == [1, 2, 3, 4, 5]
    assert seqs("--newest-first") == [5, 4, 3, 2, 1]
    assert seqs("--newest-first", "--limit", "2") == [5, 4]
    assert seqs("--limit", "2") == [1, 2]
    assert seqs("--seq-min", "2", "--seq-max", "3") == [2, 3]
    assert seqs("--actor", "alice") == [1]
    assert seqs("--session", "s1") == [1]
    assert seqs("--source", "src") == [1]
    assert seqs("--event-type", "Y") == [2, 3, 4, 5]
    assert seqs("--action", "a3") == [3]
    assert seqs("--until", "2026-06-01") == [1]
    assert seqs("--since", "2026-06-01") == [2, 3, 4, 5]
    assert seqs("--since", "1h") == [2, 3, 4, 5]
    assert seqs("--since", "1h 30m") == [2, 3, 4, 5]
    assert seqs("--since", "today") == [2, 3, 4, 5] or seqs("--since", "today") == []
    assert seqs("--since", "yesterday") == [2, 3, 4, 5]
    assert_clean_error(run("cat", "--since", "bogus", log))
    # --host: database URLs only
    assert_clean_error(run("cat", "--host", "h", log))
    # text mode says on stderr that hashes are not checked; --json does not
    p = run("cat", log)
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 5 and "not checked" in p.stderr
    assert "not checked" not in run("cat", "--json", log).stderr
    assert run("cat", "-", input=log.read_text()).returncode == 0


def test_cat_damaged_record_is_skipped_with_exit_1(tmp_path, logs):
    good, _ = logs
    dmg = tmp_path / "dmg.jsonl"
    lines = good.read_text().split("\n")
    lines[2] = lines[2].replace('"prev":"', '"prev":"zz', 1)
    dmg.write_text("\n".join(lines))
    p = run("cat", dmg)
    assert p.returncode == 1
    assert len(p.stdout.splitlines()) == 3
    assert "dmg.jsonl" in p.stderr and ("line 3" in p.stderr or "offset" in p.stderr)
    assert "panicked" not in p.stderr


def test_tail_default_10_and_stdin(tmp_path):
    log = make_log(tmp_path / "t.jsonl", 12)
    p = run("tail", "--json", log)
    assert [json.loads(l)["seq"] for l in p.stdout.splitlines()] == list(range(3, 13))
    p = run("tail", "-n", "2", "--json", "-", input=log.read_text())
    assert [json.loads(l)["seq"] for l in p.stdout.splitlines()] == [11, 12]
    # --from-seq / --position-file are "With -f"
    assert_clean_error(run("tail", "--from-seq", "2", log))
    assert_clean_error(run("tail", "-f", "-", input=log.read_text()))


def _follow(args, tmp_path, then=None, wait=1.5) -> str:
    # SIGINT back to its default in the child: a test run started in the
    # background by a shell without job control inherits SIGINT ignored.
    p = subprocess.Popen([EVIDENT, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(0.7)
    if then:
        then()
    time.sleep(wait)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        pytest.fail("follow did not stop on Ctrl-C (SIGINT)")
    assert "panicked" not in err
    return out


def test_tail_f_follows_several_logs_with_file_member(tmp_path):
    a = make_log(tmp_path / "a.jsonl", 2)
    b = make_log(tmp_path / "b.jsonl", 2)
    out = _follow(["tail", "-f", "-n", "1", "--json", "--interval", "0.1", a, b], tmp_path,
                  then=lambda: append(b, "N", "new"))
    es = [json.loads(l) for l in out.splitlines()]
    assert {(Path(e["file"]).name, e["seq"]) for e in es} == {("a.jsonl", 2), ("b.jsonl", 2),
                                                            ("b.jsonl", 3)}


def test_follow_position_file_resumes_without_repeats(tmp_path):
    log = make_log(tmp_path / "f.jsonl", 3)
    pos = tmp_path / "pos"
    out = _follow(["follow", "--json", "--interval", "0.1", "--position-file", pos, log], tmp_path,
                  wait=0.5)
    assert [json.loads(l)["seq"] for l in out.splitlines()] == [1, 2, 3]
    assert pos.exists()
    append(log, "N", "while-stopped")
    out = _follow(["follow", "--json", "--interval", "0.1", "--position-file", pos, log], tmp_path,
                  wait=0.5)
    assert [json.loads(l)["seq"] for l in out.splitlines()] == [4]
    out = _follow(["follow", "--json", "--interval", "0.1", "--from-seq", "3", log], tmp_path, wait=0.3)
    assert [json.loads(l)["seq"] for l in out.splitlines()] == [3, 4]


def test_follow_help_stdin_claim(tmp_path):
    """follow --help no longer claims `-` (standard input; it was tail's text):
    follow reads a file, and `follow -` is refused with a usage-class error."""
    h = run("follow", "--help").stdout
    assert "standard input, not with" not in h and "With -f" not in h
    log = make_log(tmp_path / "f.jsonl", 2)
    p = run("follow", "-", input=log.read_text(), timeout=5)
    assert p.returncode == 2 and "standard input" in p.stderr


def test_stats_text_and_json(tmp_path, logs):
    good, _ = logs
    p = run("stats", good)
    assert p.returncode == 0 and "not checked" in p.stdout
    j = json.loads(run("stats", "--json", good).stdout)
    assert j["entries"] == 4 and j["by_session"] == {"s1": 2, "s2": 2}
    assert j["by_event_type"] == {"ACTION_EXECUTED": 4} and len(j["by_action"]) == 4
    assert set(j["by_actor"]) and "first_ts" in j and "last_ts" in j
    j = json.loads(run("stats", "--json", good, good).stdout)
    assert isinstance(j, list) and len(j) == 2


def test_export_formats(tmp_path, logs):
    import csv
    import io

    good, _ = logs
    cols = ("seq, ts, event_type, action, actor, host, session_id, source, success, duration_ms, "
            "error, note, git_commit, details, prev, hash, otr").split(", ")
    p = run("export", "--format", "csv", good)
    rows = list(csv.reader(io.StringIO(p.stdout)))
    assert rows[0] == cols and len(rows) == 5
    arr = json.loads(run("export", "--format", "json", good).stdout)
    assert isinstance(arr, list) and len(arr) == 4
    lines = run("export", "--format", "jsonl", good).stdout.splitlines()
    assert [json.loads(l)["seq"] for l in lines] == [1, 2, 3, 4]
    b = make_log(tmp_path / "b.evl", 1)
    rows = list(csv.reader(io.StringIO(run("export", "--format", "csv", good, b).stdout)))
    assert rows[0] == ["file"] + cols and rows[-1][0].endswith("b.evl")
    lines = run("export", "--format", "jsonl", good, b).stdout.splitlines()
    assert all("file" in json.loads(l) for l in lines)
    # -o: atomically replaced if it exists
    out = tmp_path / "out.json"
    out.write_text("old")
    assert run("export", "--format", "json", "-o", out, good).returncode == 0
    assert len(json.loads(out.read_text())) == 4
    assert_clean_error(run("export", "--format", "tracekit-json", good))
    key = tmp_path / "tk.key"
    key.write_text("deadbeef" * 4)
    for fmt in ["tracekit-json", "tracekit-csv"]:
        for alg in ["sha256", "sha512"]:
            p = run("export", "--format", fmt, "--tracekit-key", key, "--tracekit-alg", alg, good)
            assert p.returncode == 0 and p.stdout, (fmt, alg)
    assert_clean_error(run("export", "--format", "tracekit-csv", "--tracekit-key", key,
                           "--tracekit-alg", "md5", good))


def test_export_damaged_record_exit_1_and_no_file(tmp_path, logs):
    good, _ = logs
    dmg = tmp_path / "dmg.jsonl"
    lines = good.read_text().split("\n")
    lines[2] = lines[2].replace('"prev":"', '"prev":"zz', 1)
    dmg.write_text("\n".join(lines))
    out = tmp_path / "o.csv"
    p = run("export", "--format", "csv", "-o", out, dmg)
    assert p.returncode == 1 and not out.exists() and "dmg.jsonl" in p.stderr


# --------------------------------------------------------------------------- convert, repair


def test_convert_round_trip_and_refusals(tmp_path, logs):
    good, bad = logs
    evl = tmp_path / "good.evl"
    assert run("convert", good, evl).returncode == 0
    h1 = json.loads(run("head", "--json", good).stdout)
    h2 = json.loads(run("head", "--json", evl).stdout)
    assert h2["framing"] == "binary" and h1["head"] == h2["head"] and h1["log_id"] == h2["log_id"]
    back = tmp_path / "back.jsonl"
    assert run("convert", "--to", "jsonl", evl, back).returncode == 0
    assert back.read_bytes() == good.read_bytes()
    assert_clean_error(run("convert", good, evl), 2, names="good.evl")  # DST exists
    p = run("convert", bad, tmp_path / "bad.evl")
    assert p.returncode == 1 and not (tmp_path / "bad.evl").exists()


def test_repair_torn_tail_damage_and_force(tmp_path, logs):
    good, bad = logs
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(good.read_bytes() + b'{"seq":5,"ts":"20')
    assert run("verify", torn).returncode == 1
    p = run("repair", torn)
    assert p.returncode == 0
    side = [f for f in os.listdir(tmp_path) if f.startswith("torn.jsonl.torn-")]
    assert len(side) == 1 and re.match(r"torn\.jsonl\.torn-.+-at-\d+$", side[0])
    assert (tmp_path / side[0]).read_bytes() == b'{"seq":5,"ts":"20'
    assert run("verify", torn).returncode == 0
    # damage before the end: never repaired, exit 1, file unchanged (also with --force)
    before = bad.read_bytes()
    assert run("repair", bad).returncode == 1
    assert run("repair", "--force", bad).returncode == 1
    assert bad.read_bytes() == before
    # damage at the very end: only with --force
    end = tamper_line(good, tmp_path / "end.jsonl", 4, '"op3"', '"opE"')
    assert run("repair", end).returncode == 1
    assert run("repair", "--force", end).returncode == 0
    assert run("verify", end).returncode == 0
    assert json.loads(run("head", "--json", end).stdout)["head_seq"] == 3


# --------------------------------------------------------------------------- demo, session, measure


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    p = run("demo", d, timeout=60)
    assert p.returncode == 0, p.stderr
    return d


def test_demo_files(demo_dir):
    assert run("verify", demo_dir / "scope-audit.jsonl").returncode == 0
    assert run("verify", demo_dir / "scope-audit.tampered.jsonl").returncode == 1
    assert run("session", "verify", demo_dir / "scope-session.evs").returncode == 0


def test_session_commands(tmp_path, demo_dir):
    evs = demo_dir / "scope-session.evs"
    vs = json.loads(run("session", "versions", "--json", evs).stdout)
    assert [v["version"] for v in vs] == [1, 2]
    info = json.loads(run("session", "info", "--json", evs).stdout)
    assert info["version"] == 2
    assert json.loads(run("session", "info", "--json", "--version", "1", evs).stdout)["version"] == 1
    assert_clean_error(run("session", "info", "--version", "9", evs), 2)
    out = tmp_path / "ex"
    assert run("session", "export", "--out", out, evs).returncode == 0
    assert {"session.json"} < set(os.listdir(out)) and any(f.endswith(".npy") for f in os.listdir(out))
    assert_clean_error(run("session", "export", "--out", out, evs), 2)  # exists, no --force
    assert run("session", "export", "--out", out, "--force", "--format", "csv", evs).returncode == 0
    assert any(f.endswith(".csv") for f in os.listdir(out))
    assert run("session", "export", "--out", tmp_path / "j", "--format", "json", evs).returncode == 0
    assert os.listdir(tmp_path / "j") == ["session.json"]
    r = json.loads(run("session", "verify", "--json", demo_dir / "scope-session.crashed.evs").stdout)
    assert run("session", "verify", demo_dir / "scope-session.crashed.evs").returncode == 0
    assert r["status"] == "torn_tail"
    c = tmp_path / "c.evs"
    shutil.copy(evs, c)
    j = json.loads(run("session", "compact", "--json", c).stdout)
    assert j["bytes_after"] < j["bytes_before"]
    assert len(json.loads(run("session", "versions", "--json", c).stdout)) == 1
    # not a session file: 2
    for sub in ["info", "versions", "verify", "compact"]:
        assert_clean_error(run("session", sub, demo_dir / "scope-audit.jsonl"), 2, names="scope-audit")
    # and audit-log commands refuse a session file with 2
    assert_clean_error(run("verify", evs), 2, names="scope-session.evs")


def test_measure_json_shape(demo_dir):
    evs = demo_dir / "scope-session.evs"
    p = run("measure", "--json", evs)
    j = json.loads(p.stdout)
    names = {"frequency", "period", "amplitude", "rise_time", "fall_time", "duty_cycle", "thd"}
    for trace, ms in j.items():
        assert set(ms) == names
        for m in ms.values():
            assert set(m) == {"value", "unit"}
    j = json.loads(run("measure", "--json", "--what", "frequency,period", evs).stdout)
    assert all(set(ms) == {"frequency", "period"} for ms in j.values())
    assert_clean_error(run("measure", "--what", "bogus", evs), 2)
    assert_clean_error(run("measure", "--trace", "NOPE", evs), 2)


def test_measure_amplitude_has_trace_unit(demo_dir):
    evs = demo_dir / "scope-session.evs"
    info = json.loads(run("session", "info", "--json", evs).stdout)
    units = {t["name"]: t["units"] for t in info["traces"]}
    j = json.loads(run("measure", "--json", "--what", "amplitude,frequency", evs).stdout)
    for trace, ms in j.items():
        assert ms["frequency"]["unit"] == "Hz"
        assert ms["amplitude"]["unit"] == units[trace]


def test_measure_not_a_session_file_is_2(tmp_path, demo_dir):
    assert_clean_error(run("measure", demo_dir / "scope-audit.jsonl"), 2)


def _tamper_samples(demo_dir: Path, dst: Path) -> Path:
    """A copy of the demo session with one byte of the CH1 samples flipped."""
    b = bytearray((demo_dir / "scope-session.evs").read_bytes())
    b[500000] ^= 0xFF  # inside the 1.6 MB data frame of CH1
    dst.write_bytes(bytes(b))
    p = run("session", "verify", dst)
    assert p.returncode == 1 and "hash" in p.stdout, p.stdout
    return dst


def test_session_compact_refuses_tampered_samples(tmp_path, demo_dir):
    evs = _tamper_samples(demo_dir, tmp_path / "t.evs")
    before = evs.read_bytes()
    p = run("session", "compact", evs)
    try:
        assert p.returncode == 1
        assert evs.read_bytes() == before
    finally:
        # whatever compact did, the evidence must still show
        assert run("session", "verify", evs).returncode == 1


def test_measure_refuses_tampered_samples(tmp_path, demo_dir):
    evs = _tamper_samples(demo_dir, tmp_path / "t.evs")
    p = run("measure", "--what", "amplitude", evs)
    assert p.returncode == 1 and "t.evs" in p.stderr


def test_session_export_refuses_tampered_samples(tmp_path, demo_dir):
    evs = _tamper_samples(demo_dir, tmp_path / "t.evs")
    p = run("session", "export", "--out", tmp_path / "o", evs)
    assert p.returncode == 1 and "t.evs" in p.stderr


# --------------------------------------------------------------------------- report, reproduce, compliance


def test_report_formats(tmp_path, demo_dir):
    log = demo_dir / "scope-audit.jsonl"
    tam = demo_dir / "scope-audit.tampered.jsonl"
    for by, pat in [("day", r"audit_report_\d{4}-\d\d-\d\d\.md"), ("week", r"weekly_report_\d{4}-W\d\d\.md"),
                    ("tool", r"tool_report_.+\.md")]:
        out = tmp_path / by
        p = run("report", "--by", by, "-o", out, log)
        assert p.returncode == 0
        written = p.stdout.split()
        assert written and all(Path(w).exists() and re.search(pat, w) for w in written)
    p = run("report", "--format", "html", "-o", tmp_path / "h", log, tam)
    html = Path(p.stdout.strip()).read_text()
    assert p.stdout.strip().endswith("audit_report.html") and "<svg" in html
    assert "tampered" in html.lower() or "hash_mismatch" in html
    p = run("report", "--format", "html", "--no-charts", "--title", "My Title", "-o",
            tmp_path / "one.html", log)
    html = (tmp_path / "one.html").read_text()
    assert "My Title" in html and "<svg" not in html
    p = run("report", "--format", "pdf", "-o", tmp_path / "p", log, timeout=60)
    assert (tmp_path / "p" / "audit_report.pdf").read_bytes()[:5] == b"%PDF-"
    assert_clean_error(run("report", "-o", tmp_path / "x", tmp_path / "missing.jsonl"), 2,
                       names="missing.jsonl")


def test_reproduce_bash_and_python(tmp_path, demo_dir):
    log = demo_dir / "scope-audit.jsonl"
    sh = tmp_path / "r.sh"
    assert run("reproduce", "-o", sh, log).returncode == 0
    assert stat.S_IMODE(sh.stat().st_mode) == 0o755
    assert subprocess.run(["bash", "-n", str(sh)]).returncode == 0
    sh.write_text("old")
    assert run("reproduce", "-o", sh, "--program", "rtgs", "--no-note", "--timing",
               "--error-handling", log).returncode == 0
    text = sh.read_text()
    assert "rtgs " in text and "--note" not in text
    py = tmp_path / "r.py"
    assert run("reproduce", "--format", "python", "--module", "mymod", "--alias", "mm", "-o", py,
               log).returncode == 0
    src = py.read_text()
    compile(src, str(py), "exec")
    assert "import mymod as mm" in src and "mm." in src
    assert run("reproduce", "-o", tmp_path / "x.sh", "--skip-failed", log).returncode == 0


def test_compliance_check(tmp_path):
    pii = tmp_path / "pii.csv"
    pii.write_text("name,email,age\nAlice,alice@example.com,30\n")
    clean = tmp_path / "clean.csv"
    clean.write_text("x,y\n1,2\n")
    assert run("compliance-check", pii).returncode == 1
    assert run("compliance-check", clean).returncode == 0
    j = json.loads(run("compliance-check", "--json", "--regulation", "HIPAA", "--name", "DS", pii).stdout)
    assert j["regulation"] == "HIPAA" and j["dataset_name"] == "DS" and j["compliant"] is False
    assert json.loads(run("compliance-check", "--json", clean).stdout)["regulation"] == "GDPR"
    nd = tmp_path / "p.ndjson"
    nd.write_text('{"email":"a@b.example"}\n')
    assert run("compliance-check", nd).returncode == 1
    tsv = tmp_path / "t.tsv"
    tsv.write_text("a\tb\n1\t2\n")
    assert run("compliance-check", tsv).returncode == 0
    # every record counted, only the first 1000 values of each column checked
    big = tmp_path / "big.csv"
    big.write_text("id,contact\n" + "".join(
        f"{i},{'x%d' % i if i < 1050 else 'p%d@example.com' % i}\n" for i in range(1100)))
    j = json.loads(run("compliance-check", "--json", big).stdout)
    assert j["num_records"] == 1100 and j["compliant"] is True
    assert_clean_error(run("compliance-check", "--metadata", "nope", clean), 2)
    assert_clean_error(run("compliance-check", tmp_path / "missing.csv"), 2, names="missing.csv")


# --------------------------------------------------------------------------- keys, checkpoints, proofs


def test_keygen(tmp_path):
    p = run("keygen", "--name", "example.com/audit")
    assert p.returncode == 0
    lines = p.stdout.split()
    assert lines[0].startswith("PRIVATE+KEY+example.com/audit+") and lines[1].startswith("example.com/audit+")
    k = tmp_path / "k"
    assert run("keygen", "--name", "example.com/audit", "-o", k).returncode == 0
    assert stat.S_IMODE(k.stat().st_mode) == 0o600 and (tmp_path / "k.pub").exists()
    before = k.read_bytes()
    assert_clean_error(run("keygen", "--name", "example.com/audit", "-o", k), 2, names="k")
    assert k.read_bytes() == before
    assert_clean_error(run("keygen", "--name", "a b"), 2)
    assert_clean_error(run("keygen", "--name", "a+b"), 2)


@pytest.fixture
def signed(tmp_path):
    log = make_log(tmp_path / "cp.jsonl", 3)
    key = tmp_path / "lk"
    assert run("keygen", "--name", "example.com/audit", "-o", key).returncode == 0
    c1 = tmp_path / "c1"
    assert run("checkpoint", "--key", key, "-o", c1, log).returncode == 0
    append(log, "E", "more")
    c2 = tmp_path / "c2"
    assert run("checkpoint", "--key", key, "-o", c2, log).returncode == 0
    return log, key, Path(str(key) + ".pub"), c1, c2


def test_checkpoint_and_verify(tmp_path, signed):
    log, key, pub, c1, c2 = signed
    assert Path(str(log) + ".checkpoints").exists()
    assert c1.read_text().splitlines()[0].startswith("evident/")
    assert run("verify", "--checkpoint", c1, "--pubkey", pub, log).returncode == 0
    assert run("verify", "--checkpoint", c1, "--pubkey", pub, "--incremental", log).returncode == 0
    assert_clean_error(run("verify", "--checkpoint", c1, log), 2)  # --pubkey missing
    c3 = tmp_path / "c3"
    assert run("checkpoint", "--key", key, "--origin", "custom/o", "--no-sidecar", "-o", c3, log).returncode == 0
    assert c3.read_text().startswith("custom/o\n")
    assert run("verify", "--checkpoint", c3, "--pubkey", pub, log).returncode == 1
    assert run("verify", "--checkpoint", c3, "--pubkey", pub, "--origin", "custom/o", log).returncode == 0
    p = run("checkpoint", "--key", key, "--size", "2", "--no-sidecar", log)
    assert p.returncode == 0 and p.stdout.splitlines()[1] == "2"
    assert_clean_error(run("checkpoint", "--key", pub, log), 2)
    # the log changed under the checkpoint: 1
    bad = tamper_line(log, tmp_path / "cpbad.jsonl", 2, '"op1"', '"opQ"')
    assert run("verify", "--checkpoint", c1, "--pubkey", pub, bad).returncode == 1


def test_prove_and_verify_proof(tmp_path, signed):
    log, key, pub, c1, c2 = signed
    p2 = tmp_path / "p2"
    assert run("prove", "--seq", "2", "--checkpoint", c2, "-o", p2, log).returncode == 0
    # An inclusion proof needs the origin to expect: --log or --origin (rule 8a).
    assert_clean_error(run("verify-proof", "--pubkey", pub, p2), 2)
    origin = c2.read_text().splitlines()[0]
    assert run("verify-proof", "--pubkey", pub, "--origin", origin, p2).returncode == 0
    assert run("verify-proof", "--pubkey", pub, "--origin", "other/o", p2).returncode == 1
    assert run("verify-proof", "--pubkey", pub, "--log", log, p2).returncode == 0
    other = make_log(tmp_path / "other.jsonl", 1)
    assert run("verify-proof", "--pubkey", pub, "--log", other, p2).returncode != 0
    pc = tmp_path / "pc"
    assert run("prove", "--consistency", c1, c2, "-o", pc, log).returncode == 0
    assert run("verify-proof", "--pubkey", pub, "--old", c1, pc).returncode == 0
    assert_clean_error(run("verify-proof", "--pubkey", pub, pc), 2)  # needs --old
    assert run("verify-proof", "--pubkey", pub, "--old", c1, "--min-witnesses", "1", pc).returncode == 1


def test_witness_cosigns_request_from_prove(tmp_path, signed):
    """witness --help: REQUEST comes from `evident prove --consistency`. A witness
    that has seen nothing of the log takes a request from 0 (`--consistency 0 NEW`,
    tlog-witness "old 0"); a request from a later size gets 409 until then."""
    log, key, pub, c1, c2 = signed
    wk = tmp_path / "wk"
    assert run("keygen", "--witness", "--name", "w.example/w1", "-o", wk).returncode == 0
    store = tmp_path / "ws"
    pc = tmp_path / "pc"
    assert run("prove", "--consistency", c1, c2, "-o", pc, log).returncode == 0
    early = run("witness", "--store", store, "--key", wk, "--log-key", pub, pc)
    assert early.returncode == 1 and "409" in early.stderr
    p0 = tmp_path / "p0"
    assert run("prove", "--consistency", "0", c1, "-o", p0, log).returncode == 0
    assert p0.read_text().startswith("old 0\n\n")
    cos1 = tmp_path / "cos1"
    p = run("witness", "--store", store, "--key", wk, "--log-key", pub, "--cosigned", cos1, p0)
    assert p.returncode == 0, p.stderr
    cos = tmp_path / "cos"
    p = run("witness", "--store", store, "--key", wk, "--log-key", pub, "--cosigned", cos, pc)
    assert p.returncode == 0, p.stderr
    assert run("verify", "--checkpoint", cos, "--pubkey", pub, "--witness-key", str(wk) + ".pub",
               "--min-witnesses", "1", log).returncode == 0


# --------------------------------------------------------------------------- ship (no database here)


def test_database_url_errors_never_print_the_password():
    p = run("verify", "postgres://u:secretpw@127.0.0.1:1/db", timeout=20)
    assert_clean_error(p, 2)
    assert "secretpw" not in p.stderr + p.stdout
    assert_clean_error(run("ship", "--to", "notaurl", "/dev/null"), 2)


REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory):
    """A throwaway PostgreSQL cluster (scripts/pg-cluster.sh), or $EVIDENT_PG_URL; skipped without one."""
    if os.environ.get("EVIDENT_PG_URL"):
        yield os.environ["EVIDENT_PG_URL"]
        return
    script = REPO / "scripts" / "pg-cluster.sh"
    if not shutil.which("initdb") and not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("no PostgreSQL server binaries")
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="evident-cli-pg-"))  # not under pytest's 0700 directories
    p = subprocess.run(["bash", str(script), "start", str(d)], capture_output=True, text=True, timeout=90)
    if p.returncode != 0:
        pytest.skip("could not start PostgreSQL: " + p.stderr[-300:])
    try:
        yield p.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(script), "stop", str(d)], capture_output=True, timeout=60)


def test_ship_idempotent_check_only_and_fork_refused(tmp_path, pg_url):
    log = make_log(tmp_path / "s.jsonl", 3)
    p = run("ship", "--to", pg_url, log)
    assert p.returncode == 0, p.stderr
    j = json.loads(run("ship", "--json", "--to", pg_url, log).stdout)
    assert j["report"]["shipped"] == 0
    assert run("ship", "--check-only", "--to", pg_url, log).returncode == 0
    lid = json.loads(run("head", "--json", log).stdout)["log_id"]
    url = f"{pg_url}?log_id={lid}"
    assert run("verify", url).returncode == 0
    assert len(run("cat", "--json", url).stdout.splitlines()) == 3
    assert run("cat", "--host", socket.gethostname(), url).returncode == 0
    # a fork: same log, last entry rewritten differently
    fork = tmp_path / "fork.jsonl"
    fork.write_text("".join(log.read_text().splitlines(True)[:-1]))
    append(fork, "E", "forked")
    assert run("ship", "--check-only", "--to", pg_url, fork).returncode == 1
    p = run("ship", "--to", pg_url, fork)
    assert p.returncode == 1 and "fork" in p.stderr
    # a tampered (unkeyed) log is not shipped
    bad = tamper_line(log, tmp_path / "bad.jsonl", 2, '"op1"', '"opX"')
    assert run("ship", "--to", pg_url, bad).returncode == 1


def test_ship_keyed_log_without_key(tmp_path, pg_url):
    """ship --help (--key-file): without the key a keyed log is shipped with its
    links and seqs checked, and a note on stderr says the hashes were not; the
    database copy is then checked with the key (and fails for a tampered log).
    With the key the tampered log is refused."""
    key = tmp_path / "k.hex"
    key.write_text("00112233445566778899aabbccddeeff")
    log = tmp_path / "k.jsonl"
    for i in range(3):
        append(log, "E", f"k{i}", "--key-file", key)
    bad = tamper_line(log, tmp_path / "kt.jsonl", 2, '"k1"', '"EVIL"')
    assert run("verify", "--key-file", key, bad).returncode == 1
    refused = run("ship", "--to", pg_url, "--key-file", key, bad)
    assert refused.returncode == 1, refused.stderr
    p = run("ship", "--to", pg_url, bad)
    assert p.returncode == 0 and "not the hashes" in p.stderr and "kt.jsonl" in p.stderr
    lid = json.loads(run("head", "--json", "--no-verify", bad).stdout)["log_id"]
    assert run("verify", "--key-file", key, f"{pg_url}?log_id={lid}").returncode == 1


# --------------------------------------------------------------------------- no panics on bad input


def test_bad_inputs_never_panic(tmp_path, logs):
    good, _ = logs
    (tmp_path / "g.txt").write_text("garbage")
    (tmp_path / "bin.evl").write_bytes(b"\x00\xffEVL" + os.urandom(300))
    cases = [
        ["cat", tmp_path / "g.txt"], ["cat", tmp_path / "bin.evl"], ["tail", tmp_path / "bin.evl"],
        ["stats", tmp_path / "g.txt"], ["head", tmp_path / "bin.evl"], ["verify", tmp_path / "bin.evl"],
        ["repair", tmp_path / "g.txt"], ["convert", tmp_path / "g.txt", tmp_path / "o.evl"],
        ["export", "--format", "csv", tmp_path / "bin.evl"], ["verify", tmp_path],
        ["cat", "--since", "9999999999999h", good], ["tail", "-n", "18446744073709551616", good],
        ["verify", "--threads", "100000", good], ["follow", "--interval", "0", good],
        ["session", "info", tmp_path / "g.txt"], ["measure", tmp_path / "g.txt"],
        ["checkpoint", "--key", tmp_path / "g.txt", good], ["prove", "--seq", "1", "--checkpoint",
                                                           tmp_path / "g.txt", good],
        ["verify-proof", "--pubkey", tmp_path / "g.txt", tmp_path / "g.txt"],
        ["witness", "--store", tmp_path / "ws", "--key", tmp_path / "g.txt", "--log-key",
         tmp_path / "g.txt", tmp_path / "g.txt"],
        ["report", "-o", tmp_path / "r", tmp_path / "g.txt"],
        ["reproduce", "-o", tmp_path / "r.sh", tmp_path / "g.txt"],
    ]
    for c in cases:
        p = run(*c, timeout=20)
        assert p.returncode not in (101, -6), (c, p.stderr)
        assert "panicked" not in p.stderr and "backtrace" not in p.stderr.lower(), (c, p.stderr)
        if p.returncode != 0:
            assert p.stderr.startswith("evident: "), (c, p.stderr)
