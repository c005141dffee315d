"""An outside team's acceptance tests of the RTGS Lab Tools audit API and
the ``rtgs audit`` command line (seed 002), written from the document and
the project README only, against ``evident.compat.rtgs``.

Import mapping: ``rtgs_lab_tools.audit``, ``…audit.audit_service`` and
``…audit.report_service`` -> ``evident.compat.rtgs``; ``rtgs audit …`` ->
``python -m evident.compat.rtgs …``. Operations with historical times are
imported with ``record_operation(…, timestamp=…)`` (README, "Switching from
RTGS Lab Tools"); current ones are recorded with ``log_custom_operation``.

These complement test_seed_002_rtgs.py / test_cleanroom_rtgs.py (which run
every documented example): documented defaults, parameter names and
positions, return and field types, errors, and the edge cases a user runs
into (pre-created files, reused directories, unicode, large values,
several processes, threads, nested and interrupted operations).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import evident

UTC = timezone.utc
COMMIT = "abc123def4567890abc123def4567890abc123de"


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "_store"
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(d))
    for v in ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER",
              "POSTGRES_PASSWORD"):
        monkeypatch.delenv(v, raising=False)
    # the working directory (seeds/conftest.py) is not inside a git checkout
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    return d


def rec(tool, op, ts, **kw):
    from evident.compat.rtgs import record_operation

    kw.setdefault("user", "username")
    return record_operation(tool, op, timestamp=ts, **kw)


def utc(*a):
    return datetime(*a, tzinfo=UTC)


def cli(*args, check=True, env=None, cwd=None):
    p = subprocess.run([sys.executable, "-m", "evident.compat.rtgs", *args],
                       capture_output=True, text=True, timeout=120,
                       env=env or os.environ.copy(), cwd=cwd)
    if check:
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p


def stub_path(workdir: Path) -> tuple:
    """A PATH with stub `rtgs` and `git` that append their argv (JSON) to a file."""
    bindir = workdir / "stubbin"
    bindir.mkdir(exist_ok=True)
    calls = workdir / "calls.jsonl"
    for name in ("rtgs", "git"):
        s = bindir / name
        s.write_text(
            "#!/usr/bin/env python3\nimport json, os, sys\n"
            f"open({str(calls)!r}, 'a', encoding='utf-8').write("
            "json.dumps([os.path.basename(sys.argv[0])] + sys.argv[1:]) + '\\n')\n")
        s.chmod(0o755)
    return dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}"), calls


def read_calls(calls: Path):
    if not calls.exists():
        return []
    return [json.loads(l) for l in calls.read_text(encoding="utf-8").splitlines()]


def report_day(path) -> str:
    first = Path(path).read_text(encoding="utf-8").splitlines()[0]
    m = re.fullmatch(r"# Audit Report - (\d{4}-\d\d-\d\d)", first)
    assert m, first
    return m.group(1)


# --------------------------------------------------------------------------
# Log entry format: field names and types
# --------------------------------------------------------------------------


def test_custom_operation_record_has_documented_fields_with_documented_types():
    from evident.compat.rtgs import log_custom_operation, recent_logs

    with log_custom_operation("custom_analysis", "statistical_summary") as logger:
        logger.add_result("mean_temperature", 21.4)
    [log] = recent_logs()
    # "operation_id": "uuid4-string"
    assert isinstance(log["operation_id"], str)
    assert uuid.UUID(log["operation_id"]).version == 4
    # the documented example does df['timestamp'].dt.date: a time, in UTC ("…Z")
    assert isinstance(log["timestamp"], datetime)
    assert log["timestamp"].utcoffset() == timedelta(0)
    assert abs(log["timestamp"] - datetime.now(UTC)) < timedelta(minutes=2)
    for k in ("tool_name", "operation", "user"):
        assert isinstance(log[k], str) and log[k], k
    assert isinstance(log["parameters"], dict) and log["parameters"] == {}
    assert isinstance(log["results"], dict) and log["results"] == {"mean_temperature": 21.4}
    assert isinstance(log["duration_seconds"], float) and log["duration_seconds"] >= 0
    assert log["success"] is True
    assert log["status"] == "success"  # the documented print uses log['status']
    # "note: User-provided note": none given -> falsy (the doc tests `if step['note']:`)
    assert not log["note"]
    # schema: "error_message: Error details if failed"
    assert log["error_message"] in (None, "")
    # outside a git checkout: no branch or commit, and nothing made up
    assert not log["git_branch"] and not log["git_commit"]


def test_recorded_values_come_back_with_their_json_types():
    """"parameters: JSON parameters", "results: JSON results": numbers,
    booleans, lists, nested objects and null come back as they were given."""
    from evident.compat.rtgs import recent_logs

    params = {"project": "Winter Turf - v3", "node_ids": ["LCCMR_01", "LCCMR_02"],
              "limit": 500, "threshold": 0.25, "raw": False, "window": {"days": 7},
              "extra": None}
    results = {"success": True, "records_extracted": 15420, "big": 2 ** 53}
    rec("sensing-data", "extract", utc(2023, 6, 15, 14, 30, 22, 123000),
        parameters=params, results=results, duration_seconds=45.7,
        note="Monthly analysis for winter conditions", git_commit=COMMIT,
        git_branch="feature/analysis")
    [log] = recent_logs()
    assert log["parameters"] == params
    assert log["results"] == results
    assert type(log["results"]["records_extracted"]) is int
    assert log["timestamp"] == utc(2023, 6, 15, 14, 30, 22, 123000)
    assert log["git_commit"] == COMMIT and log["git_branch"] == "feature/analysis"
    assert log["duration_seconds"] == pytest.approx(45.7)


def test_failed_operation_record_fields():
    from evident.compat.rtgs import log_custom_operation, recent_logs

    with pytest.raises(RuntimeError):
        with log_custom_operation("gridded-data", "era5"):
            raise RuntimeError("ERA5 download timed out")
    [log] = recent_logs()
    assert log["success"] is False
    assert log["status"] != "success"
    assert "ERA5 download timed out" in log["error_message"]


# --------------------------------------------------------------------------
# recent_logs / `rtgs audit recent`
# --------------------------------------------------------------------------


def test_recent_logs_parameters_by_position_and_name():
    from evident.compat.rtgs import recent_logs

    now = datetime.now(UTC)
    for i in range(6):
        rec("sensing-data" if i % 2 else "visualization", f"op{i}",
            now - timedelta(minutes=10 - i))
    # limit is the first parameter (CLI order: --limit, --tool-name, --minutes)
    assert [l["operation"] for l in recent_logs(2)] == ["op5", "op4"]
    assert [l["operation"] for l in recent_logs(2, "visualization")] == ["op4", "op2"]
    assert [l["operation"] for l in recent_logs(limit=10, tool_name="sensing-data", minutes=8)] \
        == ["op5", "op3"]
    # a specific tool name: not every tool whose name starts with it
    rec("sensing-data-v2", "extract", now - timedelta(minutes=1))
    assert [l["tool_name"] for l in recent_logs(tool_name="sensing-data")] == ["sensing-data"] * 3
    assert recent_logs(tool_name="no-such-tool") == []
    assert isinstance(recent_logs(), list)


def test_recent_logs_minutes_keeps_the_default_limit_of_10():
    """"--limit INTEGER: Maximum number of recent logs to return (default: 10)"
    holds when --minutes is given too."""
    from evident.compat.rtgs import recent_logs

    now = datetime.now(UTC)
    for i in range(15):
        rec("sensing-data", f"op{i:02d}", now - timedelta(minutes=30 - i))
    logs = recent_logs(minutes=120)
    assert [l["operation"] for l in logs] == [f"op{i:02d}" for i in range(14, 4, -1)]
    assert len(recent_logs(limit=100, minutes=120)) == 15
    out = cli("recent", "--minutes", "120").stdout
    assert set(re.findall(r"op\d\d", out)) == {f"op{i:02d}" for i in range(5, 15)}


def test_recent_logs_on_a_fresh_store_is_empty_list():
    from evident.compat.rtgs import recent_logs, AuditService

    assert recent_logs() == []
    assert AuditService().get_audit_logs(start_date="2023-06-01", end_date="2023-06-30") == []


# --------------------------------------------------------------------------
# generate_report / `rtgs audit report`
# --------------------------------------------------------------------------


def test_generate_report_date_bounds_to_the_microsecond():
    from evident.compat.rtgs import generate_report

    rec("t", "may", utc(2023, 5, 31, 23, 59, 59, 999999))
    rec("t", "first", utc(2023, 6, 1, 0, 0, 0))
    rec("t", "last", utc(2023, 6, 30, 23, 59, 59, 999999))
    rec("t", "july", utc(2023, 7, 1, 0, 0, 0))
    files = generate_report(start_date="2023-06-01", end_date="2023-06-30", output_dir="r")
    assert sorted(report_day(f) for f in files) == ["2023-06-01", "2023-06-30"]
    text = "".join(Path(f).read_text(encoding="utf-8") for f in files)
    assert "t first" in text and "t last" in text
    assert "t may" not in text and "t july" not in text


def test_generate_report_returns_openable_paths_of_this_call_only():
    """The documented QA example opens every returned path; a reused
    output_dir must not make an earlier call's files part of this result."""
    from evident.compat.rtgs import generate_report

    for d in (2, 12, 22):
        rec("sensing-data", "extract", utc(2023, 6, d, 9, 0))
    first = generate_report(start_date="2023-06-01", end_date="2023-06-15", output_dir="./qa")
    second = generate_report(start_date="2023-06-16", end_date="2023-06-30", output_dir="./qa")
    assert isinstance(first, list) and isinstance(second, list)
    assert sorted(report_day(f) for f in first) == ["2023-06-02", "2023-06-12"]
    assert [report_day(f) for f in second] == ["2023-06-22"]
    for f in first + second:
        with open(f, "r") as fh:
            assert fh.read().startswith("# Audit Report - ")
    assert len(list(Path("qa").glob("*.md"))) == 3


def test_generate_report_same_range_twice_gives_same_files_and_no_duplicates():
    from evident.compat.rtgs import generate_report, create_reproduction_script

    rec("sensing-data", "extract", utc(2023, 6, 2, 9, 0), parameters={"project": "P"})
    a = generate_report("2023-06-01", "2023-06-30", "./audit_reports")
    b = generate_report("2023-06-01", "2023-06-30", "./audit_reports")
    assert sorted(map(str, a)) == sorted(map(str, b)) and len(a) == 1
    text = Path(b[0]).read_text(encoding="utf-8")
    assert "- Total Operations: 1" in text
    info = create_reproduction_script(logs_dir="./audit_reports", output_file="again.sh")
    assert info["operation_count"] == 1


def test_generate_report_without_operations_returns_empty_list():
    from evident.compat.rtgs import generate_report

    rec("sensing-data", "extract", utc(2023, 6, 2, 9, 0))
    assert generate_report(start_date="2024-01-01", end_date="2024-01-31",
                           output_dir="none") == []
    assert generate_report(start_date="2023-06-01", end_date="2023-06-30",
                           output_dir="none", tool_name="visualization") == []
    p = cli("report", "--start-date", "2024-01-01", "--end-date", "2024-01-31")
    assert p.returncode == 0 and "Traceback" not in p.stderr


@pytest.mark.parametrize("bad", ["06/01/2023", "2023-13-01", "2023-02-30", "June 1st"])
def test_generate_report_rejects_dates_not_in_yyyy_mm_dd(bad):
    """"Start date in YYYY-MM-DD format": the Python API refuses other
    text with a ValueError naming it, rather than reporting nothing."""
    from evident.compat.rtgs import generate_report

    rec("sensing-data", "extract", utc(2023, 6, 2, 9, 0))
    with pytest.raises(ValueError, match="start_date"):
        generate_report(start_date=bad, end_date="2023-06-30", output_dir="bad")
    with pytest.raises(ValueError, match="end_date"):
        generate_report(start_date="2023-06-01", end_date=bad, output_dir="bad")
    assert not Path("bad").exists() or not list(Path("bad").iterdir())


def test_generate_report_accepts_path_and_date_objects():
    from evident.compat.rtgs import generate_report

    rec("sensing-data", "extract", utc(2023, 6, 2, 9, 0))
    files = generate_report(date(2023, 6, 1), date(2023, 6, 30), Path("pathlib_out"))
    assert [report_day(f) for f in files] == ["2023-06-02"]
    assert Path(files[0]).resolve().parent == Path("pathlib_out").resolve()


def test_daily_report_summary_with_no_failures_and_a_failed_operation_detail():
    from evident.compat.rtgs import generate_report

    for i in range(3):
        rec("sensing-data", "extract", utc(2023, 6, 2, 9, i), duration_seconds=1.0)
    rec("visualization", "create", utc(2023, 6, 3, 9, 0), success=False,
        error_message="no such parameter: Humidity")
    files = {report_day(f): Path(f).read_text(encoding="utf-8")
             for f in generate_report("2023-06-01", "2023-06-30", "d")}
    lines2 = files["2023-06-02"].splitlines()
    assert "- Total Operations: 3" in lines2
    assert "- Successful: 3 (100.0%)" in lines2
    assert "- Failed: 0 (0.0%)" in lines2
    assert "❌" not in files["2023-06-02"]
    lines3 = files["2023-06-03"].splitlines()
    assert "- Successful: 0 (0.0%)" in lines3
    assert "- Failed: 1 (100.0%)" in lines3
    assert "### 09:00:00 - visualization create ❌" in lines3
    assert "no such parameter: Humidity" in files["2023-06-03"]


def test_weekly_summary_aggregates_only_its_week():
    """"Weekly Summaries: Aggregated statistics and trends over a week period"."""
    from evident.compat.rtgs import ReportService

    # ISO week 2023-W23 is 2023-06-05 .. 2023-06-11
    rec("sensing-data", "extract", utc(2023, 6, 5, 9, 0), duration_seconds=2.0)
    rec("sensing-data", "extract", utc(2023, 6, 7, 9, 0), duration_seconds=4.0)
    rec("visualization", "create", utc(2023, 6, 11, 23, 0), success=False,
        error_message="boom")
    rec("sensing-data", "extract", utc(2023, 6, 12, 9, 0))  # next week
    weekly = ReportService().generate_weekly_reports(
        start_date="2023-06-01", end_date="2023-06-30", output_dir="./weekly_reports")
    assert isinstance(weekly, dict) and len(weekly) == 2
    texts = [Path(p).read_text(encoding="utf-8") for p in weekly.values()]
    w23 = [t for t in texts if "2023-06-05" in t and "2023-06-12" not in t]
    assert len(w23) == 1
    assert "Total Operations: 3" in w23[0]
    assert "Failed: 1" in w23[0]
    assert "sensing-data" in w23[0] and "visualization" in w23[0]


def test_weekly_reports_with_datetime_and_string_dates_agree():
    from evident.compat.rtgs import ReportService

    rec("sensing-data", "extract", utc(2023, 6, 7, 12, 0))
    reporter = ReportService()
    a = reporter.generate_weekly_reports(start_date=datetime(2023, 6, 1, tzinfo=UTC),
                                         end_date=datetime(2023, 6, 30, tzinfo=UTC),
                                         output_dir="a")
    b = reporter.generate_weekly_reports(start_date="2023-06-01", end_date="2023-06-30",
                                         output_dir="b")
    assert list(a) == list(b) and len(a) == 1
    for week, report_path in a.items():
        assert isinstance(week, str) and Path(report_path).exists()


# --------------------------------------------------------------------------
# create_reproduction_script / `rtgs audit reproduce`
# --------------------------------------------------------------------------


def june_pair():
    rec("sensing-data", "extract", utc(2023, 6, 1, 14, 30, 22), git_commit=COMMIT,
        parameters={"project": "Winter Turf - v3", "start_date": "2023-01-01",
                    "end_date": "2023-01-31"},
        note="Monthly analysis for winter conditions")
    rec("visualization", "create", utc(2023, 6, 1, 14, 32, 15), git_commit=COMMIT,
        parameters={"file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv",
                    "parameter": "Temperature", "node_id": "LCCMR_01"})


def test_reproduction_info_types_and_header_agree():
    from evident.compat.rtgs import generate_report, create_reproduction_script

    june_pair()
    rec("gridded-data", "era5", utc(2023, 6, 20, 8, 0), git_commit=COMMIT)
    generate_report("2023-06-01", "2023-06-30", "./logs")
    info = create_reproduction_script(logs_dir="./logs", output_file="reproduce_analysis.sh")
    assert isinstance(info, dict)
    assert isinstance(info["script_path"], str)
    assert type(info["operation_count"]) is int and info["operation_count"] == 3
    assert str(info["start_date"])[:10] == "2023-06-01"
    assert str(info["end_date"])[:10] == "2023-06-20"
    text = Path(info["script_path"]).read_text(encoding="utf-8")
    assert (f"# Original execution timespan: {str(info['start_date'])[:10]} to "
            f"{str(info['end_date'])[:10]}") in text


def test_reproduction_script_is_written_where_output_file_says_and_is_executable(workdir):
    """The output file is relative to the working directory (not to
    logs_dir), and the generated script can be run as ./script.sh."""
    from evident.compat.rtgs import generate_report, create_reproduction_script

    june_pair()
    generate_report("2023-06-01", "2023-06-30", "./logs")
    info = create_reproduction_script(logs_dir="./logs", output_file="reproduce_commands.sh")
    p = Path(info["script_path"])
    assert p.resolve() == (workdir / "reproduce_commands.sh").resolve()
    assert not (workdir / "logs" / "reproduce_commands.sh").exists()
    assert os.access(p, os.X_OK)
    env, calls = stub_path(workdir)
    r = subprocess.run(["./reproduce_commands.sh"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert [c[:3] for c in read_calls(calls) if c[0] == "rtgs"] == [
        ["rtgs", "sensing-data", "extract"], ["rtgs", "visualization", "create"]]


def test_reproduction_script_overwrites_a_pre_created_file(workdir):
    """A file created beforehand (tempfile, or an earlier run) is replaced by
    the script, not appended to and not refused."""
    from evident.compat.rtgs import generate_report, create_reproduction_script

    june_pair()
    generate_report("2023-06-01", "2023-06-30", "./logs")
    fd, name = tempfile.mkstemp(suffix=".sh", dir=workdir)
    os.write(fd, b"echo stale content\n")
    os.close(fd)
    info = create_reproduction_script(logs_dir="./logs", output_file=name)
    text = Path(name).read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash") and "stale content" not in text
    assert text.count("Executing: ") == 2
    info2 = create_reproduction_script(logs_dir="./logs", output_file=name)
    assert Path(name).read_text(encoding="utf-8").count("Executing: ") == 2
    assert info2["operation_count"] == info["operation_count"] == 2


def test_reproduction_without_recorded_commit_has_no_git_checkout(workdir):
    from evident.compat.rtgs import generate_report, create_reproduction_script

    rec("sensing-data", "extract", utc(2023, 6, 1, 9, 0), parameters={"project": "P"})
    generate_report("2023-06-01", "2023-06-01", "./logs")
    info = create_reproduction_script(logs_dir="./logs", output_file="run.sh")
    text = Path(info["script_path"]).read_text(encoding="utf-8")
    assert "git checkout" not in text and "None" not in text and "null" not in text
    env, calls = stub_path(workdir)
    r = subprocess.run(["bash", info["script_path"]], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    [call] = read_calls(calls)
    assert call[:5] == ["rtgs", "sensing-data", "extract", "--project", "P"]
    assert call[5] == "--note" and call[6].startswith("Reproduction") and len(call) == 7


def test_reproduction_from_a_missing_logs_dir_is_an_error():
    from evident.compat.rtgs import create_reproduction_script

    with pytest.raises(FileNotFoundError):
        create_reproduction_script(logs_dir="./no_such_logs", output_file="x.sh")
    assert not Path("x.sh").exists()
    p = cli("reproduce", "--logs-dir", "./no_such_logs", check=False)
    assert p.returncode != 0
    assert "no_such_logs" in p.stderr and "Traceback" not in p.stderr
    assert not Path("reproduce_commands.sh").exists()


def test_reproduction_from_an_empty_logs_dir_is_a_script_that_does_nothing(workdir):
    from evident.compat.rtgs import create_reproduction_script

    Path("logs").mkdir()
    info = create_reproduction_script()  # documented defaults: logs, reproduce_commands.sh
    assert info["operation_count"] == 0
    assert Path(info["script_path"]).name == "reproduce_commands.sh"
    env, calls = stub_path(workdir)
    r = subprocess.run(["bash", info["script_path"]], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert read_calls(calls) == []


def test_curated_logs_dir_may_hold_other_files():
    """"Create script from curated log files": a curator's notes next to the
    reports are not operations and do not break the script."""
    from evident.compat.rtgs import generate_report, create_reproduction_script

    june_pair()
    generate_report("2023-06-01", "2023-06-30", "./logs")
    Path("logs/README.txt").write_text("kept these for the paper\n")
    Path("logs/notes.md").write_text("# Notes\n\n- rerun with new calibration\n")
    info = create_reproduction_script(logs_dir="./logs", output_file="curated.sh")
    assert info["operation_count"] == 2


def test_weekly_example_reports_then_reproduce_the_whole_reports_tree(workdir):
    """The documented weekly example writes ./reports/week_YYYYMMDD/ with
    consecutive, inclusive ranges (a boundary day is in two weeks); the
    reproduction script of ./reports has each operation once, in time order."""
    from evident.compat.rtgs import generate_report

    first = datetime.now() - timedelta(days=30)
    # one operation at noon (UTC) of each day two weeks' reports share
    for k in range(1, 5):
        day = (first + timedelta(days=7 * k)).date()
        rec("sensing-data", "extract", datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
            parameters={"step": f"s{k}"})

    # the documented example, unchanged
    end_date = datetime.now()
    start_date = end_date - timedelta(days=30)
    current_date = start_date
    week_reports = []
    while current_date < end_date:
        week_end = min(current_date + timedelta(days=7), end_date)
        report_files = generate_report(
            start_date=current_date.strftime("%Y-%m-%d"),
            end_date=week_end.strftime("%Y-%m-%d"),
            output_dir=f"./reports/week_{current_date.strftime('%Y%m%d')}"
        )
        week_reports.append({'week': current_date.strftime('%Y-%m-%d'), 'files': report_files})
        current_date = week_end

    all_files = [f for w in week_reports for f in w["files"]]
    assert len(all_files) == 8  # each boundary day's report is in two week directories
    assert len({report_day(f) for f in all_files}) == 4
    p = cli("reproduce", "--logs-dir", "./reports", "--output-file", "month.sh")
    text = Path("month.sh").read_text(encoding="utf-8")
    steps = re.findall(r'--step "(s\d)"', text)
    assert steps == ["s1", "s2", "s3", "s4"], p.stdout


def test_shared_reports_reproduce_on_a_machine_without_the_log(workdir, monkeypatch):
    """"Collaboration and Sharing": the reports directory is what is shared;
    a collaborator with an empty audit store of their own gets the same
    script from it."""
    from evident.compat.rtgs import generate_report, create_reproduction_script, recent_logs

    june_pair()
    generate_report("2023-06-01", "2023-06-30", "./shared_analysis_logs")
    mine = create_reproduction_script(logs_dir="./shared_analysis_logs", output_file="mine.sh")
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(workdir / "collaborator_store"))
    assert recent_logs() == []
    theirs = create_reproduction_script(logs_dir="./shared_analysis_logs",
                                        output_file="shared_analysis_reproduction.sh")
    assert theirs["operation_count"] == mine["operation_count"] == 2
    assert (theirs["start_date"], theirs["end_date"]) == (mine["start_date"], mine["end_date"])
    body = lambda p: Path(p).read_text(encoding="utf-8").split("\n", 2)[2]  # noqa: E731
    assert body(theirs["script_path"]) == body(mine["script_path"])


def test_reproduction_checks_out_each_operations_commit(workdir):
    """"Git state management: Checks out correct commits for each operation"."""
    from evident.compat.rtgs import generate_report, create_reproduction_script

    a, b = "a" * 40, "b" * 40
    for i, c in enumerate([a, b, a]):
        rec("sensing-data", f"op{i}", utc(2023, 6, 1, 10, i), git_commit=c)
    generate_report("2023-06-01", "2023-06-01", "./logs")
    info = create_reproduction_script(logs_dir="./logs", output_file="run.sh")
    env, calls = stub_path(workdir)
    r = subprocess.run(["bash", info["script_path"]], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    seq = [(c[0], c[2] if c[0] == "rtgs" else c[1:]) for c in read_calls(calls)]
    assert seq == [("git", ["checkout", a]), ("rtgs", "op0"), ("git", ["checkout", b]),
                   ("rtgs", "op1"), ("git", ["checkout", a]), ("rtgs", "op2")]


def test_importing_the_documented_log_entry_with_its_text_timestamp():
    """The "Log Entry Format" example, imported as README says
    (record_operation(..., timestamp=...)) with its own text timestamp."""
    from evident.compat.rtgs import record_operation, recent_logs

    doc = {
        "timestamp": "2023-06-15T14:30:22.123Z",
        "operation_id": str(uuid.uuid4()),
        "tool_name": "sensing-data",
        "operation": "extract",
        "user": "username",
        "git_branch": "feature/analysis",
        "git_commit": COMMIT,
        "parameters": {"project": "Winter Turf - v3", "start_date": "2023-01-01",
                       "end_date": "2023-01-31"},
        "results": {"success": True, "records_extracted": 15420,
                    "output_file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv"},
        "duration_seconds": 45.7,
        "note": "Monthly analysis for winter conditions",
    }
    e = dict(doc)
    record_operation(e.pop("tool_name"), e.pop("operation"), timestamp=e.pop("timestamp"), **e)
    [log] = recent_logs()
    assert log["timestamp"] == utc(2023, 6, 15, 14, 30, 22, 123000)
    for k, v in doc.items():
        if k == "timestamp":
            continue
        assert log[k] == (pytest.approx(v) if k == "duration_seconds" else v), k
    assert list(log["parameters"]) == ["project", "start_date", "end_date"]
    assert list(log["results"]) == ["success", "records_extracted", "output_file"]


def test_unicode_survives_log_report_and_script(workdir):
    from evident.compat.rtgs import (generate_report, create_reproduction_script,
                                     log_custom_operation, recent_logs)

    project = "Été – Température (°C) 日本語 ✓"
    with log_custom_operation("sensing-data", "extract") as lg:
        lg.add_result("output_file", "./data/Été_日本語.csv")
        lg.add_note("Analyse d'été — première passe")
    rec("visualization", "create", utc(2023, 6, 1, 10, 0), parameters={"project": project},
        note="Überprüfung")
    logs = recent_logs(limit=5)
    assert logs[0]["results"]["output_file"] == "./data/Été_日本語.csv"
    assert logs[0]["note"] == "Analyse d'été — première passe"
    assert logs[1]["parameters"]["project"] == project
    [f] = generate_report("2023-06-01", "2023-06-01", "./u")
    assert f"- **Project**: {project}" in Path(f).read_text(encoding="utf-8").splitlines()
    info = create_reproduction_script(logs_dir="./u", output_file="u.sh")
    env, calls = stub_path(workdir)
    r = subprocess.run(["bash", info["script_path"]], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    [call] = [c for c in read_calls(calls) if c[0] == "rtgs"]
    assert call[call.index("--project") + 1] == project
    assert call[call.index("--note") + 1] == "Reproduction: Überprüfung"
    out = cli("recent", "--limit", "5").stdout
    assert "sensing-data" in out and "visualization" in out


def test_cli_works_under_the_c_locale():
    from evident.compat.rtgs import log_custom_operation

    with log_custom_operation("sensing-data", "extract") as lg:
        lg.add_note("température")
    rec("sensing-data", "extract", utc(2023, 6, 2, 9, 0), parameters={"project": "Été"})
    env = dict(os.environ, LC_ALL="C", LANG="C")
    env.pop("PYTHONIOENCODING", None)
    for args in (("recent",), ("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30"),
                 ("reproduce",), ("postgres-logging-status",)):
        p = cli(*args, env=env, check=False)
        assert p.returncode == 0 and "Traceback" not in p.stderr, (args, p.stderr)


def test_large_details_round_trip():
    from evident.compat.rtgs import log_custom_operation, recent_logs, generate_report

    blob = "x" * (2 * 1024 * 1024)
    series = list(range(100_000))
    with log_custom_operation("sensing-data", "extract") as lg:
        lg.add_result("raw", blob)
        lg.add_result("series", series)
    [log] = recent_logs()
    assert log["results"]["raw"] == blob and log["results"]["series"] == series
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert len(generate_report(today, today, "./big")) == 1
    from evident.compat.rtgs import log_path

    assert evident.verify(log_path()).valid


# --------------------------------------------------------------------------
# log_custom_operation: the ways the prose implies it is used
# --------------------------------------------------------------------------


def test_several_processes_log_at_once_and_the_log_stays_valid(workdir):
    """"automatically tracks operations from all other … modules": tools
    running in parallel processes all end up in the log."""
    child = workdir / "child.py"
    child.write_text(
        "import sys\nfrom evident.compat.rtgs import log_custom_operation\n"
        "for i in range(10):\n"
        "    with log_custom_operation(f'tool{sys.argv[1]}', f'op{i}') as lg:\n"
        "        lg.add_result('i', i)\n")
    procs = [subprocess.Popen([sys.executable, str(child), str(k)], env=os.environ.copy(),
                              stderr=subprocess.PIPE, text=True) for k in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    from evident.compat.rtgs import recent_logs, log_path

    logs = recent_logs(limit=1000)
    assert len(logs) == 40
    assert len({l["operation_id"] for l in logs}) == 40
    for k in range(4):
        ops = sorted(int(l["operation"][2:]) for l in logs if l["tool_name"] == f"tool{k}")
        assert ops == list(range(10))
    res = evident.verify(log_path())
    assert res.valid


def _pool_work(i):
    from evident.compat.rtgs import log_custom_operation

    with log_custom_operation("pool", f"op{i}") as lg:
        lg.add_result("i", i)
    return i


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_forked_workers_log_after_the_parent_has():
    """Research code parallelises with multiprocessing (fork): workers
    forked after the parent logged record their operations too."""
    import multiprocessing as mp
    from evident.compat.rtgs import log_custom_operation, recent_logs, log_path

    with log_custom_operation("pool", "start"):
        pass
    with mp.get_context("fork").Pool(3) as pool:
        assert sorted(pool.map(_pool_work, range(12))) == list(range(12))
    with log_custom_operation("pool", "end"):
        pass
    ops = [l["operation"] for l in recent_logs(limit=100)]
    assert ops[0] == "end" and ops[-1] == "start"
    assert sorted(ops[1:-1]) == sorted(f"op{i}" for i in range(12))
    assert evident.verify(log_path()).valid


def test_threads_log_at_once():
    from evident.compat.rtgs import log_custom_operation, recent_logs

    errors = []

    def work(k):
        try:
            for i in range(10):
                with log_custom_operation(f"thread{k}", f"op{i}") as lg:
                    lg.add_result("i", i)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errors
    assert len(recent_logs(limit=1000)) == 40


def test_reopen_and_continue_across_processes():
    from evident.compat.rtgs import log_custom_operation, recent_logs, log_path

    code = ("from evident.compat.rtgs import log_custom_operation as l\n"
            "with l('sensing-data', 'extract') as g: g.add_note('{}')\n")
    subprocess.run([sys.executable, "-c", code.format("first")], check=True,
                   env=os.environ.copy())
    with log_custom_operation("visualization", "create") as lg:
        lg.add_note("second")
    subprocess.run([sys.executable, "-c", code.format("third")], check=True,
                   env=os.environ.copy())
    assert [l["note"] for l in recent_logs()] == ["third", "second", "first"]
    assert evident.verify(log_path()).valid


def test_nested_operations_are_both_recorded():
    from evident.compat.rtgs import log_custom_operation, recent_logs

    with log_custom_operation("workflow", "monthly") as outer:
        with log_custom_operation("sensing-data", "extract") as inner:
            inner.add_result("records_extracted", 10)
        outer.add_result("steps", 1)
    logs = recent_logs()
    assert [(l["tool_name"], l["operation"]) for l in logs] == [
        ("workflow", "monthly"), ("sensing-data", "extract")]
    assert logs[0]["operation_id"] != logs[1]["operation_id"]
    assert logs[0]["duration_seconds"] >= logs[1]["duration_seconds"]


def test_interrupted_operation_is_recorded_as_failed_and_interrupt_propagates():
    from evident.compat.rtgs import log_custom_operation, recent_logs

    with pytest.raises(KeyboardInterrupt):
        with log_custom_operation("sensing-data", "extract") as lg:
            lg.add_result("records_extracted", 3)
            raise KeyboardInterrupt
    [log] = recent_logs()
    assert log["success"] is False
    assert log["results"] == {"records_extracted": 3}


def test_later_add_note_replaces_and_results_accumulate():
    from evident.compat.rtgs import log_custom_operation, recent_logs

    with log_custom_operation("custom_analysis", "statistical_summary") as logger:
        logger.add_result("mean_temperature", 1.5)
        logger.add_result("std_temperature", 0.5)
        logger.add_note("draft")
        logger.add_note("Statistical summary of temperature data")
    [log] = recent_logs()
    assert log["results"] == {"mean_temperature": 1.5, "std_temperature": 0.5}
    assert log["note"] == "Statistical summary of temperature data"


# --------------------------------------------------------------------------
# Global logging control
# --------------------------------------------------------------------------


def test_logging_is_enabled_by_default_and_switch_takes_positional_argument():
    from evident.compat.rtgs import get_logging_status, set_global_logging

    st = get_logging_status()
    assert isinstance(st, dict) and st["enabled"] is True
    set_global_logging(False)
    assert get_logging_status()["enabled"] is False
    set_global_logging(True)
    assert get_logging_status()["enabled"] is True


def test_reading_reports_and_scripts_still_work_while_logging_is_off():
    """"Disable logging (operations will still work but won't be logged)":
    the audit module's own readers are operations too."""
    from evident.compat.rtgs import (set_global_logging, recent_logs, generate_report,
                                     create_reproduction_script, AuditService,
                                     log_custom_operation)

    june_pair()
    with log_custom_operation("sensing-data", "list-projects"):
        pass
    set_global_logging(enabled=False)
    try:
        assert len(recent_logs()) == 3
        assert len(AuditService().get_audit_logs(start_date="2023-06-01",
                                                 end_date="2023-06-30")) == 2
        files = generate_report("2023-06-01", "2023-06-30", "./off")
        assert len(files) == 1
        info = create_reproduction_script(logs_dir="./off", output_file="off.sh")
        assert info["operation_count"] == 2
        out = cli("recent").stdout
        assert "list-projects" in out
        with log_custom_operation("sensing-data", "not-logged"):
            pass
        assert len(recent_logs()) == 3
    finally:
        set_global_logging(enabled=True)


# --------------------------------------------------------------------------
# CLI: documented options and defaults
# --------------------------------------------------------------------------


def test_cli_help_names_every_documented_option_and_default():
    h = cli("recent", "--help").stdout
    for opt in ("--limit", "--tool-name", "--minutes"):
        assert opt in h
    assert "10" in h
    h = cli("report", "--help").stdout
    for opt in ("--start-date", "--end-date", "--tool-name", "--output-dir"):
        assert opt in h
    assert "logs" in h
    h = cli("reproduce", "--help").stdout
    for opt in ("--logs-dir", "--output-file", "--recent", "--minutes"):
        assert opt in h
    assert "reproduce_commands.sh" in h
    top = cli("--help").stdout
    for sub in ("recent", "report", "reproduce", "postgres-logging-status",
                "enable-postgres-logging", "disable-postgres-logging"):
        assert sub in top


def test_cli_report_relative_output_dir_is_relative_to_the_working_directory(workdir):
    rec("sensing-data", "extract", utc(2023, 6, 2, 9, 0))
    sub = workdir / "project"
    sub.mkdir()
    cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30",
        "--output-dir", "./audit_reports", cwd=sub)
    assert [p.name for p in (sub / "audit_reports").iterdir()] == ["audit_report_2023-06-02.md"]
    cli("reproduce", "--logs-dir", "./audit_reports", "--output-file", "again.sh", cwd=sub)
    assert (sub / "again.sh").exists()


def test_cli_reproduce_recent_with_nothing_recent_succeeds(workdir):
    rec("sensing-data", "extract", utc(2023, 6, 2, 9, 0))
    p = cli("reproduce", "--recent", "--minutes", "30", "--output-file", "recent_work.sh")
    assert "Traceback" not in p.stderr
    text = (workdir / "recent_work.sh").read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash") and "Executing: " not in text


# --------------------------------------------------------------------------
# PostgreSQL (EVIDENT_PG_URL: scripts/test.sh starts scripts/pg-cluster.sh)
# --------------------------------------------------------------------------


def _pg_url():
    import shutil

    url = os.environ.get("EVIDENT_PG_URL", "")
    if not url or shutil.which("psql") is None:
        if os.environ.get("CI") == "true" or os.environ.get("EVIDENT_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL is required (EVIDENT_PG_URL and psql)")
        pytest.skip("EVIDENT_PG_URL is not set (no PostgreSQL server)")
    return url


def test_postgres_audit_logs_columns_hold_the_documented_types_and_values(monkeypatch):
    """"The audit system uses PostgreSQL for storage with the following
    tables: audit_logs" (README/docs: the view evident.audit_logs, read
    with search_path = evident, public): each documented column holds the
    operation's value, with a SQL type that fits its description."""
    from urllib.parse import urlsplit, urlunsplit

    url = _pg_url()
    name = f"rtgs_outsider_{uuid.uuid4().hex[:12]}"
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True, timeout=60)
    u = urlsplit(url)
    db = urlunsplit((u.scheme, u.netloc, "/" + name, u.query, ""))
    Path(".env").write_text(
        "# In .env file\n"
        f"POSTGRES_HOST={u.hostname}\nPOSTGRES_PORT={u.port or 5432}\n"
        f"POSTGRES_DB={name}\nPOSTGRES_USER={u.username or ''}\n"
        f"POSTGRES_PASSWORD={u.password or ''}\n")
    from evident.compat.rtgs import recent_logs, get_logging_status

    assert get_logging_status()["storage"] == "postgresql"
    rec("sensing-data", "extract", utc(2023, 6, 15, 14, 30, 22, 123000), git_commit=COMMIT,
        git_branch="feature/analysis", duration_seconds=45.7,
        parameters={"project": "Winter Turf - v3", "start_date": "2023-01-01"},
        results={"success": True, "records_extracted": 15420},
        note="Monthly analysis for winter conditions")
    rec("visualization", "create", utc(2023, 6, 15, 14, 32, 15), success=False,
        error_message="no such parameter")
    logs = recent_logs()
    assert [l["operation"] for l in logs] == ["create", "extract"]

    def sql(q):
        p = subprocess.run(["psql", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", db, "-c",
                            "SET search_path = evident, public", "-c", q],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return [l for l in p.stdout.splitlines() if l != "SET"]

    types = dict(r.split("|") for r in sql(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'evident' AND table_name = 'audit_logs'"))
    assert types["timestamp"].startswith("timestamp")
    assert types["success"] == "boolean"
    assert types["parameters"] in ("json", "jsonb") and types["results"] in ("json", "jsonb")
    assert types["duration_seconds"] in ("numeric", "double precision", "real")
    for col in ("operation_id", "tool_name", "operation", "user_name", "git_branch",
                "git_commit_hash", "error_message", "note"):
        assert types[col] in ("text", "character varying"), (col, types[col])
    rows = sql("SELECT operation_id, tool_name, operation, user_name, git_branch, "
               "git_commit_hash, parameters->>'project', (results->>'records_extracted')::int, "
               "duration_seconds, success, coalesce(error_message, ''), note, "
               "to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS') "
               "FROM audit_logs ORDER BY timestamp")
    extract = logs[1]
    assert rows[0].split("|") == [
        extract["operation_id"], "sensing-data", "extract", "username", "feature/analysis",
        COMMIT, "Winter Turf - v3", "15420", rows[0].split("|")[8], "t", "",
        "Monthly analysis for winter conditions", "2023-06-15T14:30:22.123"]
    assert float(rows[0].split("|")[8]) == pytest.approx(45.7)
    v = rows[1].split("|")
    assert v[1:4] == ["visualization", "create", "username"]
    assert v[9] == "f" and v[10] == "no such parameter"
    ids = sql("SELECT id FROM audit_logs")
    assert len(ids) == 2 and len(set(ids)) == 2 and all(ids)


def test_a_write_cut_short_by_a_crash_loses_no_operation():
    """README: "A writer survives being killed at any instant … a torn final
    record is moved aside into a sidecar file, never dropped": the readers
    still work, the next operation is recorded and the log verifies."""
    from evident.compat.rtgs import log_custom_operation, recent_logs, log_path, generate_report

    for i in range(3):
        with log_custom_operation("sensing-data", f"op{i}"):
            pass
    p = log_path()
    last = p.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[1]
    with open(p, "ab") as f:
        f.write(last[: len(last) // 2])  # half of a fourth record, as a crash leaves it
    assert [l["operation"] for l in recent_logs()] == ["op2", "op1", "op0"]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert len(generate_report(today, today, "./crash")) == 1
    with log_custom_operation("sensing-data", "after"):
        pass
    assert [l["operation"] for l in recent_logs()] == ["after", "op2", "op1", "op0"]
    assert evident.verify(p).valid
    torn = [q for q in p.parent.iterdir() if ".torn" in q.name]
    assert len(torn) == 1 and torn[0].read_bytes() == last[: len(last) // 2]


def test_custom_script_filters_take_one_name_as_well_as_a_list():
    """config "include_tools" / "exclude_operations" name tools and
    operations; one name given as a plain string means that name (not its
    characters, which silently matched nothing)."""
    from evident.compat.rtgs import generate_report, create_custom_reproduction_script

    june_pair()
    rec("sensing-data", "list-projects", utc(2023, 6, 1, 15, 0))
    generate_report("2023-06-01", "2023-06-01", "./filtered_logs")
    one = create_custom_reproduction_script(
        logs_dir="./filtered_logs", output_file="one.sh",
        config={"include_tools": "sensing-data", "exclude_operations": "list-projects"})
    listed = create_custom_reproduction_script(
        logs_dir="./filtered_logs", output_file="listed.sh",
        config={"include_tools": ["sensing-data"], "exclude_operations": ["list-projects"]})
    assert one["operation_count"] == listed["operation_count"] == 1
    text = Path(one).read_text(encoding="utf-8")
    assert "rtgs sensing-data extract" in text and "list-projects" not in text
