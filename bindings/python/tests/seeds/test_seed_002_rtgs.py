"""Every example of seed 002 (RTGS Lab Tools' audit module), with only the
import line changed (`rtgs_lab_tools.audit…` -> `evident.compat.rtgs`,
`rtgs audit …` -> `python -m evident.compat.rtgs …`), checked against what
the document says it does."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import evident

import pandas as pd  # scripts/test.sh installs it: a missing pandas is a failure, not a skip


@pytest.fixture
def rtgs(tmp_path, monkeypatch):
    """An empty RTGS log (EVIDENT_RTGS_DIR) and a working directory."""
    data = tmp_path / "rtgs-data"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(data))
    monkeypatch.chdir(work)
    from evident.compat import rtgs as mod

    return mod


def seed(mod, ts, tool, op, params=None, results=None, success=True, duration=1.0,
         note=None, error=None, commit="abc123def4567890abc123def4567890abc12345",
         branch="feature/analysis"):
    return mod.record_operation(
        tool, op, parameters=params or {}, results=results or {}, success=success,
        duration_seconds=duration, note=note, error_message=error, git_commit=commit,
        git_branch=branch, timestamp=ts,
    )


def utc(*a):
    return datetime(*a, tzinfo=timezone.utc)


def june(mod):
    """Operations in June 2023 on two days, one failed."""
    seed(mod, utc(2023, 6, 15, 14, 30, 22), "sensing-data", "extract",
         {"project": "Winter Turf - v3", "start_date": "2023-01-01", "end_date": "2023-01-31"},
         {"success": True, "records_extracted": 15420,
          "output_file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv"},
         duration=45.7, note="Monthly analysis for winter conditions")
    seed(mod, utc(2023, 6, 15, 14, 32, 15), "visualization", "create",
         {"file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv",
          "parameter": "Temperature", "node_id": "LCCMR_01"},
         {"output": "plot.png"}, duration=3.2, note="Temperature analysis visualization")
    seed(mod, utc(2023, 6, 20, 9, 0, 0), "sensing-data", "extract",
         {"project": "Summer - v1"}, success=False, duration=2.0, error="DatabaseError: timeout")
    seed(mod, utc(2023, 6, 20, 9, 5, 0), "sensing-data", "list-projects", {}, duration=0.5)
    seed(mod, utc(2023, 7, 1, 9, 0, 0), "sensing-data", "extract", {"project": "July"})


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "evident.compat.rtgs", *args],
        capture_output=True, text=True, cwd=cwd, env=os.environ.copy(), timeout=120,
    )


# --- CLI Usage ---------------------------------------------------------------------


def test_cli_view_recent_activity(rtgs):
    now = datetime.now(timezone.utc)
    seed(rtgs, now - timedelta(hours=3), "sensing-data", "old-op")
    for i in reversed(range(25)):
        seed(rtgs, now - timedelta(minutes=5 * i), "sensing-data" if i % 2 else "visualization",
             f"op{i}")
    # rtgs audit recent
    r = run_cli("recent")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 10 and "op0" in lines[0] and "op9" in lines[-1]  # newest first
    # rtgs audit recent --limit 20
    r = run_cli("recent", "--limit", "20")
    assert len(r.stdout.strip().splitlines()) == 20
    # rtgs audit recent --minutes 60
    r = run_cli("recent", "--minutes", "60", "--limit", "100")
    ops = re.findall(r" (op\d+|old-op) ", r.stdout)
    assert ops == [f"op{i}" for i in range(12)]  # 0..55 minutes ago, not op12 (60) or old-op
    # rtgs audit recent --tool-name sensing-data
    r = run_cli("recent", "--tool-name", "sensing-data")
    assert r.returncode == 0
    assert all("sensing-data" in line for line in r.stdout.strip().splitlines())
    assert "visualization" not in r.stdout


def test_cli_generate_audit_reports(rtgs, tmp_path):
    june(rtgs)
    work = Path.cwd()
    # rtgs audit report --start-date 2023-06-01 --end-date 2023-06-30
    r = run_cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (work / "logs").iterdir()) == [
        "audit_report_2023-06-15.md", "audit_report_2023-06-20.md"]
    # --tool-name visualization
    r = run_cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30",
                "--tool-name", "visualization", "--output-dir", "vis")
    assert r.returncode == 0, r.stderr
    files = list((work / "vis").iterdir())
    assert [p.name for p in files] == ["audit_report_2023-06-15.md"]
    text = files[0].read_text()
    assert "visualization create" in text and "sensing-data extract" not in text
    # --output-dir ./audit_reports
    r = run_cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30",
                "--output-dir", "./audit_reports")
    assert r.returncode == 0
    assert len(list((work / "audit_reports").glob("*.md"))) == 2
    assert "Generated 2 audit report files" in r.stdout
    # a required option missing is a usage error
    assert run_cli("report", "--start-date", "2023-06-01").returncode != 0


def test_cli_create_reproduction_scripts(rtgs):
    june(rtgs)
    now = datetime.now(timezone.utc)
    seed(rtgs, now - timedelta(minutes=10), "gridded-data", "download", {"variable": "t2m"})
    seed(rtgs, now - timedelta(minutes=50), "gridded-data", "old", {})
    assert run_cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30").returncode == 0
    # rtgs audit reproduce --logs-dir ./logs --output-file reproduce_analysis.sh
    r = run_cli("reproduce", "--logs-dir", "./logs", "--output-file", "reproduce_analysis.sh")
    assert r.returncode == 0, r.stderr
    script = Path("reproduce_analysis.sh").read_text()
    assert script.count("\nrtgs ") == 4
    assert os.stat("reproduce_analysis.sh").st_mode & stat.S_IXUSR
    # rtgs audit reproduce --recent --minutes 30 --output-file recent_work.sh
    r = run_cli("reproduce", "--recent", "--minutes", "30", "--output-file", "recent_work.sh")
    assert r.returncode == 0, r.stderr
    script = Path("recent_work.sh").read_text()
    assert "rtgs gridded-data download" in script and '--variable "t2m"' in script
    assert "gridded-data old" not in script and "sensing-data" not in script
    # defaults: --logs-dir logs, --output-file reproduce_commands.sh
    assert run_cli("reproduce").returncode == 0
    assert Path("reproduce_commands.sh").is_file()


def test_cli_postgres_logging_control(rtgs):
    # rtgs audit postgres-logging-status
    r = run_cli("postgres-logging-status")
    assert r.returncode == 0 and "enabled" in r.stdout and "evident log" in r.stdout
    # rtgs audit disable-postgres-logging
    r = run_cli("disable-postgres-logging")
    assert r.returncode == 0 and "disabled" in r.stdout
    assert rtgs.get_logging_status()["enabled"] is False
    with rtgs.log_custom_operation("t", "o"):
        pass
    assert rtgs.recent_logs() == []
    # rtgs audit enable-postgres-logging
    r = run_cli("enable-postgres-logging")
    assert r.returncode == 0 and "enabled" in r.stdout
    assert rtgs.get_logging_status()["enabled"] is True


# --- Python API Usage ------------------------------------------------------------------


def test_import_and_basic_usage(rtgs, capsys):
    june(rtgs)
    from evident.compat.rtgs import recent_logs, generate_report, create_reproduction_script

    # Get recent activity
    logs = recent_logs(limit=20, tool_name="sensing-data")
    for log in logs:
        print(f"{log['timestamp']}: {log['operation']} - {log['status']}")

    # Generate audit report
    report_files = generate_report(
        start_date="2023-06-01",
        end_date="2023-06-30",
        output_dir="./audit_reports"
    )
    print(f"Generated {len(report_files)} report files")

    # Create reproduction script
    script_info = create_reproduction_script(
        logs_dir="./audit_reports",
        output_file="reproduce_june_analysis.sh"
    )
    print(f"Created reproduction script: {script_info['script_path']}")

    out = capsys.readouterr().out
    assert [log["operation"] for log in logs] == ["extract", "list-projects", "extract", "extract"]
    assert logs[0]["timestamp"] == utc(2023, 7, 1, 9, 0, 0)  # newest first
    assert "2023-07-01 09:00:00+00:00: extract - success" in out
    assert ": extract - failed" in out
    assert "Generated 2 report files" in out
    assert all(Path(p).is_file() for p in report_files)
    assert script_info["operation_count"] == 4
    assert (script_info["start_date"], script_info["end_date"]) == ("2023-06-15", "2023-06-20")
    assert Path(script_info["script_path"]).is_file()
    assert "Created reproduction script: reproduce_june_analysis.sh" in out


def test_advanced_audit_analysis(rtgs, capsys):
    june(rtgs)
    from evident.compat.rtgs import AuditService
    import pandas as pd

    # Initialize audit service
    audit = AuditService()

    # Get detailed audit data
    audit_data = audit.get_audit_logs(
        start_date="2023-06-01",
        end_date="2023-06-30",
        include_details=True
    )

    # Convert to DataFrame for analysis
    df = pd.DataFrame(audit_data)

    # Analyze tool usage patterns
    tool_usage = df.groupby('tool_name').agg({
        'operation_id': 'count',
        'duration_seconds': ['mean', 'sum'],
        'success': 'mean'
    }).round(2)

    print("Tool Usage Statistics:")
    print(tool_usage)

    # Find most active days
    daily_activity = df.groupby(df['timestamp'].dt.date).size()
    print(f"\nMost active day: {daily_activity.idxmax()} ({daily_activity.max()} operations)")

    assert len(df) == 4  # July excluded, 2023-06-30 included
    assert tool_usage.loc["sensing-data", ("operation_id", "count")] == 3
    assert tool_usage.loc["visualization", ("duration_seconds", "sum")] == 3.2
    assert tool_usage.loc["sensing-data", ("success", "mean")] == 0.67
    out = capsys.readouterr().out
    assert "Tool Usage Statistics:" in out
    assert "Most active day: 2023-06-15 (2 operations)" in out
    assert audit_data[0]["parameters"]["project"] == "Winter Turf - v3"


def test_custom_report_generation(rtgs, capsys):
    now = datetime.now(timezone.utc)
    for days in (1, 2, 9, 20):
        seed(rtgs, now - timedelta(days=days), "sensing-data", "extract", {"d": days})
    seed(rtgs, now - timedelta(days=40), "sensing-data", "too-old")
    from evident.compat.rtgs import ReportService
    from datetime import datetime as dt, timedelta as td  # noqa: F401  (the example's imports)

    # Initialize report service
    reporter = ReportService()

    # Generate weekly reports
    end_date = datetime.now()
    start_date = end_date - timedelta(weeks=4)

    weekly_reports = reporter.generate_weekly_reports(
        start_date=start_date,
        end_date=end_date,
        output_dir="./weekly_reports"
    )

    for week, report_path in weekly_reports.items():
        print(f"Week {week}: {report_path}")

    weeks = {f"{(now - timedelta(days=d)).isocalendar()[0]}-W{(now - timedelta(days=d)).isocalendar()[1]:02d}"
             for d in (1, 2, 9, 20)}
    assert set(weekly_reports) == weeks
    text = "".join(Path(p).read_text() for p in weekly_reports.values())
    assert text.count("- Total Operations:") == len(weeks)
    assert "too-old" not in text
    assert "# Weekly Audit Report - " in text and "## By Tool" in text
    assert f"Week {sorted(weeks)[0]}: " in capsys.readouterr().out


def test_reproduction_script_customization(rtgs, capsys):
    june(rtgs)
    seed(rtgs, utc(2023, 6, 16, 8, 0, 0), "gridded-data", "download", {"variable": "t2m"})
    from evident.compat.rtgs import generate_report
    generate_report("2023-06-01", "2023-06-30", output_dir="./filtered_logs")
    from evident.compat.rtgs import create_custom_reproduction_script

    # Create script with specific filters
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

    assert "Custom script created: custom_reproduction.sh" in capsys.readouterr().out
    text = Path(script_path).read_text()
    assert "rtgs sensing-data extract" in text and "rtgs visualization create" in text
    assert "gridded-data" not in text and "list-projects" not in text
    assert "took $(( $(date +%s) - op_start ))s" in text  # timing
    assert "trap " in text  # error handling
    assert script_path["operation_count"] == 3
    # it runs: timing printed per operation; a failing operation is named
    bin_dir = Path("bin")
    bin_dir.mkdir()
    (bin_dir / "git").write_text("#!/bin/bash\nexit 0\n")
    (bin_dir / "rtgs").write_text('#!/bin/bash\n[ "$1" != visualization ]\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir.resolve()}:{os.environ['PATH']}")
    r = subprocess.run(["bash", str(script_path)], capture_output=True, text=True, env=env)
    assert r.returncode != 0
    assert "Operation 1 took " in r.stdout
    assert "Reproduction failed during operation 2" in r.stderr


# --- Audit Log Structure ------------------------------------------------------------------


def test_log_entry_format(rtgs, tmp_path):
    subprocess.run(["git", "init", "-q", "-b", "feature/analysis"], check=True)
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    with rtgs.log_custom_operation(
        "sensing-data", "extract",
        parameters={"project": "Winter Turf - v3", "start_date": "2023-01-01", "end_date": "2023-01-31"},
    ) as op:
        op.add_result("records_extracted", 15420)
        op.add_result("output_file", "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv")
        op.add_note("Monthly analysis for winter conditions")
    log = rtgs.recent_logs(limit=1)[0]
    documented = {"timestamp", "operation_id", "tool_name", "operation", "user", "git_branch",
                  "git_commit", "parameters", "results", "duration_seconds", "note"}
    assert documented <= set(log)
    assert isinstance(log["timestamp"], datetime) and log["timestamp"].tzinfo is not None
    assert re.fullmatch(r"[0-9a-f-]{36}", log["operation_id"])
    assert (log["tool_name"], log["operation"]) == ("sensing-data", "extract")
    assert log["git_branch"] == "feature/analysis" and log["git_commit"] == commit
    assert log["parameters"]["project"] == "Winter Turf - v3"
    assert log["results"]["records_extracted"] == 15420
    assert log["success"] is True and log["status"] == "success" and log["error_message"] is None
    assert log["note"] == "Monthly analysis for winter conditions"
    assert log["duration_seconds"] >= 0
    # an ordinary evident entry: it verifies and every reader sees it
    assert evident.verify(rtgs.log_path()).valid
    e = evident.read_entries(rtgs.log_path())[-1]
    assert (e.source, e.action, e.git_commit, e.success) == ("sensing-data", "extract", commit, True)


def test_daily_report_layout(rtgs):
    # the document's example day: 12 operations, 11 successful, 3 tools
    seed(rtgs, utc(2023, 6, 15, 14, 30, 22), "sensing-data", "extract",
         {"project": "Winter Turf - v3", "start_date": "2023-01-01", "end_date": "2023-01-31"},
         {"records_extracted": 15420, "output_file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv"},
         duration=45.7)
    for i in range(10):
        seed(rtgs, utc(2023, 6, 15, 15, i, 0), "visualization" if i < 5 else "gridded-data", f"op{i}")
    seed(rtgs, utc(2023, 6, 15, 16, 0, 0), "gridded-data", "download", success=False, error="boom")
    [path] = rtgs.generate_report("2023-06-15", "2023-06-15", "reports")
    text = Path(path).read_text()
    assert text.startswith(
        "# Audit Report - 2023-06-15\n\n## Summary\n- Total Operations: 12\n"
        "- Successful: 11 (91.7%)\n- Failed: 1 (8.3%)\n"
        "- Tools Used: sensing-data, visualization, gridded-data\n\n## Operations\n"
    )
    section = text.split("### 14:30:22 - sensing-data extract ✅\n")[1].split("\n\n")[0]
    assert "- **Project**: Winter Turf - v3" in section
    assert "- **Date Range**: 2023-01-01 to 2023-01-31" in section
    assert "- **Records**: 15,420" in section
    assert "- **Duration**: 45.7s" in section
    assert "- **Output**: ./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv" in section
    assert "### 16:00:00 - gridded-data download ❌" in text


def test_generated_script_structure(rtgs, tmp_path):
    june(rtgs)
    rtgs.generate_report("2023-06-15", "2023-06-15", "logs")
    info = rtgs.create_reproduction_script("logs", "reproduce.sh")
    text = Path("reproduce.sh").read_text()
    lines = text.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert lines[1].startswith("# Reproduction script generated on ")
    assert lines[2] == "# Original execution timespan: 2023-06-15 to 2023-06-15"
    assert "set -e  # Exit on error" in lines
    assert 'echo "Starting reproduction of RTGS Lab Tools operations..."' in lines
    assert text.count("git checkout abc123def4567890abc123def4567890abc12345") == 1
    assert ('echo "Executing: sensing-data extract (2023-06-15 14:30:22)"\n'
            'rtgs sensing-data extract \\\n'
            '  --project "Winter Turf - v3" \\\n'
            '  --start-date "2023-01-01" \\\n'
            '  --end-date "2023-01-31" \\\n'
            '  --note "Reproduction: Monthly analysis for winter conditions"\n') in text
    assert text.index("sensing-data extract (") < text.index("visualization create (")
    assert lines[-1] == 'echo "Reproduction script completed successfully"'
    assert info["operation_count"] == 2
    # run it with stand-ins for git and rtgs that record their arguments
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("git", "rtgs"):
        f = bin_dir / name
        f.write_text(f'#!/bin/bash\nfor a in "$@"; do printf "%s\\n" "$a"; done > "{tmp_path}/{name}.$$"\n'
                     f'echo "{name} $*" >> "{tmp_path}/calls"\n')
        f.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    r = subprocess.run(["bash", "reproduce.sh"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == "git checkout abc123def4567890abc123def4567890abc12345"
    assert calls[1].startswith("rtgs sensing-data extract --project Winter Turf - v3 --start-date 2023-01-01 --end-date 2023-01-31 ")
    assert calls[2].startswith("rtgs visualization create --file ./data/Winter_Turf")
    assert "Reproduction script completed successfully" in r.stdout


# --- Usage Patterns --------------------------------------------------------------------------


def test_research_workflow_tracking(rtgs, capsys):
    with rtgs.log_custom_operation("sensing-data", "extract") as op:
        op.add_note("first step")
    with rtgs.log_custom_operation("visualization", "create"):
        pass
    from evident.compat.rtgs import recent_logs
    import pandas as pd

    # Track a research session
    session_logs = recent_logs(minutes=120)  # Last 2 hours

    # Analyze the workflow
    workflow_df = pd.DataFrame(session_logs)
    workflow_df['step'] = range(1, len(workflow_df) + 1)

    print("Research Session Workflow:")
    for _, step in workflow_df.iterrows():
        print(f"  {step['step']}. {step['tool_name']} {step['operation']}")
        print(f"     Duration: {step['duration_seconds']:.1f}s")
        if step['note']:
            print(f"     Note: {step['note']}")
        print()

    out = capsys.readouterr().out
    assert "  1. visualization create\n     Duration: 0.0s\n\n" in out
    assert "  2. sensing-data extract\n     Duration: 0.0s\n     Note: first step\n" in out


def test_quality_assurance(rtgs, capsys):
    now = datetime.now(timezone.utc)
    seed(rtgs, now - timedelta(days=1), "sensing-data", "extract")
    seed(rtgs, now - timedelta(days=2), "sensing-data", "extract", success=False, error="x")
    seed(rtgs, now - timedelta(days=3), "visualization", "create")
    from evident.compat.rtgs import generate_report
    from datetime import datetime as _dt, timedelta as _td  # noqa: F401

    # Generate QA report for recent work
    end_date = datetime.now()
    start_date = end_date - timedelta(days=7)

    qa_files = generate_report(
        start_date=start_date.strftime("%Y-%m-%d"),
        end_date=end_date.strftime("%Y-%m-%d"),
        output_dir="./qa_review"
    )

    # Review failed operations
    failed_ops = []
    for file_path in qa_files:
        with open(file_path, 'r') as f:
            content = f.read()
            if '❌' in content:  # Failed operation marker
                failed_ops.append(file_path)

    print(f"QA Review: {len(failed_ops)} files contain failed operations")

    assert len(qa_files) == 3
    assert "QA Review: 1 files contain failed operations" in capsys.readouterr().out
    assert (now - timedelta(days=2)).strftime("%Y-%m-%d") in failed_ops[0]


def test_collaboration_and_sharing(rtgs, capsys):
    june(rtgs)
    rtgs.generate_report("2023-06-01", "2023-06-30", "./shared_analysis_logs")
    from evident.compat.rtgs import create_reproduction_script

    # Create reproduction script for sharing analysis
    script_info = create_reproduction_script(
        logs_dir="./shared_analysis_logs",
        output_file="shared_analysis_reproduction.sh"
    )

    print(f"Reproduction script created for collaboration:")
    print(f"  Script: {script_info['script_path']}")
    print(f"  Operations: {script_info['operation_count']}")
    print(f"  Time span: {script_info['start_date']} to {script_info['end_date']}")

    out = capsys.readouterr().out
    assert "  Script: shared_analysis_reproduction.sh\n  Operations: 4\n" in out
    assert "  Time span: 2023-06-15 to 2023-06-20" in out
    # curated: deleting a day's report leaves its operations out
    os.remove("shared_analysis_logs/audit_report_2023-06-20.md")
    assert create_reproduction_script("./shared_analysis_logs", "x.sh")["operation_count"] == 2


# --- Configuration ------------------------------------------------------------------------------


def test_global_logging_control(rtgs, capsys):
    from evident.compat.rtgs import set_global_logging

    # Enable logging for all tools
    set_global_logging(enabled=True)

    # Disable logging (operations will still work but won't be logged)
    set_global_logging(enabled=False)

    # Check current status
    from evident.compat.rtgs import get_logging_status
    status = get_logging_status()
    print(f"Postgres logging enabled: {status['enabled']}")

    assert "Postgres logging enabled: False" in capsys.readouterr().out
    ran = []
    with rtgs.log_custom_operation("t", "o") as op:
        ran.append(1)
        op.add_result("x", 1)
    assert ran == [1] and rtgs.recent_logs() == []
    # the switch holds across processes
    code = "from evident.compat.rtgs import get_logging_status as g; print(g()['enabled'])"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "False"
    subprocess.run([sys.executable, "-c",
                    "from evident.compat.rtgs import set_global_logging as s; s(enabled=True)"],
                   check=True)
    assert get_logging_status()["enabled"] is True
    with rtgs.log_custom_operation("t", "o"):
        pass
    assert len(rtgs.recent_logs()) == 1


def test_default_log_location(tmp_path, monkeypatch):
    from evident.compat import rtgs

    monkeypatch.delenv("EVIDENT_RTGS_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert rtgs.log_path() == tmp_path / "xdg" / "evident" / "rtgs" / "audit.jsonl"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert rtgs.log_path() == tmp_path / "home" / ".local" / "share" / "evident" / "rtgs" / "audit.jsonl"


# --- Examples ------------------------------------------------------------------------------------


def test_weekly_report_generation(rtgs, capsys):
    now = datetime.now(timezone.utc)
    for days in (3, 12, 25):
        seed(rtgs, now - timedelta(days=days), "sensing-data", "extract", {"d": days})
    from evident.compat.rtgs import generate_report
    import os  # noqa: F401

    # Generate reports for each week of the month
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

    assert "Generated reports for 5 weeks" in capsys.readouterr().out
    days = {Path(f).name for w in week_reports for f in w["files"]}
    assert days == {f"audit_report_{(now - timedelta(days=d)).strftime('%Y-%m-%d')}.md" for d in (3, 12, 25)}


def test_tool_performance_analysis(rtgs, monkeypatch, capsys):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    june(rtgs)
    from evident.compat.rtgs import AuditService
    import pandas as pd
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Get performance data
    audit = AuditService()
    logs = audit.get_audit_logs(
        start_date="2023-06-01",
        end_date="2023-06-30"
    )

    df = pd.DataFrame(logs)

    # Analyze tool performance
    performance = df.groupby('tool_name')['duration_seconds'].agg([
        'count', 'mean', 'std', 'min', 'max'
    ]).round(2)

    print("Tool Performance Summary:")
    print(performance)

    # Plot tool usage over time
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

    assert performance.loc["sensing-data", "count"] == 3
    assert performance.loc["sensing-data", "max"] == 45.7
    assert performance.loc["visualization", "mean"] == 3.2
    assert daily_usage.shape == (2, 2)
    assert daily_usage.loc[datetime(2023, 6, 20).date(), "sensing-data"] == 2
    assert "Tool Performance Summary:" in capsys.readouterr().out
    plt.close("all")


# --- Integration -----------------------------------------------------------------------------------


def test_integration_with_all_modules(rtgs, capsys):
    # Stand-ins for RTGS's tool modules: each logs its operation.
    class sensing_data:  # noqa: N801
        @staticmethod
        def extract_data(project):
            with rtgs.log_custom_operation("sensing-data", "extract", parameters={"project": project}):
                return [1.0, 2.0]

    class visualization:  # noqa: N801
        @staticmethod
        def create_time_series_plot(data, parameter):
            with rtgs.log_custom_operation("visualization", "create", parameters={"parameter": parameter}):
                return "plot.png"

    from evident.compat import rtgs as audit

    # Normal tool usage - automatically logged
    data = sensing_data.extract_data(project="Research Project")
    plot = visualization.create_time_series_plot(data, "Temperature")  # noqa: F841

    # Review what was just done
    recent = audit.recent_logs(limit=5)
    for log in recent:
        print(f"{log['tool_name']}: {log['operation']} - {log['success']}")

    assert capsys.readouterr().out == "visualization: create - True\nsensing-data: extract - True\n"
    assert recent[1]["parameters"] == {"project": "Research Project"}


def test_custom_operation_logging(rtgs):
    import numpy as np

    data = pd.Series(np.array([10.0, 12.0, 14.0]), name="temperature")

    def perform_statistical_analysis(d):
        return d

    from evident.compat.rtgs import log_custom_operation

    # Log custom analysis steps
    with log_custom_operation("custom_analysis", "statistical_summary") as logger:
        # Perform custom analysis
        results = perform_statistical_analysis(data)

        # Log results
        logger.add_result("mean_temperature", results.mean())
        logger.add_result("std_temperature", results.std())
        logger.add_note("Statistical summary of temperature data")

    [log] = rtgs.recent_logs(tool_name="custom_analysis")
    assert log["operation"] == "statistical_summary" and log["success"] is True
    assert log["results"] == {"mean_temperature": 12.0, "std_temperature": 2.0}
    assert log["note"] == "Statistical summary of temperature data"


def test_custom_operation_failure_propagates_and_is_recorded(rtgs):
    with pytest.raises(ZeroDivisionError):
        with rtgs.log_custom_operation("custom_analysis", "divide", parameters={"by": 0}) as lg:
            lg.add_note("will fail")
            1 / 0
    [log] = rtgs.recent_logs()
    assert log["success"] is False and log["status"] == "failed"
    assert log["error_message"] == "ZeroDivisionError: division by zero"
    assert evident.verify(rtgs.log_path()).valid


def test_records_keep_the_order_parameters_and_results_were_given(rtgs):
    """``log['parameters']`` and ``log['results']`` list their keys as the
    operation gave them (as RTGS's JSON columns do), from every reader."""
    with rtgs.log_custom_operation("sensing-data", "extract",
                                   parameters={"project": "P", "start_date": "a", "end_date": "b"}) as op:
        op.add_result("records_extracted", 1)
        op.add_result("output_file", "o.csv")
    rtgs.record_operation("t", "sorted", parameters={"a": 1, "b": 2}, results={"x": 1})
    new, old = rtgs.recent_logs()
    assert list(old["parameters"]) == ["project", "start_date", "end_date"]
    assert list(old["results"]) == ["records_extracted", "output_file"]
    assert list(new["parameters"]) == ["a", "b"]
    [got] = rtgs.AuditService().get_audit_logs(tool_name="sensing-data")
    assert list(got["parameters"]) == ["project", "start_date", "end_date"]
    assert "parameter_order" not in got and "parameter_order" not in got["parameters"]
