"""Clean-room acceptance tests of evident.compat.rtgs against seed 002
(RTGS Lab Tools audit module documentation).

Every documented example is transcribed with only its import line changed
(``rtgs_lab_tools.audit*`` -> ``evident.compat.rtgs``, ``rtgs audit`` ->
``python -m evident.compat.rtgs``) and its documented effect is asserted.

The operations the examples take for granted (sensing-data extracts and
visualizations of June 2023) are written into the log beforehand through the compat module's ``record_operation`` (its import path for
operations recorded elsewhere, with their timestamps).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import evident

UTC = timezone.utc


# --------------------------------------------------------------------------
# set-up helpers
# --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def rtgs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "_rtgs_store"
    d.mkdir()
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(d))
    for v in ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER",
              "POSTGRES_PASSWORD"):
        monkeypatch.delenv(v, raising=False)
    return d


def _log_path() -> Path:
    return Path(os.environ["EVIDENT_RTGS_DIR"]) / "audit.jsonl"


def seed(ops):
    """Append operations (dicts) to the RTGS log with explicit timestamps,
    through the compat module's import path (``record_operation``), as the
    tool modules of RTGS would record them."""
    from evident.compat.rtgs import record_operation

    for op in ops:
        record_operation(
            op["tool_name"],
            op["operation"],
            parameters=op.get("parameters", {}),
            results=op.get("results", {}),
            success=op.get("success", True),
            duration_seconds=op.get("duration_seconds", 1.0),
            error_message=op.get("error_message"),
            note=op.get("note"),
            user=op.get("user", "username"),
            git_branch=op.get("git_branch", "main"),
            git_commit=op.get("git_commit", COMMIT_A),
            operation_id=op.get("operation_id"),
            timestamp=op["ts"],
        )


COMMIT_A = "abc123def4567890abc123def4567890abc123de"
COMMIT_B = "def4567890abc123def4567890abc123def45678"

DOC_ENTRY = {
    "ts": datetime(2023, 6, 15, 14, 30, 22, 123000, tzinfo=UTC),
    "operation_id": "0b4a6c8e-1f2d-4e3a-9b5c-6d7e8f9a0b1c",
    "tool_name": "sensing-data",
    "operation": "extract",
    "user": "username",
    "git_branch": "feature/analysis",
    "git_commit": COMMIT_A,
    "parameters": {
        "project": "Winter Turf - v3",
        "start_date": "2023-01-01",
        "end_date": "2023-01-31",
    },
    "results": {
        "success": True,
        "records_extracted": 15420,
        "output_file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv",
    },
    "duration_seconds": 45.7,
    "note": "Monthly analysis for winter conditions",
}


def june_15_day():
    """12 operations on 2023-06-15: 11 successful, 1 failed, 3 tools."""
    ops = [dict(DOC_ENTRY)]
    t0 = datetime(2023, 6, 15, 14, 35, 0, tzinfo=UTC)
    tools = ["visualization", "gridded-data", "sensing-data", "visualization",
             "gridded-data", "sensing-data", "visualization", "gridded-data",
             "sensing-data", "visualization", "gridded-data"]
    for i, tool in enumerate(tools):
        op = {
            "ts": t0 + timedelta(minutes=i),
            "tool_name": tool,
            "operation": "create" if tool == "visualization" else "extract",
            "parameters": {"project": "Winter Turf - v3"},
            "results": {"success": True},
            "duration_seconds": 2.0 + i,
        }
        if i == 4:  # the failure
            op["success"] = False
            op["results"] = {"success": False}
            op["error_message"] = "ERA5 download timed out"
        ops.append(op)
    return ops


def june_1_pair():
    """The two operations of the documented reproduction script."""
    return [
        {
            "ts": datetime(2023, 6, 1, 14, 30, 22, tzinfo=UTC),
            "tool_name": "sensing-data",
            "operation": "extract",
            "git_commit": COMMIT_A,
            "parameters": {"project": "Winter Turf - v3",
                           "start_date": "2023-01-01",
                           "end_date": "2023-01-31"},
            "results": {"success": True, "records_extracted": 15420,
                        "output_file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv"},
            "duration_seconds": 45.7,
            "note": "Monthly analysis for winter conditions",
        },
        {
            "ts": datetime(2023, 6, 1, 14, 32, 15, tzinfo=UTC),
            "tool_name": "visualization",
            "operation": "create",
            "git_commit": COMMIT_B,
            "parameters": {"file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv",
                           "parameter": "Temperature",
                           "node_id": "LCCMR_01"},
            "results": {"success": True, "output_file": "./figures/temp.png"},
            "duration_seconds": 3.2,
            "note": "Temperature analysis visualization",
        },
    ]


def june_edges():
    return [
        {"ts": datetime(2023, 5, 31, 23, 59, 0, tzinfo=UTC), "tool_name": "sensing-data",
         "operation": "extract", "parameters": {"project": "MAY-OUTSIDE"}},
        {"ts": datetime(2023, 6, 30, 23, 0, 0, tzinfo=UTC), "tool_name": "gridded-data",
         "operation": "era5", "parameters": {"variables": "2m_temperature"}},
        {"ts": datetime(2023, 7, 1, 0, 30, 0, tzinfo=UTC), "tool_name": "sensing-data",
         "operation": "extract", "parameters": {"project": "JULY-OUTSIDE"}},
    ]


def seed_june():
    seed(june_1_pair() + june_15_day() + june_edges())


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-m", "evident.compat.rtgs", *args],
                       capture_output=True, text=True, timeout=60, env=os.environ.copy())
    if check:
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p


def capture(fn):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fn()
    return buf.getvalue()


def to_dt(v) -> datetime:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    if hasattr(v, "to_pydatetime"):
        return to_dt(v.to_pydatetime())
    s = str(v).replace("Z", "+00:00")
    d = datetime.fromisoformat(s)
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def md_files(d: Path):
    return sorted(p for p in Path(d).rglob("*.md"))


def days_in(files):
    out = {}
    for f in files:
        first = Path(f).read_text(encoding="utf-8").splitlines()[0]
        m = re.fullmatch(r"# Audit Report - (\d{4}-\d{2}-\d{2})", first)
        assert m, first
        out[m.group(1)] = Path(f)
    return out


def now():
    return datetime.now(UTC)


DOC_KEYS = {"timestamp", "operation_id", "tool_name", "operation", "user", "git_branch",
            "git_commit", "parameters", "results", "duration_seconds", "note"}


# --------------------------------------------------------------------------
# Log entry format / custom operation logging
# --------------------------------------------------------------------------


def test_log_entry_format_all_documented_keys_and_values():
    seed([DOC_ENTRY])
    from evident.compat.rtgs import recent_logs

    logs = recent_logs()
    assert isinstance(logs, list) and len(logs) == 1
    log = logs[0]
    assert isinstance(log, dict)
    assert DOC_KEYS <= set(log), DOC_KEYS - set(log)
    assert to_dt(log["timestamp"]) == DOC_ENTRY["ts"]
    for k in ("operation_id", "tool_name", "operation", "user", "git_branch", "git_commit",
              "parameters", "note"):
        assert log[k] == DOC_ENTRY[k], k
    assert log["results"] == DOC_ENTRY["results"]
    assert log["duration_seconds"] == pytest.approx(45.7)
    # used by the documented examples (log['success'], 'success' column)
    assert log["success"] is True


def test_custom_operation_logging_example():
    from evident.compat.rtgs import log_custom_operation, recent_logs

    class Results:
        def mean(self):
            return 12.5

        def std(self):
            return 1.25

    def perform_statistical_analysis(data):
        return Results()

    data = [1, 2, 3]
    with log_custom_operation("custom_analysis", "statistical_summary") as logger:
        results = perform_statistical_analysis(data)
        logger.add_result("mean_temperature", results.mean())
        logger.add_result("std_temperature", results.std())
        logger.add_note("Statistical summary of temperature data")

    logs = recent_logs()
    assert len(logs) == 1
    log = logs[0]
    assert DOC_KEYS <= set(log), DOC_KEYS - set(log)
    assert log["tool_name"] == "custom_analysis"
    assert log["operation"] == "statistical_summary"
    assert log["results"]["mean_temperature"] == 12.5
    assert log["results"]["std_temperature"] == 1.25
    assert log["note"] == "Statistical summary of temperature data"
    assert log["success"] is True
    assert isinstance(log["duration_seconds"], float) and log["duration_seconds"] >= 0
    uuid.UUID(str(log["operation_id"]))
    import getpass
    assert log["user"] == getpass.getuser()
    assert abs((to_dt(log["timestamp"]) - now()).total_seconds()) < 120


def test_custom_operation_duration_is_measured():
    import time
    from evident.compat.rtgs import log_custom_operation, recent_logs

    with log_custom_operation("custom_analysis", "slow_step"):
        time.sleep(0.25)
    d = recent_logs()[0]["duration_seconds"]
    assert 0.25 <= d < 5


def test_custom_operation_ids_are_unique():
    from evident.compat.rtgs import log_custom_operation, recent_logs

    for _ in range(3):
        with log_custom_operation("custom_analysis", "step"):
            pass
    ids = [l["operation_id"] for l in recent_logs()]
    assert len(ids) == 3 and len(set(ids)) == 3


def test_custom_operation_failure_is_recorded_as_failed():
    from evident.compat.rtgs import log_custom_operation, recent_logs

    with contextlib.suppress(ValueError):
        with log_custom_operation("custom_analysis", "broken_step") as logger:
            logger.add_note("will fail")
            raise ValueError("bad input data")
    logs = recent_logs()
    assert len(logs) == 1
    assert logs[0]["success"] is False
    assert logs[0]["operation"] == "broken_step"


def test_custom_operation_records_git_branch_and_commit(workdir: Path):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@x")
    run = lambda *a: subprocess.run(["git", *a], cwd=workdir, env=env, check=True,
                                    capture_output=True, text=True).stdout.strip()
    run("init", "-q")
    (workdir / "f.txt").write_text("x")
    run("add", "f.txt")
    run("commit", "-q", "-m", "init")
    run("checkout", "-q", "-b", "feature/analysis")
    head = run("rev-parse", "HEAD")

    from evident.compat.rtgs import log_custom_operation, recent_logs

    with log_custom_operation("custom_analysis", "statistical_summary"):
        pass
    log = recent_logs()[0]
    assert log["git_branch"] == "feature/analysis"
    assert log["git_commit"] and head.startswith(log["git_commit"])


def test_entries_are_tamper_evident():
    """The compat log is an evident log: verify passes, then detects an edit."""
    from evident.compat.rtgs import log_custom_operation

    for i in range(3):
        with log_custom_operation("custom_analysis", f"step{i}") as lg:
            lg.add_result("i", i)
    path = _log_path()
    assert evident.verify(path).valid
    text = path.read_text(encoding="utf-8")
    assert '"step1"' in text
    path.write_text(text.replace('"step1"', '"stepX"'), encoding="utf-8")
    assert not evident.verify(path).valid


# --------------------------------------------------------------------------
# Python API: recent_logs / generate_report / create_reproduction_script
# --------------------------------------------------------------------------


def test_import_and_basic_usage_example(workdir: Path):
    seed_june()
    # extra recent sensing-data operations (more than 20) + other tools
    base = now() - timedelta(minutes=50)
    seed([{"ts": base + timedelta(seconds=i), "tool_name": "sensing-data",
           "operation": f"op{i:02d}"} for i in range(25)]
         + [{"ts": base + timedelta(seconds=30), "tool_name": "visualization",
             "operation": "create"}])
    from evident.compat.rtgs import recent_logs, generate_report, create_reproduction_script

    def example():
        logs = recent_logs(limit=20, tool_name="sensing-data")
        for log in logs:
            print(f"{log['timestamp']}: {log['operation']} - {log['status']}")
        example.logs = logs

        report_files = generate_report(
            start_date="2023-06-01",
            end_date="2023-06-30",
            output_dir="./audit_reports"
        )
        print(f"Generated {len(report_files)} report files")
        example.report_files = report_files

        script_info = create_reproduction_script(
            logs_dir="./audit_reports",
            output_file="reproduce_june_analysis.sh"
        )
        print(f"Created reproduction script: {script_info['script_path']}")
        example.script_info = script_info

    out = capture(example)
    logs = example.logs
    assert len(logs) == 20
    assert all(l["tool_name"] == "sensing-data" for l in logs)
    # the 20 most recent sensing-data operations
    assert {l["operation"] for l in logs} == {f"op{i:02d}" for i in range(5, 25)}
    assert len(out.splitlines()) == 20 + 2

    files = example.report_files
    days = days_in(files)
    assert set(days) == {"2023-06-01", "2023-06-15", "2023-06-30"}
    for f in files:
        assert Path(f).exists()
        assert Path(f).resolve().parent == (workdir / "audit_reports").resolve()
    assert f"Generated {len(files)} report files" in out

    info = example.script_info
    assert isinstance(info, dict)
    sp = Path(info["script_path"])
    assert sp.exists() and sp.name == "reproduce_june_analysis.sh"
    assert f"Created reproduction script: {info['script_path']}" in out
    text = sp.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash")
    # the 15 operations of June (2 + 12 + 1) from the reports
    assert text.count("Executing: ") == 15
    assert "MAY-OUTSIDE" not in text and "JULY-OUTSIDE" not in text


def test_recent_logs_defaults_limit_10():
    base = now() - timedelta(minutes=30)
    seed([{"ts": base + timedelta(seconds=i), "tool_name": "sensing-data",
           "operation": f"op{i:02d}"} for i in range(15)])
    from evident.compat.rtgs import recent_logs

    logs = recent_logs()
    assert len(logs) == 10
    assert {l["operation"] for l in logs} == {f"op{i:02d}" for i in range(5, 15)}


def test_recent_logs_minutes_filter_research_workflow():
    t = now()
    seed([
        {"ts": t - timedelta(minutes=300), "tool_name": "sensing-data", "operation": "old",
         "duration_seconds": 1.0},
        {"ts": t - timedelta(minutes=100), "tool_name": "sensing-data", "operation": "extract",
         "duration_seconds": 45.7, "note": "Monthly analysis"},
        {"ts": t - timedelta(minutes=50), "tool_name": "visualization", "operation": "create",
         "duration_seconds": 3.25},
    ])
    from evident.compat.rtgs import recent_logs
    import pandas as pd

    def example():
        session_logs = recent_logs(minutes=120)  # Last 2 hours

        workflow_df = pd.DataFrame(session_logs)
        workflow_df['step'] = range(1, len(workflow_df) + 1)

        print("Research Session Workflow:")
        for _, step in workflow_df.iterrows():
            print(f"  {step['step']}. {step['tool_name']} {step['operation']}")
            print(f"     Duration: {step['duration_seconds']:.1f}s")
            if step['note']:
                print(f"     Note: {step['note']}")
            print()
        example.logs = session_logs

    out = capture(example)
    assert {l["operation"] for l in example.logs} == {"extract", "create"}
    assert "sensing-data extract" in out and "visualization create" in out
    assert "old" not in out
    assert "Duration: 45.7s" in out and "Duration: 3.2s" in out
    assert out.count("Note: ") == 1 and "Note: Monthly analysis" in out


def test_integration_recent_five_with_success():
    base = now() - timedelta(minutes=5)
    seed([{"ts": base + timedelta(seconds=i), "tool_name": "sensing-data",
           "operation": f"op{i}", "success": i != 7} for i in range(8)])
    import evident.compat.rtgs as audit

    def example():
        recent = audit.recent_logs(limit=5)
        for log in recent:
            print(f"{log['tool_name']}: {log['operation']} - {log['success']}")

    out = capture(example).splitlines()
    assert len(out) == 5
    assert "sensing-data: op7 - False" in out
    assert "sensing-data: op6 - True" in out
    assert not any("op2 " in l for l in out)


def test_generate_report_end_date_inclusive_and_returns_paths():
    seed_june()
    from evident.compat.rtgs import generate_report

    files = generate_report(start_date="2023-06-30", end_date="2023-06-30", output_dir="r")
    assert isinstance(files, list)
    days = days_in(files)
    assert set(days) == {"2023-06-30"}
    text = days["2023-06-30"].read_text(encoding="utf-8")
    assert "gridded-data era5" in text
    assert "JULY-OUTSIDE" not in text


def test_generate_report_default_output_dir_is_logs(workdir: Path):
    seed_june()
    from evident.compat.rtgs import generate_report

    files = generate_report(start_date="2023-06-01", end_date="2023-06-01")
    assert len(files) == 1
    assert Path(files[0]).resolve().parent == (workdir / "logs").resolve()


def test_generate_report_tool_name_filter():
    seed_june()
    from evident.compat.rtgs import generate_report

    files = generate_report(start_date="2023-06-01", end_date="2023-06-30",
                            tool_name="visualization", output_dir="viz")
    days = days_in(files)
    assert set(days) == {"2023-06-01", "2023-06-15"}
    for f in files:
        text = Path(f).read_text(encoding="utf-8")
        heads = re.findall(r"^### \d\d:\d\d:\d\d - (\S+) ", text, flags=re.M)
        assert heads and set(heads) == {"visualization"}
        assert "sensing-data extract" not in text


def test_daily_report_layout():
    seed(june_15_day())
    from evident.compat.rtgs import generate_report

    files = generate_report(start_date="2023-06-15", end_date="2023-06-15", output_dir="rep")
    assert len(files) == 1
    f = Path(files[0])
    assert f.suffix == ".md"
    text = f.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# Audit Report - 2023-06-15"
    assert "## Summary" in lines and "## Operations" in lines
    assert lines.index("## Summary") < lines.index("## Operations")
    assert "- Total Operations: 12" in lines
    assert "- Successful: 11 (91.7%)" in lines
    assert "- Failed: 1 (8.3%)" in lines
    tools_line = [l for l in lines if l.startswith("- Tools Used: ")]
    assert len(tools_line) == 1
    assert set(tools_line[0][len("- Tools Used: "):].split(", ")) == {
        "sensing-data", "visualization", "gridded-data"}
    heads = [l for l in lines if l.startswith("### ")]
    assert len(heads) == 12
    assert sum(h.endswith("❌") for h in heads) == 1
    assert sum(h.endswith("✅") for h in heads) == 11
    i = lines.index("### 14:30:22 - sensing-data extract ✅")
    block = lines[i + 1:i + 6]
    assert set(block) == set(DOC_OP_BLOCK)
    assert "### 14:39:00 - gridded-data extract ❌" in lines


DOC_OP_BLOCK = [
    "- **Project**: Winter Turf - v3",
    "- **Date Range**: 2023-01-01 to 2023-01-31",
    "- **Records**: 15,420",
    "- **Duration**: 45.7s",
    "- **Output**: ./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv",
]


def test_daily_report_operation_fields_in_documented_order():
    seed([DOC_ENTRY])
    from evident.compat.rtgs import generate_report

    files = generate_report(start_date="2023-06-15", end_date="2023-06-15", output_dir="rep")
    lines = Path(files[0]).read_text(encoding="utf-8").splitlines()
    i = lines.index("### 14:30:22 - sensing-data extract ✅")
    assert lines[i + 1:i + 6] == DOC_OP_BLOCK


def test_quality_assurance_example():
    t = now().replace(hour=12, minute=0, second=0, microsecond=0)
    if t > now():
        t -= timedelta(days=1)
    seed([
        {"ts": t - timedelta(days=3), "tool_name": "sensing-data", "operation": "extract",
         "success": False, "error_message": "timeout"},
        {"ts": t - timedelta(days=2), "tool_name": "visualization", "operation": "create"},
        {"ts": t - timedelta(days=1), "tool_name": "gridded-data", "operation": "era5"},
    ])
    from evident.compat.rtgs import generate_report

    def example():
        end_date = datetime.now()
        start_date = end_date - timedelta(days=7)

        qa_files = generate_report(
            start_date=start_date.strftime("%Y-%m-%d"),
            end_date=end_date.strftime("%Y-%m-%d"),
            output_dir="./qa_review"
        )

        failed_ops = []
        for file_path in qa_files:
            with open(file_path, 'r') as f:
                content = f.read()
                if '❌' in content:  # Failed operation marker
                    failed_ops.append(file_path)

        print(f"QA Review: {len(failed_ops)} files contain failed operations")
        example.failed = failed_ops
        example.files = qa_files

    out = capture(example)
    assert "QA Review: 1 files contain failed operations" in out
    days = days_in(example.failed)
    assert set(days) == {(t - timedelta(days=3)).date().isoformat()}
    assert len(days_in(example.files)) == 3


def test_weekly_report_generation_example():
    t = now().replace(hour=12, minute=0, second=0, microsecond=0)
    seed([{"ts": t - timedelta(days=d), "tool_name": "sensing-data", "operation": "extract"}
          for d in (1, 9, 16, 24)])
    from evident.compat.rtgs import generate_report

    def example():
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

            week_reports.append({
                'week': current_date.strftime('%Y-%m-%d'),
                'files': report_files
            })

            current_date = week_end

        print(f"Generated reports for {len(week_reports)} weeks")
        example.week_reports = week_reports

    out = capture(example)
    assert "Generated reports for 5 weeks" in out
    all_days = set()
    for w in example.week_reports:
        all_days |= set(days_in(w["files"]))
    assert all_days == {(t - timedelta(days=d)).date().isoformat() for d in (1, 9, 16, 24)}
    assert Path("reports").is_dir()


def test_create_reproduction_script_collaboration_example():
    seed(june_1_pair() + june_15_day())
    from evident.compat.rtgs import generate_report, create_reproduction_script

    generate_report(start_date="2023-06-01", end_date="2023-06-30",
                    output_dir="./shared_analysis_logs")

    def example():
        script_info = create_reproduction_script(
            logs_dir="./shared_analysis_logs",
            output_file="shared_analysis_reproduction.sh"
        )

        print(f"Reproduction script created for collaboration:")
        print(f"  Script: {script_info['script_path']}")
        print(f"  Operations: {script_info['operation_count']}")
        print(f"  Time span: {script_info['start_date']} to {script_info['end_date']}")
        example.info = script_info

    out = capture(example)
    info = example.info
    assert Path(info["script_path"]).exists()
    assert info["operation_count"] == 14
    assert str(info["start_date"]).startswith("2023-06-01")
    assert str(info["end_date"]).startswith("2023-06-15")
    assert "  Operations: 14" in out
    assert "  Time span: 2023-06-01" in out


def test_curated_logs_reproduce_only_remaining_files():
    seed_june()
    from evident.compat.rtgs import generate_report, create_reproduction_script

    files = generate_report(start_date="2023-06-01", end_date="2023-06-30", output_dir="cur")
    days = days_in(files)
    days["2023-06-15"].unlink()  # curate: drop that day
    info = create_reproduction_script(logs_dir="cur", output_file="curated.sh")
    text = Path(info["script_path"]).read_text(encoding="utf-8")
    assert info["operation_count"] == 3
    assert text.count("Executing: ") == 3
    assert "(2023-06-15" not in text
    assert "Executing: sensing-data extract (2023-06-01 14:30:22)" in text
    assert "Executing: gridded-data era5 (2023-06-30 23:00:00)" in text


def test_reproduction_script_structure():
    seed(june_1_pair() + june_edges()[1:2])
    from evident.compat.rtgs import generate_report, create_reproduction_script

    generate_report(start_date="2023-06-01", end_date="2023-06-30", output_dir="logs")
    info = create_reproduction_script(logs_dir="logs", output_file="reproduce_analysis.sh")
    path = Path(info["script_path"])
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert re.match(r"# Reproduction script generated on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", lines[1])
    assert "# Original execution timespan: 2023-06-01 to 2023-06-30" in lines
    assert any(re.fullmatch(r"set -e\s*(#.*)?", l) for l in lines)
    assert 'echo "Starting reproduction of RTGS Lab Tools operations..."' in lines
    assert [l for l in lines if l.strip()][-1] == 'echo "Reproduction script completed successfully"'
    # operations in execution order
    i1 = lines.index('echo "Executing: sensing-data extract (2023-06-01 14:30:22)"')
    i2 = lines.index('echo "Executing: visualization create (2023-06-01 14:32:15)"')
    i3 = lines.index('echo "Executing: gridded-data era5 (2023-06-30 23:00:00)"')
    assert i1 < i2 < i3
    assert lines[i1 - 1].startswith("# Operation 1:")
    assert lines[i2 - 1].startswith("# Operation 2:")
    assert lines[i3 - 1].startswith("# Operation 3:")
    # git state for each operation
    ca = lines.index(f"git checkout {COMMIT_A}")
    cb = lines.index(f"git checkout {COMMIT_B}")
    assert ca < i1 < cb < i2
    # exact parameters, dashed options, reproduction note
    cmd1 = lines[i1 + 1:i1 + 6]
    assert cmd1[0] == "rtgs sensing-data extract \\"
    assert set(cmd1[1:4]) == {'  --project "Winter Turf - v3" \\',
                              '  --start-date "2023-01-01" \\',
                              '  --end-date "2023-01-31" \\'}
    assert cmd1[4] == '  --note "Reproduction: Monthly analysis for winter conditions"'
    cmd2 = lines[i2 + 1:i2 + 6]
    assert cmd2[0] == "rtgs visualization create \\"
    assert set(cmd2[1:4]) == {
        '  --file "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv" \\',
        '  --parameter "Temperature" \\',
        '  --node-id "LCCMR_01" \\'}
    assert cmd2[4] == '  --note "Reproduction: Temperature analysis visualization"'
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0


def test_reproduction_script_runs_the_commands_in_order(workdir: Path):
    """With stub `rtgs` and `git` on PATH, running the script replays the
    operations with their exact parameters."""
    seed(june_1_pair())
    from evident.compat.rtgs import generate_report, create_reproduction_script

    generate_report(start_date="2023-06-01", end_date="2023-06-01", output_dir="logs")
    info = create_reproduction_script(logs_dir="logs", output_file="run.sh")
    bindir = workdir / "bin"
    bindir.mkdir()
    rec = workdir / "calls.txt"
    for name in ("rtgs", "git"):
        stub = bindir / name
        stub.write_text("#!/bin/bash\nfor a in \"$0\" \"$@\"; do printf '%s|' \"$(basename -- \"$a\")\" ; done"
                        f" >> {rec}\necho >> {rec}\n")
        stub.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    p = subprocess.run(["bash", info["script_path"]], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    calls = rec.read_text().splitlines()
    rtgs_calls = [c for c in calls if c.startswith("rtgs|")]
    assert len(rtgs_calls) == 2
    assert rtgs_calls[0].startswith("rtgs|sensing-data|extract|")
    assert "--project|Winter Turf - v3|" in rtgs_calls[0]
    assert "--node-id|LCCMR_01|" in rtgs_calls[1]
    assert "Reproduction script completed successfully" in p.stdout


def test_custom_reproduction_script_example():
    seed(june_1_pair() + [
        {"ts": datetime(2023, 6, 1, 15, 0, 0, tzinfo=UTC), "tool_name": "sensing-data",
         "operation": "list-projects"},
        {"ts": datetime(2023, 6, 1, 15, 5, 0, tzinfo=UTC), "tool_name": "gridded-data",
         "operation": "era5", "parameters": {"variables": "2m_temperature"}},
    ])
    from evident.compat.rtgs import generate_report
    generate_report(start_date="2023-06-01", end_date="2023-06-01", output_dir="./filtered_logs")

    from evident.compat.rtgs import create_custom_reproduction_script

    def example():
        script_config = {
            "include_tools": ["sensing-data", "visualization"],
            "exclude_operations": ["list-projects"],
            "add_timing": True,
            "add_error_handling": True
        }

        script_path = create_custom_reproduction_script(
            logs_dir="./filtered_logs",
            output_file="custom_reproduction.sh",
            config=script_config
        )

        print(f"Custom script created: {script_path}")
        example.path = script_path

    out = capture(example)
    path = Path(example.path)
    assert path.exists() and path.name == "custom_reproduction.sh"
    assert f"Custom script created: {example.path}" in out
    text = path.read_text(encoding="utf-8")
    assert "rtgs sensing-data extract" in text
    assert "rtgs visualization create" in text
    assert "gridded-data" not in text
    assert "list-projects" not in text
    assert text.count("Executing: ") == 2
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0


# --------------------------------------------------------------------------
# AuditService / ReportService
# --------------------------------------------------------------------------


def test_advanced_audit_analysis_example():
    seed_june()
    from evident.compat.rtgs import AuditService
    import pandas as pd

    def example():
        audit = AuditService()

        audit_data = audit.get_audit_logs(
            start_date="2023-06-01",
            end_date="2023-06-30",
            include_details=True
        )

        df = pd.DataFrame(audit_data)

        tool_usage = df.groupby('tool_name').agg({
            'operation_id': 'count',
            'duration_seconds': ['mean', 'sum'],
            'success': 'mean'
        }).round(2)

        print("Tool Usage Statistics:")
        print(tool_usage)

        daily_activity = df.groupby(df['timestamp'].dt.date).size()
        print(f"\nMost active day: {daily_activity.idxmax()} ({daily_activity.max()} operations)")
        example.data = audit_data
        example.tool_usage = tool_usage

    out = capture(example)
    data = example.data
    assert len(data) == 15  # 2 + 12 + 1, not May 31 nor July 1
    assert all(DOC_KEYS <= set(d) for d in data)
    counts = example.tool_usage[("operation_id", "count")].to_dict()
    assert counts == {"sensing-data": 5, "visualization": 5, "gridded-data": 5}
    assert example.tool_usage.loc["gridded-data", ("success", "mean")] == pytest.approx(0.8)
    assert "Most active day: 2023-06-15 (12 operations)" in out
    # the documented entry with its details
    doc = [d for d in data if d["operation_id"] == DOC_ENTRY["operation_id"]]
    assert len(doc) == 1
    assert doc[0]["parameters"] == DOC_ENTRY["parameters"]
    assert doc[0]["results"] == DOC_ENTRY["results"]


def test_tool_performance_analysis_example():
    seed_june()
    import matplotlib
    matplotlib.use("Agg")
    from evident.compat.rtgs import AuditService
    import pandas as pd
    import matplotlib.pyplot as plt

    def example():
        audit = AuditService()
        logs = audit.get_audit_logs(
            start_date="2023-06-01",
            end_date="2023-06-30"
        )

        df = pd.DataFrame(logs)

        performance = df.groupby('tool_name')['duration_seconds'].agg([
            'count', 'mean', 'std', 'min', 'max'
        ]).round(2)

        print("Tool Performance Summary:")
        print(performance)

        daily_usage = df.groupby([
            df['timestamp'].dt.date,
            'tool_name'
        ]).size().unstack(fill_value=0)

        daily_usage.plot(kind='bar', stacked=True, figsize=(12, 6))
        plt.title('Daily Tool Usage - June 2023')
        plt.xlabel('Date')
        plt.ylabel('Number of Operations')
        plt.legend(title='Tool')
        plt.tight_layout()
        plt.show()
        example.perf = performance
        example.daily = daily_usage

    capture(example)
    plt.close("all")
    perf = example.perf
    assert perf.loc["sensing-data", "max"] == pytest.approx(45.7)
    assert perf.loc["sensing-data", "count"] == 5
    assert list(example.daily.index) == [date(2023, 6, 1), date(2023, 6, 15), date(2023, 6, 30)]
    assert example.daily.loc[date(2023, 6, 15), "gridded-data"] == 4


def test_custom_report_generation_weekly_reports():
    t = now().replace(hour=12, minute=0, second=0, microsecond=0)
    seed([{"ts": t - timedelta(days=d), "tool_name": "sensing-data", "operation": "extract"}
          for d in (1, 2, 10, 20)])
    from evident.compat.rtgs import ReportService

    def example():
        reporter = ReportService()

        end_date = datetime.now()
        start_date = end_date - timedelta(weeks=4)

        weekly_reports = reporter.generate_weekly_reports(
            start_date=start_date,
            end_date=end_date,
            output_dir="./weekly_reports"
        )

        for week, report_path in weekly_reports.items():
            print(f"Week {week}: {report_path}")
        example.reports = weekly_reports

    out = capture(example)
    reports = example.reports
    assert isinstance(reports, dict) and reports
    assert 3 <= len(reports) <= 5
    for week, p in reports.items():
        assert Path(p).exists() and Path(p).stat().st_size > 0
        assert Path(p).resolve().parent == Path("weekly_reports").resolve()
        assert f"Week {week}: {p}" in out


# --------------------------------------------------------------------------
# Global logging control
# --------------------------------------------------------------------------


def test_global_logging_control_example():
    from evident.compat.rtgs import set_global_logging, get_logging_status
    from evident.compat.rtgs import log_custom_operation, recent_logs

    set_global_logging(enabled=True)
    assert get_logging_status()["enabled"] is True
    with log_custom_operation("custom_analysis", "logged"):
        pass

    set_global_logging(enabled=False)
    ran = []
    with log_custom_operation("custom_analysis", "not_logged") as lg:
        ran.append(1)
        lg.add_result("x", 1)
        lg.add_note("n")
    assert ran == [1]  # operations still work

    def example():
        from evident.compat.rtgs import get_logging_status
        status = get_logging_status()
        print(f"Postgres logging enabled: {status['enabled']}")

    assert capture(example).strip() == "Postgres logging enabled: False"
    set_global_logging(enabled=True)
    assert [l["operation"] for l in recent_logs()] == ["logged"]


def test_cli_postgres_logging_switch():
    from evident.compat.rtgs import get_logging_status, log_custom_operation, recent_logs

    st_on = cli("postgres-logging-status").stdout
    cli("disable-postgres-logging")
    assert get_logging_status()["enabled"] is False
    st_off = cli("postgres-logging-status").stdout
    assert st_on != st_off
    assert re.search(r"disabled|false|off", st_off, flags=re.I)
    with log_custom_operation("custom_analysis", "while_off"):
        pass
    cli("enable-postgres-logging")
    assert get_logging_status()["enabled"] is True
    assert re.search(r"enabled|true|on", cli("postgres-logging-status").stdout, flags=re.I)
    with log_custom_operation("custom_analysis", "while_on"):
        pass
    assert [l["operation"] for l in recent_logs()] == ["while_on"]


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def _recent_ops_seed(n=25, tool="sensing-data", minutes_ago=20):
    base = now() - timedelta(minutes=minutes_ago)
    seed([{"ts": base + timedelta(seconds=i), "tool_name": tool,
           "operation": f"op{i:02d}x"} for i in range(n)])


def test_cli_recent_default_limit_10():
    _recent_ops_seed(12)
    out = cli("recent").stdout
    shown = set(re.findall(r"op\d\dx", out))
    assert shown == {f"op{i:02d}x" for i in range(2, 12)}
    assert "sensing-data" in out


def test_cli_recent_limit_20():
    _recent_ops_seed(25)
    out = cli("recent", "--limit", "20").stdout
    shown = set(re.findall(r"op\d\dx", out))
    assert shown == {f"op{i:02d}x" for i in range(5, 25)}


def test_cli_recent_minutes_60():
    t = now()
    seed([{"ts": t - timedelta(minutes=90), "tool_name": "sensing-data", "operation": "oldop"},
          {"ts": t - timedelta(minutes=30), "tool_name": "sensing-data", "operation": "newop"}])
    out = cli("recent", "--minutes", "60").stdout
    assert "newop" in out and "oldop" not in out


def test_cli_recent_tool_name():
    t = now() - timedelta(minutes=10)
    seed([{"ts": t, "tool_name": "sensing-data", "operation": "extractA"},
          {"ts": t + timedelta(seconds=1), "tool_name": "visualization", "operation": "createB"}])
    out = cli("recent", "--tool-name", "sensing-data").stdout
    assert "extractA" in out and "createB" not in out and "visualization" not in out


def test_cli_recent_empty_log_succeeds():
    cli("recent")


def test_cli_report_date_range_default_output_dir(workdir: Path):
    seed_june()
    cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30")
    files = md_files(workdir / "logs")
    assert set(days_in(files)) == {"2023-06-01", "2023-06-15", "2023-06-30"}
    day15 = days_in(files)["2023-06-15"].read_text(encoding="utf-8")
    assert "- Total Operations: 12" in day15


def test_cli_report_tool_name(workdir: Path):
    seed_june()
    cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30",
        "--tool-name", "visualization")
    files = md_files(workdir / "logs")
    assert set(days_in(files)) == {"2023-06-01", "2023-06-15"}
    for f in files:
        heads = re.findall(r"^### \S+ - (\S+) ", f.read_text(encoding="utf-8"), flags=re.M)
        assert set(heads) == {"visualization"}


def test_cli_report_output_dir(workdir: Path):
    seed_june()
    cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30",
        "--output-dir", "./audit_reports")
    assert len(md_files(workdir / "audit_reports")) == 3
    assert not (workdir / "logs").exists()


def test_cli_report_requires_dates():
    p = cli("report", "--end-date", "2023-06-30", check=False)
    assert p.returncode != 0
    p = cli("report", "--start-date", "2023-06-01", check=False)
    assert p.returncode != 0


def test_cli_report_rejects_bad_date_format(workdir: Path):
    seed_june()
    p = cli("report", "--start-date", "06/01/2023", "--end-date", "2023-06-30", check=False)
    assert p.returncode != 0
    assert not md_files(workdir)


def test_cli_reproduce_from_logs_dir(workdir: Path):
    seed(june_1_pair())
    cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30")
    cli("reproduce", "--logs-dir", "./logs", "--output-file", "reproduce_analysis.sh")
    text = (workdir / "reproduce_analysis.sh").read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash")
    assert 'echo "Executing: sensing-data extract (2023-06-01 14:30:22)"' in text
    assert 'echo "Executing: visualization create (2023-06-01 14:32:15)"' in text
    assert '--note "Reproduction: Temperature analysis visualization"' in text


def test_cli_reproduce_defaults(workdir: Path):
    seed(june_1_pair())
    cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-01")
    cli("reproduce")
    text = (workdir / "reproduce_commands.sh").read_text(encoding="utf-8")
    assert text.count("Executing: ") == 2


def test_cli_reproduce_recent_minutes(workdir: Path):
    t = now()
    seed([
        {"ts": t - timedelta(minutes=90), "tool_name": "sensing-data", "operation": "extract",
         "parameters": {"project": "OLD-PROJECT"}},
        {"ts": t - timedelta(minutes=10), "tool_name": "sensing-data", "operation": "extract",
         "parameters": {"project": "NEW-PROJECT"}},
    ])
    cli("reproduce", "--recent", "--minutes", "30", "--output-file", "recent_work.sh")
    text = (workdir / "recent_work.sh").read_text(encoding="utf-8")
    assert '--project "NEW-PROJECT"' in text
    assert "OLD-PROJECT" not in text
    assert text.count("Executing: ") == 1


# --------------------------------------------------------------------------
# PostgreSQL storage (only if a throwaway cluster starts quickly)
# --------------------------------------------------------------------------

PG_SCRIPT = Path("/work/main/scripts/pg-cluster.sh")


@pytest.fixture(scope="module")
def pg_cluster(tmp_path_factory):
    if not PG_SCRIPT.exists() or not shutil.which("psql"):
        pytest.skip("no pg-cluster.sh or psql")
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="rtgs-cleanroom-pg-"))
    base.chmod(0o755)  # the server runs as another user when we are root
    d = base / "cluster"
    try:
        p = subprocess.run(["bash", str(PG_SCRIPT), "start", str(d)], capture_output=True,
                           text=True, timeout=40)
    except subprocess.TimeoutExpired:
        subprocess.run(["bash", str(PG_SCRIPT), "stop", str(d)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip("PostgreSQL did not start quickly")
    if p.returncode != 0:
        subprocess.run(["bash", str(PG_SCRIPT), "stop", str(d)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {p.stderr[-300:]}")
    url = p.stdout.strip().splitlines()[-1]
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    yield port
    subprocess.run(["bash", str(PG_SCRIPT), "stop", str(d)], capture_output=True, timeout=60)
    shutil.rmtree(base, ignore_errors=True)


def _psql(port, sql):
    p = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                           "-d", "rtgs_audit", "-At", "-c", sql],
                          capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_postgres_storage(pg_cluster, workdir: Path, monkeypatch: pytest.MonkeyPatch):
    port = pg_cluster
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d",
                    "postgres", "-c", "CREATE DATABASE rtgs_audit"], capture_output=True)
    # the documented .env configuration
    (workdir / ".env").write_text(
        "POSTGRES_HOST=127.0.0.1\n"
        f"POSTGRES_PORT={port}\n"
        "POSTGRES_DB=rtgs_audit\n"
        "POSTGRES_USER=postgres\n"
        "POSTGRES_PASSWORD=audit_password\n")
    from evident.compat.rtgs import log_custom_operation, recent_logs

    with log_custom_operation("custom_analysis", "statistical_summary") as lg:
        lg.add_result("mean_temperature", 12.5)
        lg.add_note("Statistical summary of temperature data")
    logs = recent_logs()
    assert [l["operation"] for l in logs] == ["statistical_summary"]
    cols = set(_psql(port, "SELECT column_name FROM information_schema.columns "
                           "WHERE table_schema = 'evident' AND table_name = 'audit_logs'").split())
    documented = {"id", "timestamp", "operation_id", "tool_name", "operation", "user_name",
                  "git_branch", "git_commit_hash", "parameters", "results",
                  "duration_seconds", "success", "error_message", "note"}
    assert documented <= cols, documented - cols
    row = _psql(port, "SELECT tool_name, operation, success, note, results->>'mean_temperature' "
                      "FROM evident.audit_logs")
    assert row.strip() == ("custom_analysis|statistical_summary|t|"
                           "Statistical summary of temperature data|12.5")


# --------------------------------------------------------------------------
# Reproduction script features (documented "Script Features")
# --------------------------------------------------------------------------


def _stub_bin(workdir: Path, rtgs_body: str) -> dict:
    bindir = workdir / "bin"
    bindir.mkdir()
    (bindir / "git").write_text("#!/bin/bash\nexit 0\n")
    (bindir / "rtgs").write_text("#!/bin/bash\n" + rtgs_body)
    for f in bindir.iterdir():
        f.chmod(0o755)
    return dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")


def test_reproduction_parameters_preserved_exactly(workdir: Path):
    """"Parameter preservation: Exact parameters from original execution",
    even with quotes, $, backquotes and spaces."""
    hostile = 'Winter "Turf" $HOME `id` \\ v3; echo pwned\nline2 --> <!-- ### 10:00'
    seed([{"ts": datetime(2023, 6, 1, 10, 0, 0, tzinfo=UTC), "tool_name": "sensing-data",
           "operation": "extract", "parameters": {"project": hostile, "node_id": "LCCMR_01"}}])
    from evident.compat.rtgs import generate_report, create_reproduction_script

    generate_report(start_date="2023-06-01", end_date="2023-06-01", output_dir="logs")
    info = create_reproduction_script(logs_dir="logs", output_file="run.sh")
    out = workdir / "args.json"
    env = _stub_bin(workdir, "/usr/bin/env python3 -c 'import json,sys; "
                             f"json.dump(sys.argv[1:], open(\"{out}\", \"w\"))' \"$@\"\n")
    p = subprocess.run(["bash", info["script_path"]], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "pwned" not in p.stdout
    args = json.loads(out.read_text())
    assert args[:2] == ["sensing-data", "extract"]
    assert args[args.index("--project") + 1] == hostile
    assert args[args.index("--node-id") + 1] == "LCCMR_01"


def test_reproduction_marks_every_operation_as_reproduction():
    seed([{"ts": datetime(2023, 6, 1, 10, 0, 0, tzinfo=UTC), "tool_name": "sensing-data",
           "operation": "list-projects"},
          {"ts": datetime(2023, 6, 1, 10, 5, 0, tzinfo=UTC), "tool_name": "visualization",
           "operation": "create", "note": "Temperature analysis visualization"}])
    from evident.compat.rtgs import generate_report, create_reproduction_script

    generate_report(start_date="2023-06-01", end_date="2023-06-01", output_dir="logs")
    info = create_reproduction_script(logs_dir="logs", output_file="run.sh")
    notes = re.findall(r'--note "([^"]*)"', Path(info["script_path"]).read_text("utf-8"))
    assert len(notes) == 2
    assert all(n.startswith("Reproduction") for n in notes)
    assert "Reproduction: Temperature analysis visualization" in notes


def test_reproduction_stops_on_failure(workdir: Path):
    """"Error handling: Stops execution on failures"."""
    seed(june_1_pair() + [{"ts": datetime(2023, 6, 1, 15, 0, 0, tzinfo=UTC),
                           "tool_name": "gridded-data", "operation": "era5"}])
    from evident.compat.rtgs import generate_report, create_reproduction_script

    generate_report(start_date="2023-06-01", end_date="2023-06-01", output_dir="logs")
    info = create_reproduction_script(logs_dir="logs", output_file="run.sh")
    calls = workdir / "calls.txt"
    env = _stub_bin(workdir, f'echo "$1" >> {calls}\n[ "$1" != visualization ]\n')
    p = subprocess.run(["bash", info["script_path"]], env=env, capture_output=True, text=True)
    assert p.returncode != 0
    assert calls.read_text().split() == ["sensing-data", "visualization"]
    assert "completed successfully" not in p.stdout
    assert "Executing: sensing-data extract" in p.stdout  # progress tracking


def test_custom_script_timing_and_error_handling_options(workdir: Path):
    seed(june_1_pair())
    from evident.compat.rtgs import generate_report, create_custom_reproduction_script

    generate_report(start_date="2023-06-01", end_date="2023-06-01", output_dir="logs")
    on = create_custom_reproduction_script(
        logs_dir="logs", output_file="on.sh",
        config={"add_timing": True, "add_error_handling": True})
    off = create_custom_reproduction_script(
        logs_dir="logs", output_file="off.sh",
        config={"add_timing": False, "add_error_handling": False})
    t_on = Path(on).read_text("utf-8")
    t_off = Path(off).read_text("utf-8")
    assert t_on != t_off
    for t in (t_on, t_off):
        assert "rtgs sensing-data extract" in t and "rtgs visualization create" in t
    env = _stub_bin(workdir, "exit 0\n")
    for s in (on, off):
        p = subprocess.run(["bash", str(s)], env=env, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "Reproduction script completed successfully" in p.stdout


def test_failed_marker_only_for_failed_operations():
    """The QA example greps '❌' as the failed-operation marker: a successful
    operation whose note or parameters contain that character must not
    make its day's report look failed."""
    t = now().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=2)
    seed([{"ts": t, "tool_name": "sensing-data", "operation": "extract",
           "parameters": {"project": "❌ legacy"}, "note": "fixed the ❌ case"}])
    from evident.compat.rtgs import generate_report

    files = generate_report(start_date=(t - timedelta(days=1)).strftime("%Y-%m-%d"),
                            end_date=now().strftime("%Y-%m-%d"), output_dir="./qa_review")
    assert len(files) == 1
    assert "❌" not in Path(files[0]).read_text(encoding="utf-8")


def test_cli_integer_options_are_checked():
    assert cli("recent", "--limit", "many", check=False).returncode != 0
    assert cli("recent", "--minutes", "soon", check=False).returncode != 0
