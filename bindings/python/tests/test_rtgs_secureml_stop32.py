"""Second outsider pass over seeds 002 (RTGS Lab Tools audit) and 003
(SecureML audit trail), written only from the two seed documents, the
README sections "Switching from RTGS Lab Tools", "Switching from SecureML",
"Reports and reproduction scripts" and the `evident` CLI's help.

Rule: an example the seed shows runs as written, with only the import line
changed as the README says (``rtgs_lab_tools.audit[.audit_service|
.report_service]`` -> ``evident.compat.rtgs``; ``secureml.audit|reporting|
compliance`` -> ``evident.compat.secureml``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import evident
from evident.compat import rtgs
from evident.compat import secureml

UTC = timezone.utc
PY = sys.executable
SRC = str(Path(evident.__file__).resolve().parent.parent)
CLI = os.environ.get("EVIDENT_CLI")
needs_cli = pytest.mark.skipif(not CLI, reason="EVIDENT_CLI not set")

# ---------------------------------------------------------------- helpers

_IMPORTS = [
    (r"from rtgs_lab_tools\.audit\.audit_service import", "from evident.compat.rtgs import"),
    (r"from rtgs_lab_tools\.audit\.report_service import", "from evident.compat.rtgs import"),
    (r"from rtgs_lab_tools\.audit import", "from evident.compat.rtgs import"),
    (r"from secureml\.audit import", "from evident.compat.secureml import"),
    (r"from secureml\.reporting import", "from evident.compat.secureml import"),
    (r"from secureml\.compliance import", "from evident.compat.secureml import"),
]


def port(code: str) -> str:
    """The seed's example with only its import lines changed."""
    code = textwrap.dedent(code)
    for a, b in _IMPORTS:
        code = re.sub(a, b, code)
    assert "rtgs_lab_tools" not in code and "secureml." not in code
    return code


def run_example(code: str, ns: dict | None = None) -> tuple[dict, str]:
    ns = {} if ns is None else ns
    ns.setdefault("__name__", "__seed_example__")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(port(code), "<seed example>", "exec"), ns)
    return ns, out.getvalue()


def child_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    if extra:
        env.update(extra)
    return env


def run_child(code: str, cwd, extra_env: dict | None = None, check=True):
    p = subprocess.run(
        [PY, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=child_env(extra_env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert p.returncode == 0, p.stderr
    return p


def rtgs_cli(*args, cwd, check=None):
    p = subprocess.run(
        [PY, "-m", "evident.compat.rtgs", *args],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


def evident_cli(*args, cwd, check=None):
    p = subprocess.run(
        [CLI, "--color", "never", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


def unescape_md(s: str) -> str:
    """Markdown as rendered text: a backslash before punctuation is dropped."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", s)


@pytest.fixture
def ws(tmp_path, monkeypatch):
    """A clean working directory; RTGS's log in ./rtgsdata; no PostgreSQL."""
    for k in list(os.environ):
        if k.startswith("POSTGRES_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "rtgsdata"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def june(day=15, h=14, m=30, s=22, us=123000):
    return datetime(2023, 6, day, h, m, s, us, tzinfo=UTC)


EXTRACT_PARAMS = {
    "project": "Winter Turf - v3",
    "start_date": "2023-01-01",
    "end_date": "2023-01-31",
}
EXTRACT_RESULTS = {
    "success": True,
    "records_extracted": 15420,
    "output_file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv",
}


def seed_day(commit="abc1230000000000000000000000000000000000"):
    """The seed's daily report day: 12 operations on 2023-06-15, one failed,
    tools sensing-data, visualization, gridded-data."""
    rtgs.record_operation(
        "sensing-data",
        "extract",
        parameters=dict(EXTRACT_PARAMS),
        results=dict(EXTRACT_RESULTS),
        duration_seconds=45.7,
        note="Monthly analysis for winter conditions",
        user="username",
        git_branch="feature/analysis",
        git_commit=commit,
        timestamp=june(),
    )
    rtgs.record_operation(
        "visualization",
        "create",
        parameters={
            "file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv",
            "parameter": "Temperature",
            "node_id": "LCCMR_01",
        },
        results={"success": True},
        duration_seconds=3.2,
        note="Temperature analysis visualization",
        git_commit=commit,
        timestamp=june(h=14, m=32, s=15),
    )
    rtgs.record_operation(
        "gridded-data",
        "download",
        parameters={"variable": "t2m"},
        success=False,
        error_message="HTTP 503",
        duration_seconds=1.0,
        git_commit=commit,
        timestamp=june(h=14, m=40, s=0),
    )
    for i in range(9):
        rtgs.record_operation(
            "sensing-data",
            "list-projects",
            parameters={"page": i},
            duration_seconds=0.5,
            git_commit=commit,
            timestamp=june(h=15, m=i, s=0),
        )


# ======================================================================
# Seed 002: RTGS Lab Tools
# ======================================================================


class TestRtgsRecentLogs:
    def test_seed_example_recent_logs_runs(self, ws):
        for i in range(3):
            with rtgs.log_custom_operation("sensing-data", "extract", parameters={"i": i}):
                pass
        with rtgs.log_custom_operation("visualization", "create"):
            pass
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit import recent_logs, generate_report, create_reproduction_script

            # Get recent activity
            logs = recent_logs(limit=20, tool_name="sensing-data")
            for log in logs:
                print(f"{log['timestamp']}: {log['operation']} - {log['status']}")
            """
        )
        assert len(ns["logs"]) == 3
        assert out.count(": extract - ") == 3
        assert all(log["tool_name"] == "sensing-data" for log in ns["logs"])

    def test_default_limit_is_10_and_newest_come_back(self, ws):
        for i in range(12):
            rtgs.record_operation("t", "op", parameters={"i": i}, timestamp=datetime.now(UTC) - timedelta(minutes=12 - i))
        logs = rtgs.recent_logs()
        assert len(logs) == 10
        got = sorted(log["parameters"]["i"] for log in logs)
        assert got == list(range(2, 12))

    def test_limit_20(self, ws):
        for i in range(25):
            rtgs.record_operation("t", "op", parameters={"i": i})
        assert len(rtgs.recent_logs(limit=20)) == 20

    def test_minutes_filter(self, ws):
        rtgs.record_operation("t", "old", timestamp=datetime.now(UTC) - timedelta(hours=2))
        rtgs.record_operation("t", "new")
        ops = [log["operation"] for log in rtgs.recent_logs(minutes=60)]
        assert ops == ["new"]
        assert {log["operation"] for log in rtgs.recent_logs(minutes=180)} == {"old", "new"}

    def test_filters_without_match_return_empty(self, ws):
        rtgs.record_operation("sensing-data", "extract")
        assert rtgs.recent_logs(tool_name="nope") == []
        rtgs.record_operation("t", "old", timestamp=datetime.now(UTC) - timedelta(hours=2))
        assert [log["operation"] for log in rtgs.recent_logs(minutes=1, tool_name="t")] == []

    def test_empty_trail(self, ws):
        assert rtgs.recent_logs() == []
        assert rtgs.recent_logs(limit=5, tool_name="x", minutes=3) == []

    def test_status_and_success_keys(self, ws):
        with rtgs.log_custom_operation("t", "good"):
            pass
        with pytest.raises(ValueError):
            with rtgs.log_custom_operation("t", "bad"):
                raise ValueError("boom")
        logs = {log["operation"]: log for log in rtgs.recent_logs()}
        assert logs["good"]["success"] is True
        assert logs["bad"]["success"] is False
        assert logs["good"]["status"] != logs["bad"]["status"]
        assert "boom" in logs["bad"]["error_message"]


class TestRtgsEntryFormat:
    FIELDS = [
        "timestamp",
        "operation_id",
        "tool_name",
        "operation",
        "user",
        "git_branch",
        "git_commit",
        "parameters",
        "results",
        "duration_seconds",
        "note",
    ]

    def test_every_documented_field(self, ws):
        seed_day()
        (log,) = [
            x for x in rtgs.AuditService().get_audit_logs("2023-06-15", "2023-06-15") if x["operation"] == "extract"
        ]
        for f in self.FIELDS:
            assert f in log, f
        assert log["tool_name"] == "sensing-data"
        assert log["operation"] == "extract"
        assert log["user"] == "username"
        assert log["git_branch"] == "feature/analysis"
        assert log["git_commit"].startswith("abc123")
        assert log["parameters"] == EXTRACT_PARAMS
        assert list(log["parameters"]) == list(EXTRACT_PARAMS)
        assert log["results"]["records_extracted"] == 15420
        assert log["results"]["output_file"] == EXTRACT_RESULTS["output_file"]
        assert log["results"]["success"] is True
        assert log["duration_seconds"] == pytest.approx(45.7)
        assert log["note"] == "Monthly analysis for winter conditions"
        ts = log["timestamp"]
        ts = ts if isinstance(ts, datetime) else datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
        assert ts == june()

    def test_operation_id_is_uuid4(self, ws):
        with rtgs.log_custom_operation("t", "op"):
            pass
        (log,) = rtgs.recent_logs()
        assert uuid.UUID(log["operation_id"]).version == 4

    def test_operation_ids_are_unique(self, ws):
        for _ in range(5):
            with rtgs.log_custom_operation("t", "op"):
                pass
        ids = [log["operation_id"] for log in rtgs.recent_logs()]
        assert len(set(ids)) == 5

    def test_log_custom_operation_records_user_git_and_duration(self, ws):
        subprocess.run(["git", "init", "-q", "-b", "feature/analysis"], check=True)
        subprocess.run(
            ["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x"],
            check=True,
        )
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        with rtgs.log_custom_operation("t", "op"):
            time.sleep(0.05)
        (log,) = rtgs.recent_logs()
        assert log["git_commit"] == head
        assert log["git_branch"] == "feature/analysis"
        assert log["user"]
        assert isinstance(log["duration_seconds"], float) and log["duration_seconds"] >= 0.05
        assert isinstance(log["timestamp"], datetime) or isinstance(log["timestamp"], str)

    def test_database_schema_names(self, ws):
        """audit_logs' columns that are not in the entry format: success,
        error_message (and user_name / git_commit_hash)."""
        rtgs.record_operation("t", "bad", success=False, error_message="broken")
        (log,) = rtgs.recent_logs()
        assert log["success"] is False
        assert log["error_message"] == "broken"


class TestRtgsCustomOperation:
    def test_seed_example_runs(self, ws):
        import pandas as pd

        ns = {
            "data": pd.Series([20.0, 21.0, 22.8]),
            "perform_statistical_analysis": lambda d: d,
        }
        run_example(
            """
            from rtgs_lab_tools.audit.audit_service import log_custom_operation

            # Log custom analysis steps
            with log_custom_operation("custom_analysis", "statistical_summary") as logger:
                # Perform custom analysis
                results = perform_statistical_analysis(data)

                # Log results
                logger.add_result("mean_temperature", results.mean())
                logger.add_result("std_temperature", results.std())
                logger.add_note("Statistical summary of temperature data")
            """,
            ns,
        )
        (log,) = rtgs.recent_logs()
        assert log["tool_name"] == "custom_analysis"
        assert log["operation"] == "statistical_summary"
        assert log["results"]["mean_temperature"] == pytest.approx(21.266666, rel=1e-5)
        assert log["results"]["std_temperature"] == pytest.approx(float(ns["data"].std()))
        assert log["note"] == "Statistical summary of temperature data"
        assert log["success"] is True
        assert evident.verify(str(rtgs.log_path())).valid

    def test_readme_example_runs(self, ws):
        from evident.compat.rtgs import log_custom_operation

        with log_custom_operation("custom_analysis", "statistical_summary") as logger:
            logger.add_result("mean_temperature", 21.4)
            logger.add_note("Statistical summary of temperature data")
        (log,) = rtgs.recent_logs()
        assert log["results"]["mean_temperature"] == 21.4

    def test_exception_propagates_and_is_recorded(self, ws):
        class Boom(Exception):
            pass

        with pytest.raises(Boom):
            with rtgs.log_custom_operation("custom_analysis", "fails") as logger:
                logger.add_result("partial", 1)
                raise Boom("x")
        (log,) = rtgs.recent_logs()
        assert log["success"] is False
        assert "Boom" in log["error_message"]

    def test_unicode(self, ws):
        with rtgs.log_custom_operation("анализ", "σύνοψη", parameters={"projet": "Été ☃ 北京"}) as lg:
            lg.add_note("ノート ✅")
        (log,) = rtgs.recent_logs(tool_name="анализ")
        assert log["operation"] == "σύνοψη"
        assert log["parameters"] == {"projet": "Été ☃ 北京"}
        assert log["note"] == "ノート ✅"


class TestRtgsAdvancedAnalysis:
    def test_seed_example_runs(self, ws):
        seed_day()
        rtgs.record_operation("visualization", "create", duration_seconds=2.0, timestamp=june(day=16))
        rtgs.record_operation("sensing-data", "extract", duration_seconds=2.0, timestamp=june(day=14))
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit.audit_service import AuditService
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
            print(f"\\nMost active day: {daily_activity.idxmax()} ({daily_activity.max()} operations)")
            """
        )
        assert "Most active day: 2023-06-15 (12 operations)" in out
        tu = ns["tool_usage"]
        assert tu.loc["sensing-data", ("operation_id", "count")] == 11
        assert tu.loc["gridded-data", ("success", "mean")] == 0

    def test_date_range_includes_end_day_and_excludes_outside(self, ws):
        rtgs.record_operation("t", "may31", timestamp=datetime(2023, 5, 31, 23, 59, 59, tzinfo=UTC))
        rtgs.record_operation("t", "jun01", timestamp=datetime(2023, 6, 1, 0, 0, 0, tzinfo=UTC))
        rtgs.record_operation("t", "jun30", timestamp=datetime(2023, 6, 30, 23, 59, 59, tzinfo=UTC))
        rtgs.record_operation("t", "jul01", timestamp=datetime(2023, 7, 1, 0, 0, 0, tzinfo=UTC))
        ops = [x["operation"] for x in rtgs.AuditService().get_audit_logs("2023-06-01", "2023-06-30")]
        assert ops == ["jun01", "jun30"]

    def test_no_match_and_empty(self, ws):
        assert rtgs.AuditService().get_audit_logs("2023-06-01", "2023-06-30") == []
        rtgs.record_operation("t", "x", timestamp=june())
        assert rtgs.AuditService().get_audit_logs("2024-01-01", "2024-01-31") == []

    def test_tool_performance_example_runs(self, ws):
        pytest.importorskip("matplotlib")
        seed_day()
        rtgs.record_operation("visualization", "create", duration_seconds=2.0, timestamp=june(day=16))
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit.audit_service import AuditService
            import pandas as pd
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
            """
        )
        perf = ns["performance"]
        assert perf.loc["sensing-data", "count"] == 10
        assert perf.loc["sensing-data", "max"] == pytest.approx(45.7)
        assert ns["daily_usage"].shape == (2, 3)
        import matplotlib.pyplot as plt

        plt.close("all")


class TestRtgsWorkflowExamples:
    def test_research_workflow_example_runs(self, ws):
        import pandas as pd  # noqa: F401

        with rtgs.log_custom_operation("sensing-data", "extract", note="first"):
            pass
        with rtgs.log_custom_operation("visualization", "create"):
            pass
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit import recent_logs
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
            """
        )
        assert "sensing-data extract" in out and "visualization create" in out
        assert "     Note: first" in out
        assert out.count("Note:") == 1

    def test_quality_assurance_example_runs(self, ws):
        now = datetime.now(UTC)
        rtgs.record_operation("t", "ok", timestamp=now - timedelta(days=3))
        rtgs.record_operation("t", "bad", success=False, error_message="e", timestamp=now - timedelta(days=2))
        rtgs.record_operation("t", "ok2", timestamp=now - timedelta(minutes=1))
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit import generate_report
            from datetime import datetime, timedelta

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
            """
        )
        assert "QA Review: 1 files contain failed operations" in out
        assert len(ns["qa_files"]) >= 2
        for p in ns["qa_files"]:
            assert Path(p).resolve().parent == (ws / "qa_review").resolve()

    def test_weekly_report_generation_example_runs(self, ws):
        now = datetime.now(UTC)
        for d in (1, 9, 16, 25):
            rtgs.record_operation("t", f"op{d}", timestamp=now - timedelta(days=d))
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit import generate_report
            from datetime import datetime, timedelta
            import os

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
            """
        )
        assert "Generated reports for 5 weeks" in out
        allfiles = [f for w in ns["week_reports"] for f in w["files"]]
        assert all(Path(f).exists() for f in allfiles)
        text = "".join(Path(f).read_text(encoding="utf-8") for f in allfiles)
        for d in (1, 9, 16, 25):
            assert f"op{d}" in text


class TestRtgsDailyReport:
    def test_layout_matches_seed(self, ws):
        seed_day()
        files = rtgs.generate_report(start_date="2023-06-01", end_date="2023-06-30", output_dir="./audit_reports")
        assert isinstance(files, list)
        (f,) = [f for f in files if "2023-06-15" in Path(f).name]
        assert Path(f).suffix == ".md"
        md = Path(f).read_text(encoding="utf-8")
        text = unescape_md(md)
        lines = text.splitlines()
        assert lines[0] == "# Audit Report - 2023-06-15"
        assert "## Summary" in lines
        assert "- Total Operations: 12" in lines
        assert "- Successful: 11 (91.7%)" in lines
        assert "- Failed: 1 (8.3%)" in lines
        (tools,) = [x for x in lines if x.startswith("- Tools Used: ")]
        assert set(tools[len("- Tools Used: "):].split(", ")) == {"sensing-data", "visualization", "gridded-data"}
        assert "## Operations" in lines
        assert lines.index("## Summary") < lines.index("## Operations")
        i = lines.index("### 14:30:22 - sensing-data extract ✅")
        block = lines[i + 1 : i + 7]
        assert "- **Project**: Winter Turf - v3" in block
        assert "- **Date Range**: 2023-01-01 to 2023-01-31" in block
        assert "- **Records**: 15,420" in block
        assert "- **Duration**: 45.7s" in block
        assert "- **Output**: ./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv" in block
        assert "### 14:40:00 - gridded-data download ❌" in lines
        assert md.count("❌") == 1
        # operations in time order
        heads = [x for x in lines if x.startswith("### ")]
        assert heads == sorted(heads) and len(heads) == 12

    def test_one_file_per_day(self, ws):
        rtgs.record_operation("t", "a", timestamp=june(day=2))
        rtgs.record_operation("t", "b", timestamp=june(day=3))
        rtgs.record_operation("t", "c", timestamp=june(day=3, h=23))
        files = rtgs.generate_report(start_date="2023-06-01", end_date="2023-06-30", output_dir="./r")
        days = {}
        for f in files:
            first = Path(f).read_text(encoding="utf-8").splitlines()[0]
            days[first] = f
        assert "# Audit Report - 2023-06-02" in days and "# Audit Report - 2023-06-03" in days
        assert "Total Operations: 2" in Path(days["# Audit Report - 2023-06-03"]).read_text(encoding="utf-8")

    def test_tool_name_filter(self, ws):
        seed_day()
        files = rtgs.generate_report(
            start_date="2023-06-01", end_date="2023-06-30", tool_name="visualization", output_dir="./v"
        )
        text = "".join(Path(f).read_text(encoding="utf-8") for f in files)
        assert "Total Operations: 1" in text
        assert "sensing-data extract" not in text

    def test_no_match_and_empty_trail(self, ws):
        files = rtgs.generate_report(start_date="2023-06-01", end_date="2023-06-30", output_dir="./e")
        assert isinstance(files, list)
        rtgs.record_operation("t", "x", timestamp=june())
        files = rtgs.generate_report(start_date="2024-06-01", end_date="2024-06-30", output_dir="./e2")
        assert isinstance(files, list)
        for f in files:
            assert "Total Operations: 0" in Path(f).read_text(encoding="utf-8")

    def test_seed_python_api_example_runs(self, ws):
        seed_day()
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit import recent_logs, generate_report, create_reproduction_script

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
            """
        )
        assert len(ns["logs"]) == 10
        sp = Path(ns["script_info"]["script_path"])
        assert sp.name == "reproduce_june_analysis.sh" and sp.exists()
        assert f"Created reproduction script: {ns['script_info']['script_path']}" in out
        assert "rtgs sensing-data extract" in sp.read_text()

    def test_unicode_report(self, ws):
        rtgs.record_operation(
            "анализ", "σύνοψη", parameters={"project": "Été ☃ 北京"}, note="ノート", timestamp=june()
        )
        (f,) = rtgs.generate_report(start_date="2023-06-15", end_date="2023-06-15", output_dir="./u")
        text = unescape_md(Path(f).read_text(encoding="utf-8"))
        assert "анализ σύνοψη ✅" in text
        assert "Été ☃ 北京" in text


class TestRtgsWeeklyReports:
    def test_seed_example_runs(self, ws):
        now = datetime.now(UTC)
        for d in (2, 10, 20):
            rtgs.record_operation("t", f"op{d}", timestamp=now - timedelta(days=d))
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit.report_service import ReportService
            from datetime import datetime, timedelta

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
            """
        )
        wr = ns["weekly_reports"]
        assert isinstance(wr, dict) and len(wr) >= 3
        text = ""
        for week, p in wr.items():
            assert Path(p).exists()
            assert f"Week {week}: {p}" in out
            text += Path(p).read_text(encoding="utf-8")
        for d in (2, 10, 20):
            assert f"op{d}" in text


class TestRtgsReproduction:
    def _fake_rtgs(self, ws, fail_on=None):
        bindir = ws / "bin"
        bindir.mkdir(exist_ok=True)
        calls = ws / "calls.jsonl"
        fake = bindir / "rtgs"
        fake.write_text(
            "#!" + PY + "\n"
            "import json, sys\n"
            f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
            f"sys.exit(1 if {fail_on!r} in sys.argv[1:3] else 0)\n"
        )
        fake.chmod(0o755)
        return bindir, calls

    def _git_repo(self, ws):
        subprocess.run(["git", "init", "-q", "-b", "main"], check=True, cwd=ws)
        subprocess.run(
            ["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x"],
            check=True,
            cwd=ws,
        )
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ws).stdout.strip()

    def _run_script(self, script, cwd, bindir):
        env = dict(os.environ, PATH=str(bindir) + os.pathsep + os.environ["PATH"])
        return subprocess.run(["bash", str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)

    def test_script_structure_matches_seed(self, ws):
        seed_day(commit="abc1230000000000000000000000000000000000")
        rtgs.generate_report(start_date="2023-06-01", end_date="2023-06-30", output_dir="./logs")
        info = rtgs.create_reproduction_script(logs_dir="./logs", output_file="reproduce_analysis.sh")
        p = Path(info["script_path"])
        s = p.read_text()
        lines = s.splitlines()
        assert lines[0] == "#!/bin/bash"
        assert re.search(r"^# Reproduction script generated on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", s, re.M)
        m = re.search(r"^# Original execution timespan: (\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)$", s, re.M)
        assert m and m.group(1) <= "2023-06-15" <= m.group(2)
        assert re.search(r"^set -e\b", s, re.M)
        assert 'echo "Starting reproduction of RTGS Lab Tools operations..."' in s
        assert "git checkout abc1230000000000000000000000000000000000" in s
        assert 'echo "Executing: sensing-data extract (2023-06-15 14:30:22)"' in s
        assert 'echo "Executing: visualization create (2023-06-15 14:32:15)"' in s
        flat = re.sub(r"\\\n\s*", "", s)
        assert (
            'rtgs sensing-data extract --project "Winter Turf - v3" --start-date "2023-01-01" '
            '--end-date "2023-01-31" --note "Reproduction: Monthly analysis for winter conditions"'
        ) in flat
        assert (
            'rtgs visualization create --file "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv" '
            '--parameter "Temperature" --node-id "LCCMR_01" '
            '--note "Reproduction: Temperature analysis visualization"'
        ) in flat
        assert lines[-1] == 'echo "Reproduction script completed successfully"'
        assert flat.index("sensing-data extract --project") < flat.index("visualization create --file")
        assert os.access(p, os.X_OK)
        assert info["operation_count"] in (11, 12)

    def test_script_really_reruns_commands_and_checks_out_commit(self, ws):
        head = self._git_repo(ws)
        bindir, calls = self._fake_rtgs(ws)
        # log_custom_operation records the working directory's commit
        # (record_operation imports operations recorded elsewhere: no git lookup)
        with rtgs.log_custom_operation("sensing-data", "extract", parameters=dict(EXTRACT_PARAMS)):
            pass
        with rtgs.log_custom_operation("visualization", "create", parameters={"parameter": "Température ☃"}):
            pass
        log = rtgs.recent_logs()[0]
        assert log["git_commit"] == head
        subprocess.run(
            ["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "y"],
            check=True,
        )
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        rtgs.generate_report(start_date=today, end_date=today, output_dir="./logs")
        info = rtgs.create_reproduction_script(output_file="again.sh")  # logs_dir default: logs
        r = self._run_script(info["script_path"], ws, bindir)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Executing: sensing-data extract" in r.stdout
        assert "Reproduction script completed successfully" in r.stdout
        got = [json.loads(x) for x in calls.read_text().splitlines()]
        assert got[0][:2] == ["sensing-data", "extract"]
        assert got[0][2:8] == ["--project", "Winter Turf - v3", "--start-date", "2023-01-01", "--end-date", "2023-01-31"]
        assert got[0][8] == "--note" and got[0][9].startswith("Reproduction")
        assert got[1][:4] == ["visualization", "create", "--parameter", "Température ☃"]
        now = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        assert now == head

    def test_script_stops_on_failure(self, ws):
        bindir, calls = self._fake_rtgs(ws, fail_on="second")
        for i, op in enumerate(["first", "second", "third"]):
            rtgs.record_operation("t", op, timestamp=june(m=i))
        rtgs.generate_report(start_date="2023-06-15", end_date="2023-06-15", output_dir="./logs")
        info = rtgs.create_reproduction_script()
        assert Path(info["script_path"]).name == "reproduce_commands.sh"
        r = self._run_script(info["script_path"], ws, bindir)
        assert r.returncode != 0
        ops = [json.loads(x)[1] for x in calls.read_text().splitlines()]
        assert ops == ["first", "second"]
        assert "completed successfully" not in r.stdout

    def test_curated_directory_reproduces_what_is_left(self, ws):
        rtgs.record_operation("t", "keep", timestamp=june(day=2))
        rtgs.record_operation("t", "drop", timestamp=june(day=3))
        files = rtgs.generate_report(start_date="2023-06-01", end_date="2023-06-30", output_dir="./curated")
        for f in files:
            if "drop" in Path(f).read_text(encoding="utf-8"):
                os.remove(f)
        info = rtgs.create_reproduction_script(logs_dir="./curated", output_file="c.sh")
        s = Path(info["script_path"]).read_text()
        assert "rtgs t keep" in s and "rtgs t drop" not in s
        assert info["operation_count"] == 1

    def test_collaboration_example_runs(self, ws):
        rtgs.record_operation("t", "a", timestamp=june(day=2))
        rtgs.record_operation("t", "b", timestamp=june(day=5))
        rtgs.generate_report(start_date="2023-06-01", end_date="2023-06-30", output_dir="./shared_analysis_logs")
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit import create_reproduction_script

            # Create reproduction script for sharing analysis
            script_info = create_reproduction_script(
                logs_dir="./shared_analysis_logs",
                output_file="shared_analysis_reproduction.sh"
            )

            print(f"Reproduction script created for collaboration:")
            print(f"  Script: {script_info['script_path']}")
            print(f"  Operations: {script_info['operation_count']}")
            print(f"  Time span: {script_info['start_date']} to {script_info['end_date']}")
            """
        )
        assert "  Operations: 2" in out
        si = ns["script_info"]
        assert str(si["start_date"]).startswith("2023-06-02")
        assert str(si["end_date"]).startswith("2023-06-05")
        assert Path(si["script_path"]).name == "shared_analysis_reproduction.sh"

    def test_empty_logs_dir(self, ws):
        (ws / "empty").mkdir()
        info = rtgs.create_reproduction_script(logs_dir="./empty", output_file="e.sh")
        assert info["operation_count"] == 0
        r = subprocess.run(["bash", info["script_path"]], capture_output=True, text=True, cwd=ws)
        assert r.returncode == 0, r.stderr

    def test_custom_reproduction_script_example_runs(self, ws):
        seed_day()
        rtgs.record_operation("other-tool", "run", timestamp=june(h=16))
        rtgs.generate_report(start_date="2023-06-01", end_date="2023-06-30", output_dir="./filtered_logs")
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit.report_service import create_custom_reproduction_script

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
            """
        )
        p = Path(str(ns["script_path"]))
        assert p.name == "custom_reproduction.sh"
        s = p.read_text()
        assert "rtgs sensing-data extract" in s and "rtgs visualization create" in s
        assert "list-projects" not in s and "other-tool" not in s and "gridded-data" not in s
        # timing and error handling make the script longer than the plain one
        plain = Path(rtgs.create_reproduction_script(logs_dir="./filtered_logs", output_file="p.sh")["script_path"])
        assert len(s) > 0 and "list-projects" in plain.read_text()
        bindir, calls = self._fake_rtgs(ws)
        r = self._run_script(p, ws, bindir)
        # git checkout of abc123... fails outside a repository: set -e stops
        assert r.returncode != 0 or len(calls.read_text().splitlines()) == 2

    def test_custom_script_timing_and_error_handling_visible(self, ws):
        bindir, calls = self._fake_rtgs(ws, fail_on="bad")
        rtgs.record_operation("t", "good", timestamp=june())
        rtgs.record_operation("t", "bad", timestamp=june(m=40))
        rtgs.generate_report(start_date="2023-06-15", end_date="2023-06-15", output_dir="./logs")
        sp = rtgs.create_custom_reproduction_script(
            logs_dir="./logs", output_file="x.sh", config={"add_timing": True, "add_error_handling": True}
        )
        r = self._run_script(str(sp), ws, bindir)
        assert r.returncode != 0
        # the failing operation is identified on stderr (by its number)
        assert "operation 2" in r.stderr
        assert "took" in r.stdout  # timing


class TestRtgsGlobalLogging:
    def test_seed_example_runs(self, ws):
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit.audit_service import set_global_logging

            # Enable logging for all tools
            set_global_logging(enabled=True)

            # Disable logging (operations will still work but won't be logged)
            set_global_logging(enabled=False)

            # Check current status
            from rtgs_lab_tools.audit.audit_service import get_logging_status
            status = get_logging_status()
            print(f"Postgres logging enabled: {status['enabled']}")
            """
        )
        assert "Postgres logging enabled: False" in out
        ran = []
        with rtgs.log_custom_operation("t", "op"):
            ran.append(1)
        assert ran == [1]
        assert rtgs.recent_logs() == []
        # holds in another process
        p = run_child("from evident.compat import rtgs; print(rtgs.get_logging_status()['enabled'])", ws)
        assert p.stdout.strip() == "False"
        rtgs.set_global_logging(enabled=True)
        with rtgs.log_custom_operation("t", "op2"):
            pass
        assert [x["operation"] for x in rtgs.recent_logs()] == ["op2"]

    def test_default_enabled(self, ws):
        assert rtgs.get_logging_status()["enabled"] is True


class TestRtgsStorage:
    def test_log_in_evident_rtgs_dir_and_verifies(self, ws):
        with rtgs.log_custom_operation("t", "op"):
            pass
        assert rtgs.log_path() == ws / "rtgsdata" / "audit.jsonl"
        assert (ws / "rtgsdata" / "audit.jsonl").exists()
        assert evident.verify(str(ws / "rtgsdata" / "audit.jsonl")).valid

    def test_xdg_and_home_fallbacks(self, ws):
        env = {k: v for k, v in os.environ.items() if k != "EVIDENT_RTGS_DIR"}
        code = "from evident.compat import rtgs; print(rtgs.log_path())"
        for extra, want in [
            ({"XDG_DATA_HOME": str(ws / "xdg"), "HOME": str(ws / "home")}, ws / "xdg/evident/rtgs/audit.jsonl"),
            ({"HOME": str(ws / "home")}, ws / "home/.local/share/evident/rtgs/audit.jsonl"),
        ]:
            e = dict(env)
            e.pop("XDG_DATA_HOME", None)
            e.update(extra)
            e["PYTHONPATH"] = SRC
            p = subprocess.run([PY, "-c", code], env=e, capture_output=True, text=True, cwd=ws)
            assert p.returncode == 0, p.stderr
            assert Path(p.stdout.strip()) == want

    def test_other_process_sees_same_trail(self, ws):
        run_child(
            """
            from evident.compat import rtgs
            with rtgs.log_custom_operation("child-tool", "op", parameters={"x": "ü"}):
                pass
            """,
            ws,
        )
        with rtgs.log_custom_operation("parent-tool", "op"):
            pass
        p = run_child(
            "import json; from evident.compat import rtgs; "
            "print(json.dumps([x['tool_name'] for x in rtgs.recent_logs()]))",
            ws,
        )
        assert sorted(json.loads(p.stdout)) == ["child-tool", "parent-tool"]
        (c,) = rtgs.recent_logs(tool_name="child-tool")
        assert c["parameters"] == {"x": "ü"}

    def test_concurrent_processes(self, ws):
        code = textwrap.dedent(
            """
            from evident.compat import rtgs
            for i in range(20):
                with rtgs.log_custom_operation("p", "op"):
                    pass
            """
        )
        procs = [
            subprocess.Popen([PY, "-c", code], cwd=ws, env=child_env(), stderr=subprocess.PIPE) for _ in range(3)
        ]
        for p in procs:
            assert p.wait(timeout=120) == 0, p.stderr.read()
        assert len(rtgs.recent_logs(limit=None)) == 60
        assert evident.verify(str(rtgs.log_path())).valid


class TestRtgsCli:
    """`rtgs audit X` becomes `python -m evident.compat.rtgs X`, same options."""

    def _ops(self, ws):
        run_child(
            """
            from datetime import datetime, timezone, timedelta
            from evident.compat import rtgs
            for i in range(25):
                rtgs.record_operation("sensing-data", "extract", parameters={"i": i})
            rtgs.record_operation("visualization", "create")
            rtgs.record_operation("old", "op", timestamp=datetime.now(timezone.utc) - timedelta(hours=3))
            rtgs.record_operation("visualization", "create",
                                  timestamp=datetime(2023, 6, 15, 12, tzinfo=timezone.utc))
            rtgs.record_operation("sensing-data", "extract",
                                  timestamp=datetime(2023, 6, 16, 12, tzinfo=timezone.utc))
            """,
            ws,
        )

    def test_recent(self, ws):
        self._ops(ws)
        out = rtgs_cli("recent", cwd=ws, check=0).stdout
        assert out.count("extract") + out.count("create") == 10
        out = rtgs_cli("recent", "--limit", "20", cwd=ws, check=0).stdout
        assert out.count("extract") + out.count("create") == 20
        out = rtgs_cli("recent", "--minutes", "60", "--limit", "100", cwd=ws, check=0).stdout
        assert "old" not in out
        assert out.count("extract") == 25
        out = rtgs_cli("recent", "--tool-name", "visualization", "--limit", "100", cwd=ws, check=0).stdout
        assert "create" in out and "extract" not in out

    def test_recent_no_match(self, ws):
        self._ops(ws)
        p = rtgs_cli("recent", "--tool-name", "nothing-here", cwd=ws, check=0)
        assert "extract" not in p.stdout

    def test_recent_empty(self, ws):
        rtgs_cli("recent", cwd=ws, check=0)

    def test_report(self, ws):
        self._ops(ws)
        rtgs_cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30", cwd=ws, check=0)
        files = sorted((ws / "logs").glob("**/*.md"))  # default output dir: logs
        assert len(files) == 2
        rtgs_cli(
            "report", "--start-date", "2023-06-01", "--end-date", "2023-06-30", "--tool-name", "visualization",
            "--output-dir", "./vis", cwd=ws, check=0,
        )
        text = "".join(f.read_text(encoding="utf-8") for f in (ws / "vis").glob("**/*.md"))
        assert "visualization create" in text and "sensing-data" not in text
        rtgs_cli(
            "report", "--start-date", "2023-06-01", "--end-date", "2023-06-30", "--output-dir", "./audit_reports",
            cwd=ws, check=0,
        )
        assert len(list((ws / "audit_reports").glob("**/*.md"))) == 2

    def test_report_dates_required(self, ws):
        p = rtgs_cli("report", "--end-date", "2023-06-30", cwd=ws)
        assert p.returncode == 2 and "start-date" in p.stderr
        p = rtgs_cli("report", "--start-date", "2023-06-01", cwd=ws)
        assert p.returncode == 2 and "end-date" in p.stderr

    def test_report_bad_date(self, ws):
        p = rtgs_cli("report", "--start-date", "June 1", "--end-date", "2023-06-30", cwd=ws)
        assert p.returncode != 0 and "Traceback" not in p.stderr

    def test_reproduce(self, ws):
        self._ops(ws)
        rtgs_cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30", cwd=ws, check=0)
        rtgs_cli("reproduce", cwd=ws, check=0)  # defaults: --logs-dir logs, reproduce_commands.sh
        s = (ws / "reproduce_commands.sh").read_text()
        assert "rtgs visualization create" in s and "rtgs sensing-data extract" in s
        rtgs_cli("reproduce", "--logs-dir", "./logs", "--output-file", "reproduce_analysis.sh", cwd=ws, check=0)
        assert (ws / "reproduce_analysis.sh").read_text().count("\nrtgs ") == 2

    def test_reproduce_recent(self, ws):
        self._ops(ws)
        rtgs_cli("reproduce", "--recent", "--minutes", "30", "--output-file", "recent_work.sh", cwd=ws, check=0)
        s = (ws / "recent_work.sh").read_text()
        assert s.count("rtgs sensing-data extract") == 25
        assert "rtgs old op" not in s and "2023-06-15" not in s

    def test_postgres_logging_commands(self, ws):
        p = rtgs_cli("postgres-logging-status", cwd=ws, check=0)
        assert "enabled" in p.stdout.lower()
        rtgs_cli("disable-postgres-logging", cwd=ws, check=0)
        assert rtgs.get_logging_status()["enabled"] is False
        p = rtgs_cli("postgres-logging-status", cwd=ws, check=0)
        assert "disabled" in p.stdout.lower() or "false" in p.stdout.lower()
        rtgs_cli("enable-postgres-logging", cwd=ws, check=0)
        assert rtgs.get_logging_status()["enabled"] is True

    def test_help_lists_commands(self, ws):
        p = rtgs_cli("--help", cwd=ws, check=0)
        for c in ("recent", "report", "reproduce", "postgres-logging-status", "enable-postgres-logging",
                  "disable-postgres-logging"):
            assert c in p.stdout
        for c, opts in [
            ("recent", ["--limit", "--tool-name", "--minutes"]),
            ("report", ["--start-date", "--end-date", "--tool-name", "--output-dir"]),
            ("reproduce", ["--logs-dir", "--output-file"]),
        ]:
            h = rtgs_cli(c, "--help", cwd=ws, check=0).stdout
            for o in opts:
                assert o in h, (c, o)


@needs_cli
class TestEvidentCli:
    def _log(self, ws):
        seed_day(commit="abc1230000000000000000000000000000000000")
        rtgs.record_operation("visualization", "create", parameters={"p": "x"}, timestamp=june(day=16))
        return str(rtgs.log_path())

    def test_report_by_day(self, ws):
        log = self._log(ws)
        p = evident_cli("report", log, "-o", "reports", cwd=ws, check=0)
        files = sorted((ws / "reports").glob("*.md"))
        assert len(files) == 2
        for f in files:
            assert str(f.name) in p.stdout
        t = unescape_md(next(f for f in files if "2023-06-15" in f.name).read_text(encoding="utf-8"))
        assert t.startswith("# Audit Report - 2023-06-15")
        assert "- Successful: 11 (91.7%)" in t

    def test_report_by_week_and_tool(self, ws):
        log = self._log(ws)
        evident_cli("report", log, "--by", "week", "-o", "w", cwd=ws, check=0)
        assert len(list((ws / "w").glob("*.md"))) == 1  # 15 and 16 June 2023: same ISO week
        evident_cli("report", log, "--by", "tool", "-o", "t", cwd=ws, check=0)
        assert len(list((ws / "t").glob("*.md"))) == 3

    def test_report_filters(self, ws):
        log = self._log(ws)
        evident_cli("report", log, "--since", "2023-06-16", "-o", "s", cwd=ws, check=0)
        assert len(list((ws / "s").glob("*.md"))) == 1
        evident_cli("report", log, "--source", "gridded-data", "-o", "g", cwd=ws, check=0)
        t = "".join(f.read_text(encoding="utf-8") for f in (ws / "g").glob("*.md"))
        assert "Total Operations: 1" in t

    def test_report_html_and_pdf(self, ws):
        log = self._log(ws)
        evident_cli("report", log, "--format", "html", "--title", "Été ☃", "-o", "report.html", cwd=ws, check=0)
        h = (ws / "report.html").read_text(encoding="utf-8")
        assert "<svg" in h and "Été ☃" in h
        assert "http://" not in h.replace("http://www.w3.org", "") and "https://" not in h
        evident_cli("report", log, "--format", "html", "--no-charts", "-o", "nc.html", cwd=ws, check=0)
        assert "<svg" not in (ws / "nc.html").read_text(encoding="utf-8")
        (ws / "outdir").mkdir()
        evident_cli("report", log, "--format", "html", "-o", "outdir", cwd=ws, check=0)
        assert (ws / "outdir" / "audit_report.html").exists()
        evident_cli("report", log, "--format", "pdf", "-o", "report.pdf", cwd=ws, check=0)
        assert (ws / "report.pdf").read_bytes().startswith(b"%PDF")

    def test_report_errors(self, ws):
        p = evident_cli("report", "missing.jsonl", "-o", "r", cwd=ws)
        assert p.returncode == 2 and p.stderr.startswith("evident: ")
        p = evident_cli("report", "missing.jsonl", cwd=ws)
        assert p.returncode == 2

    def test_report_empty_log(self, ws):
        with evident.AuditLog(str(ws / "empty.jsonl")):
            pass
        evident_cli("report", "empty.jsonl", "-o", "r", cwd=ws, check=0)
        evident_cli("report", "empty.jsonl", "--format", "html", "-o", "r.html", cwd=ws, check=0)
        assert (ws / "r.html").exists()

    def test_reproduce_from_reports_dir_with_subdirs(self, ws):
        log = self._log(ws)
        evident_cli("report", log, "-o", "reports/week_20230612", cwd=ws, check=0)
        evident_cli("report", log, "-o", "reports/again", cwd=ws, check=0)  # the same entries twice
        evident_cli("reproduce", "reports", "--program", "rtgs", "-o", "again.sh", cwd=ws, check=0)
        s = (ws / "again.sh").read_text()
        assert stat.S_IMODE(os.stat(ws / "again.sh").st_mode) == 0o755
        assert s.count("\nrtgs sensing-data extract") == 1
        assert s.count("\nrtgs visualization create") == 2
        assert s.count("\nrtgs ") == 13  # each entry once

    def test_reproduce_filters(self, ws):
        log = self._log(ws)
        evident_cli(
            "reproduce", log, "--program", "rtgs", "--tool", "sensing-data", "--tool", "visualization",
            "--exclude-operation", "list-projects", "--no-note", "-o", "f.sh", cwd=ws, check=0,
        )
        s = (ws / "f.sh").read_text()
        assert s.count("\nrtgs ") == 3
        assert "--note" not in s
        evident_cli("reproduce", log, "--program", "rtgs", "--skip-failed", "-o", "ok.sh", cwd=ws, check=0)
        assert "gridded-data" not in re.sub(r"(?m)^#.*$", "", (ws / "ok.sh").read_text())
        evident_cli("reproduce", log, "--program", "rtgs", "--until", "2023-06-16", "-o", "u.sh", cwd=ws, check=0)
        assert (ws / "u.sh").read_text().count("\nrtgs ") == 12

    def test_reproduce_without_program_runs_source(self, ws):
        log = self._log(ws)
        evident_cli("reproduce", log, "-o", "n.sh", cwd=ws, check=0)
        s = re.sub(r"\\\n\s*", "", (ws / "n.sh").read_text())
        assert re.search(r'^sensing-data extract --project "Winter Turf - v3"', s, re.M)

    def test_reproduce_errors(self, ws):
        p = evident_cli("reproduce", "missing.jsonl", "-o", "x.sh", cwd=ws)
        assert p.returncode == 2
        p = evident_cli("reproduce", "missing.jsonl", cwd=ws)
        assert p.returncode == 2


# ======================================================================
# Seed 003: SecureML
# ======================================================================

BASIC = """
from secureml.audit import AuditTrail

# Create an audit trail
audit = AuditTrail(
    operation_name="data_preprocessing_example",
    log_dir="audit_logs",
    context={"project": "credit_scoring", "environment": "development"},
    regulations=["GDPR"]
)

# Load sample data
data = pd.DataFrame({
    'name': ['Alice Smith', 'Bob Johnson'],
    'age': [32, 45],
    'income': [65000, 85000],
    'email': ['alice.s@example.com', 'bob.j@example.com']
})

# Log data access
audit.log_data_access(
    dataset_name="customer_data",
    columns_accessed=list(data.columns),
    num_records=len(data),
    purpose="data_preparation",
    user="analyst_123"
)

# Log a data transformation
audit.log_data_transformation(
    transformation_type="anonymization",
    input_data="raw_customer_data",
    output_data="anonymized_customer_data",
    parameters={
        "method": "k-anonymity",
        "k": 3,
        "quasi_identifiers": ["age", "income"]
    }
)

# Close the audit trail when operations are complete
audit.close(
    status="completed",
    details={
        "execution_time": 2.5,
        "records_processed": len(data)
    }
)
"""

DECORATOR = '''
from secureml.audit import audit_function

@audit_function(
    operation_name="model_training_example",
    log_dir="audit_logs",
    regulations=["GDPR", "CCPA"]
)
def train_model(data, model_type="random_forest", **params):
    """Train a machine learning model with audit logging."""
    print(f"Training {model_type} model with {len(data)} records")

    # Simulate model training
    accuracy = 0.92
    training_time = 35.7

    return {
        "model": f"{model_type}_model",
        "accuracy": accuracy,
        "training_time": training_time
    }

# Call the decorated function - audit trail is created automatically
result = train_model(
    data,
    model_type="gradient_boosting",
    n_estimators=100,
    max_depth=5
)
'''

RETRIEVE = """
from secureml.audit import get_audit_logs

# Get logs for a specific operation
preprocessing_logs = get_audit_logs(
    operation_name="data_preprocessing_example",
    log_dir="audit_logs"
)

# Print summary of logs
print(f"Retrieved {len(preprocessing_logs)} logs for data preprocessing")
for log in preprocessing_logs:
    print(f"Event: {log.get('event_type')} - Time: {log.get('timestamp')}")

# Get logs for a time period
import datetime

today = datetime.datetime.now().strftime("%Y-%m-%d")
all_logs = get_audit_logs(
    start_time=f"{today}T00:00:00",
    log_dir="audit_logs"
)
"""

REPORT = """
from secureml.reporting import ReportGenerator

# Create a report generator
generator = ReportGenerator()

# Generate an audit report
report_path = generator.generate_audit_report(
    logs=all_logs,
    output_file="audit_report.html",
    title="SecureML Operations Audit Report",
    include_charts=True
)

print(f"Audit report generated at: {report_path}")
"""

COMPLIANCE = """
from secureml.compliance import ComplianceAuditor

# Create a compliance auditor with audit integration
auditor = ComplianceAuditor(
    regulation='GDPR',
    log_dir='audit_logs'  # This enables automatic audit trail creation
)

# The audit trails for all operations will be stored in the log directory
dataset_report = auditor.audit_dataset(
    dataset=data,
    dataset_name='customer_records'
)
"""


def sml_ns():
    import pandas as pd

    return {"pd": pd}  # the seed's first example uses pd without importing it


class TestSecureMLBasic:
    def test_basic_example_runs_and_records(self, ws):
        ns, _ = run_example(BASIC, sml_ns())
        f = ws / "audit_logs" / "data_preprocessing_example.jsonl"
        assert f.exists()
        assert evident.verify(str(f)).valid
        logs = secureml.get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
        types = [x["event_type"] for x in logs]
        assert types == ["operation_start", "data_access", "data_transformation", "operation_end"]
        acc = logs[1]
        assert acc["dataset_name"] == "customer_data"
        assert acc["columns_accessed"] == ["name", "age", "income", "email"]
        assert acc["num_records"] == 2
        assert acc["purpose"] == "data_preparation"
        assert acc["user"] == "analyst_123"
        tr = logs[2]
        assert tr["transformation_type"] == "anonymization"
        assert tr["input_data"] == "raw_customer_data"
        assert tr["output_data"] == "anonymized_customer_data"
        assert tr["parameters"] == {"method": "k-anonymity", "k": 3, "quasi_identifiers": ["age", "income"]}
        end = logs[3]
        assert end["status"] == "completed"
        assert end["details"] == {"execution_time": 2.5, "records_processed": 2}
        for x in logs:
            assert x["context"]["project"] == "credit_scoring"
            assert x["context"]["environment"] == "development"
            assert x["regulations"] == ["GDPR"]
            assert x["operation_name"] == "data_preprocessing_example"
        assert len({x["operation_id"] for x in logs}) == 1
        # evident's entry mapping (README)
        entries = list(evident.read_entries(str(f)))
        assert [e.event_type for e in entries] == types
        assert {e.action for e in entries} == {"data_preprocessing_example"}
        assert {e.session_id for e in entries} == {logs[0]["operation_id"]}

    def test_readme_example_runs(self, ws):
        from evident.compat.secureml import AuditTrail, ReportGenerator, get_audit_logs

        audit = AuditTrail(operation_name="preprocessing", log_dir="audit_logs",
                           context={"project": "credit_scoring"}, regulations=["GDPR"])
        audit.log_data_access(dataset_name="customers", columns_accessed=["age"], num_records=2,
                              purpose="data_preparation", user="analyst_123")
        audit.close(status="completed")
        p = ReportGenerator().generate_audit_report(logs=get_audit_logs(log_dir="audit_logs"),
                                                    output_file="audit_report.html", title="Audit")
        assert Path(p).exists() and "customers" in Path(p).read_text(encoding="utf-8")

    def test_two_runs_one_file_distinct_ids(self, ws):
        for _ in range(2):
            a = secureml.AuditTrail(operation_name="op", log_dir="audit_logs")
            a.close()
        assert [p.name for p in (ws / "audit_logs").glob("*.jsonl")] == ["op.jsonl"]
        logs = secureml.get_audit_logs(operation_name="op", log_dir="audit_logs")
        assert len({x["operation_id"] for x in logs}) == 2
        ids = [x["operation_id"] for x in logs]
        assert len(secureml.get_audit_logs(operation_name="op", log_dir="audit_logs", operation_id=ids[0])) == 2

    def test_unicode(self, ws):
        a = secureml.AuditTrail(operation_name="préparation_☃", log_dir="audit_logs",
                                context={"projet": "信用"}, regulations=["GDPR"])
        a.log_data_access(dataset_name="clients_été", columns_accessed=["名前"], num_records=1,
                          purpose="тест", user="ユーザー")
        a.close()
        logs = secureml.get_audit_logs(operation_name="préparation_☃", log_dir="audit_logs")
        acc = [x for x in logs if x["event_type"] == "data_access"][0]
        assert acc["dataset_name"] == "clients_été" and acc["user"] == "ユーザー"
        assert acc["columns_accessed"] == ["名前"] and acc["context"]["projet"] == "信用"
        p = secureml.ReportGenerator().generate_audit_report(logs=logs, output_file="u.html", title="Été")
        h = Path(p).read_text(encoding="utf-8")
        assert "clients_été" in h and "ユーザー" in h

    def test_other_process_reads_trail(self, ws):
        run_child(
            """
            from evident.compat.secureml import AuditTrail
            a = AuditTrail(operation_name="shared", log_dir="audit_logs", regulations=["CCPA"])
            a.log_data_access(dataset_name="d", columns_accessed=["c"], num_records=1,
                              purpose="p", user="child")
            a.close()
            """,
            ws,
        )
        a = secureml.AuditTrail(operation_name="shared", log_dir="audit_logs")
        a.log_data_access(dataset_name="d", columns_accessed=["c"], num_records=1, purpose="p", user="parent")
        a.close()
        p = run_child(
            """
            import json
            from evident.compat.secureml import get_audit_logs
            print(json.dumps([x.get("user") for x in get_audit_logs(operation_name="shared", log_dir="audit_logs")
                              if x["event_type"] == "data_access"]))
            """,
            ws,
        )
        assert json.loads(p.stdout) == ["child", "parent"]


class TestSecureMLDecorator:
    def test_seed_example_runs(self, ws):
        import pandas as pd

        ns, out = run_example(DECORATOR, {"data": pd.DataFrame({"a": [1, 2, 3]})})
        assert "Training gradient_boosting model with 3 records" in out
        assert ns["result"] == {"model": "gradient_boosting_model", "accuracy": 0.92, "training_time": 35.7}
        assert ns["train_model"].__name__ == "train_model"
        assert ns["train_model"].__doc__ == "Train a machine learning model with audit logging."
        f = ws / "audit_logs" / "model_training_example.jsonl"
        assert f.exists() and evident.verify(str(f)).valid
        logs = secureml.get_audit_logs(operation_name="model_training_example", log_dir="audit_logs")
        types = [x["event_type"] for x in logs]
        assert types[0] == "operation_start" and types[-1] == "operation_end"
        assert "function_call" in types and "function_result" in types
        assert all(x["regulations"] == ["GDPR", "CCPA"] for x in logs)
        blob = json.dumps(logs, default=str)
        assert "gradient_boosting" in blob and "n_estimators" in blob and "max_depth" in blob

    def test_function_that_raises(self, ws):
        @secureml.audit_function(operation_name="boom", log_dir="audit_logs")
        def f(x):
            raise KeyError(x)

        with pytest.raises(KeyError) as ei:
            f("missing")
        assert ei.value.args == ("missing",)
        logs = secureml.get_audit_logs(operation_name="boom", log_dir="audit_logs")
        types = [x["event_type"] for x in logs]
        assert "function_error" in types or "error" in types
        assert "function_result" not in types
        assert types[-1] == "operation_end"
        assert logs[-1]["status"] != "completed"
        assert "KeyError" in json.dumps(logs, default=str)

    def test_generator_function(self, ws):
        @secureml.audit_function(operation_name="gen", log_dir="audit_logs")
        def g(n):
            yield from range(n)

        it = g(3)
        assert list(it) == [0, 1, 2]
        assert secureml.get_audit_logs(operation_name="gen", log_dir="audit_logs")

    def test_args_kwargs(self, ws):
        @secureml.audit_function(operation_name="va", log_dir="audit_logs")
        def f(*args, **kwargs):
            return args, kwargs

        assert f(1, "ü", k=[1, 2]) == ((1, "ü"), {"k": [1, 2]})
        blob = json.dumps(secureml.get_audit_logs(operation_name="va", log_dir="audit_logs"), ensure_ascii=False)
        assert "ü" in blob

    def test_method(self, ws):
        class Model:
            def __init__(self):
                self.w = 2

            @secureml.audit_function(operation_name="method", log_dir="audit_logs")
            def predict(self, x):
                return self.w * x

        m = Model()
        assert m.predict(21) == 42
        assert Model.predict(m, 1) == 2
        logs = secureml.get_audit_logs(operation_name="method", log_dir="audit_logs")
        assert sum(x["event_type"] == "function_result" for x in logs) == 2

    def test_default_operation_name_is_function_name(self, ws):
        @secureml.audit_function(log_dir="audit_logs")
        def my_func():
            return 1

        my_func()
        assert (ws / "audit_logs" / "my_func.jsonl").exists()

    def test_unserialisable_argument_and_result(self, ws):
        import pandas as pd

        @secureml.audit_function(operation_name="obj", log_dir="audit_logs")
        def f(df, o):
            return object()

        r = f(pd.DataFrame({"a": range(1000)}), object())
        assert r is not None
        assert evident.verify(str(ws / "audit_logs" / "obj.jsonl")).valid


class TestSecureMLGetAuditLogs:
    def _two(self, ws):
        ns, _ = run_example(BASIC, sml_ns())
        import pandas as pd

        run_example(DECORATOR, {"data": pd.DataFrame({"a": [1]})})
        return ns

    def test_seed_example_runs(self, ws):
        self._two(ws)
        ns, out = run_example(RETRIEVE)
        assert "Retrieved 4 logs for data preprocessing" in out
        assert out.count("Event: ") == 4
        assert "Event: data_access - Time: " in out
        assert "Time: None" not in out
        assert len(ns["all_logs"]) > 4
        assert {x["operation_name"] for x in ns["all_logs"]} == {"data_preprocessing_example", "model_training_example"}
        ts = [x["timestamp"] for x in ns["all_logs"]]
        assert ts == sorted(ts)

    def test_time_filters_without_match(self, ws):
        self._two(ws)
        future = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%dT00:00:00")
        assert secureml.get_audit_logs(start_time=future, log_dir="audit_logs") == []
        assert secureml.get_audit_logs(end_time="2000-01-01T00:00:00", log_dir="audit_logs") == []
        assert secureml.get_audit_logs(
            operation_name="data_preprocessing_example", start_time=future, log_dir="audit_logs"
        ) == []

    def test_type_filter(self, ws):
        self._two(ws)
        got = secureml.get_audit_logs(log_dir="audit_logs", event_type="data_access")
        assert [x["event_type"] for x in got] == ["data_access"]
        assert secureml.get_audit_logs(log_dir="audit_logs", event_type="no_such_type") == []

    def test_user_field(self, ws):
        self._two(ws)
        logs = secureml.get_audit_logs(log_dir="audit_logs")
        assert [x for x in logs if x.get("user") == "analyst_123"]
        assert [x for x in logs if x.get("user") == "nobody"] == []

    def test_unknown_operation_and_missing_dir(self, ws):
        self._two(ws)
        assert secureml.get_audit_logs(operation_name="never_ran", log_dir="audit_logs") == []
        assert secureml.get_audit_logs(log_dir="no_such_dir") == []

    def test_timestamps_parse_and_cover_now(self, ws):
        before = datetime.now(UTC) - timedelta(seconds=1)
        self._two(ws)
        after = datetime.now(UTC) + timedelta(seconds=1)
        for x in secureml.get_audit_logs(log_dir="audit_logs"):
            t = datetime.fromisoformat(str(x["timestamp"]).replace("Z", "+00:00"))
            if t.tzinfo is None:
                t = t.astimezone()
            assert before <= t <= after


class TestSecureMLReport:
    def test_seed_example_runs(self, ws):
        import pandas as pd

        run_example(BASIC, sml_ns())
        run_example(DECORATOR, {"data": pd.DataFrame({"a": [1]})})
        ns, _ = run_example(RETRIEVE)
        ns, out = run_example(REPORT, ns)
        rp = Path(ns["report_path"])
        assert rp.name == "audit_report.html" and rp.exists()
        assert f"Audit report generated at: {ns['report_path']}" in out
        h = rp.read_text(encoding="utf-8")
        assert "SecureML Operations Audit Report" in h
        assert "<svg" in h
        assert "data_access" in h and "customer_data" in h and "model_training_example" in h
        assert "valid" in h.lower()

    def test_without_charts(self, ws):
        run_example(BASIC, sml_ns())
        logs = secureml.get_audit_logs(log_dir="audit_logs")
        p = secureml.ReportGenerator().generate_audit_report(logs=logs, output_file="nc.html", include_charts=False)
        h = Path(p).read_text(encoding="utf-8")
        assert "<svg" not in h and "customer_data" in h

    def test_pdf(self, ws):
        run_example(BASIC, sml_ns())
        logs = secureml.get_audit_logs(log_dir="audit_logs")
        p = secureml.ReportGenerator().generate_audit_report(logs=logs, output_file="r.pdf", title="T")
        assert Path(p).read_bytes().startswith(b"%PDF")

    def test_empty_trail(self, ws):
        logs = secureml.get_audit_logs(log_dir="audit_logs")
        assert logs == []
        p = secureml.ReportGenerator().generate_audit_report(logs=logs, output_file="empty.html", title="Empty")
        h = Path(p).read_text(encoding="utf-8")
        assert "Empty" in h


class TestSecureMLCompliance:
    def test_seed_example_runs(self, ws):
        ns, _ = run_example(BASIC, sml_ns())
        ns, _ = run_example(COMPLIANCE, ns)
        rep = ns["dataset_report"]
        assert rep is not None
        blob = str(rep) + json.dumps(getattr(rep, "__dict__", {}), default=str)
        assert "email" in blob
        names = {p.name for p in (ws / "audit_logs").glob("*.jsonl")}
        assert len(names) >= 2  # the preprocessing trail and the auditor's
        recorded = secureml.get_audit_logs(log_dir="audit_logs", event_type="compliance_check")
        assert recorded and "customer_records" in json.dumps(recorded, default=str)
        for n in names:
            assert evident.verify(str(ws / "audit_logs" / n)).valid

    @needs_cli
    def test_cli_compliance_check(self, ws):
        (ws / "d.csv").write_text("name,email,age\nAlice Smith,alice.s@example.com,32\n")
        p = evident_cli("compliance-check", "d.csv", "--regulation", "gdpr", cwd=ws)
        assert p.returncode == 1
        (ws / "clean.csv").write_text("x,y\n1,2\n")
        assert evident_cli("compliance-check", "clean.csv", "--regulation", "gdpr", cwd=ws).returncode == 0
        p = evident_cli("compliance-check", "d.csv", "--regulation", "gdpr", "--json", cwd=ws)
        json.loads(p.stdout)


# ---------------------------------------------------------------- deeper checks


def _git(ws, *args):
    return subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", *args],
        cwd=ws, check=True, capture_output=True, text=True,
    ).stdout.strip()


def _recording_rtgs(ws):
    """A fake `rtgs` that records its argv and the repository's HEAD."""
    bindir = ws / "bin"
    bindir.mkdir(exist_ok=True)
    calls = ws / "calls.jsonl"
    fake = bindir / "rtgs"
    fake.write_text(
        "#!" + PY + "\n"
        "import json, subprocess, sys\n"
        "head = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()\n"
        f"open({str(calls)!r}, 'a').write(json.dumps({{'argv': sys.argv[1:], 'head': head}}) + '\\n')\n"
    )
    fake.chmod(0o755)
    return bindir, calls


class TestRtgsScriptFeatures:
    def test_checks_out_the_commit_of_each_operation(self, ws):
        _git(ws, "init", "-q", "-b", "main")
        _git(ws, "commit", "-q", "--allow-empty", "-m", "A")
        a = _git(ws, "rev-parse", "HEAD")
        with rtgs.log_custom_operation("sensing-data", "extract"):
            pass
        _git(ws, "commit", "-q", "--allow-empty", "-m", "B")
        b = _git(ws, "rev-parse", "HEAD")
        with rtgs.log_custom_operation("visualization", "create"):
            pass
        _git(ws, "commit", "-q", "--allow-empty", "-m", "C")
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        rtgs.generate_report(start_date=today, end_date=today, output_dir="./logs")
        info = rtgs.create_reproduction_script(logs_dir="./logs", output_file="again.sh")
        bindir, calls = _recording_rtgs(ws)
        env = dict(os.environ, PATH=str(bindir) + os.pathsep + os.environ["PATH"])
        r = subprocess.run(["bash", info["script_path"]], cwd=ws, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        got = [json.loads(x) for x in calls.read_text().splitlines()]
        assert [(c["argv"][:2], c["head"]) for c in got] == [
            (["sensing-data", "extract"], a),
            (["visualization", "create"], b),
        ]

    def test_parameters_preserved_exactly(self, ws):
        tricky = {
            "quote": 'say "hi"',
            "dollar": "$HOME and $(id) and `id`",
            "backslash": "a\\b\\\\c",
            "newline": "line1\nline2",
            "tab": "a\tb",
            "dash": "-x",
            "empty": "",
            "unicode": "Été ☃ 北京 \u202e",
            "glob": "*.csv ?",
            "single": "it's",
            "count": 15420,
        }
        rtgs.record_operation("sensing-data", "extract", parameters=dict(tricky), note='n "q" $x', timestamp=june())
        rtgs.generate_report(start_date="2023-06-15", end_date="2023-06-15", output_dir="./logs")
        info = rtgs.create_reproduction_script(logs_dir="./logs", output_file="p.sh")
        bindir, calls = _recording_rtgs(ws)
        env = dict(os.environ, PATH=str(bindir) + os.pathsep + os.environ["PATH"])
        s = Path(info["script_path"]).read_text()
        s = s.replace("git checkout", "true")  # no repository here
        Path(info["script_path"]).write_text(s)
        r = subprocess.run(["bash", info["script_path"]], cwd=ws, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        (call,) = [json.loads(x) for x in calls.read_text().splitlines()]
        argv = call["argv"]
        assert argv[:2] == ["sensing-data", "extract"]
        pairs = dict(zip(argv[2::2], argv[3::2]))
        for k, v in tricky.items():
            assert pairs["--" + k] == str(v), k
        assert list(pairs)[: len(tricky)] == ["--" + k for k in tricky]  # the operation's order
        assert pairs["--note"] == 'Reproduction: n "q" $x'


class TestTimeZones:
    """Naive datetimes and `datetime.now()` strings in the seeds are local."""

    @pytest.mark.parametrize("tz", ["Etc/GMT+12", "Pacific/Kiritimati"])
    def test_rtgs_weekly_example_sees_an_operation_just_made(self, ws, tz):
        p = run_child(
            """
            import json
            from datetime import datetime, timedelta, timezone
            from pathlib import Path
            from evident.compat import rtgs
            with rtgs.log_custom_operation("tzcheck", "justnow"):
                pass
            reporter = rtgs.ReportService()
            end_date = datetime.now()
            start_date = end_date - timedelta(weeks=4)
            weekly = reporter.generate_weekly_reports(start_date=start_date, end_date=end_date,
                                                      output_dir="./weekly_reports")
            text = "".join(Path(p).read_text(encoding="utf-8") for p in weekly.values())
            qa = rtgs.generate_report(start_date=start_date.strftime("%Y-%m-%d"),
                                      end_date=end_date.strftime("%Y-%m-%d"), output_dir="./qa")
            qtext = "".join(Path(p).read_text(encoding="utf-8") for p in qa)
            # README ("Switching from RTGS Lab Tools"): a date string is the
            # UTC day of that name, so where the local date is behind the
            # UTC date (UTC-12 before 12:00 UTC) the local date's day ended
            # before the operation, which the QA report then leaves out
            # (at other hours it holds it).
            utc_today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
            behind = end_date.strftime("%Y-%m-%d") < utc_today
            print(json.dumps(["justnow" in text, "justnow" in qtext, behind]))
            """,
            ws,
            {"TZ": tz},
        )
        weekly, qa, behind = json.loads(p.stdout.splitlines()[-1])
        assert weekly  # datetimes are instants: up to now
        assert qa == (not behind)

    @pytest.mark.parametrize("tz", ["Etc/GMT+12", "Pacific/Kiritimati"])
    def test_secureml_today_start_time_sees_todays_events(self, ws, tz):
        p = run_child(
            """
            import datetime, json
            from evident.compat.secureml import AuditTrail, get_audit_logs
            a = AuditTrail(operation_name="tz", log_dir="audit_logs")
            a.close()
            today = datetime.datetime.now().strftime("%Y-%m-%d")
            n = len(get_audit_logs(start_time=f"{today}T00:00:00", log_dir="audit_logs"))
            m = len(get_audit_logs(end_time=datetime.datetime.now() - datetime.timedelta(minutes=5),
                                   log_dir="audit_logs"))
            print(json.dumps([n, m]))
            """,
            ws,
            {"TZ": tz},
        )
        assert json.loads(p.stdout.splitlines()[-1]) == [2, 0]


class TestSecureMLGenerators:
    def test_generator_completing_is_audited_after_iteration(self, ws):
        @secureml.audit_function(operation_name="gen_ok", log_dir="audit_logs")
        def g(n):
            for i in range(n):
                time.sleep(0.02)
                yield i
            return "done"

        assert list(g(3)) == [0, 1, 2]
        logs = secureml.get_audit_logs(operation_name="gen_ok", log_dir="audit_logs")
        res = [x for x in logs if x["event_type"] == "function_result"]
        assert len(res) == 1
        assert res[0]["duration_seconds"] >= 0.05  # the iteration, not the making of the generator
        assert logs[-1]["event_type"] == "operation_end" and logs[-1]["status"] == "completed"

    def test_generator_raising_during_iteration_is_recorded_as_failed(self, ws):
        @secureml.audit_function(operation_name="gen_bad", log_dir="audit_logs")
        def g():
            yield 1
            raise ValueError("broken after one")

        it = g()
        assert next(it) == 1
        with pytest.raises(ValueError, match="broken after one"):
            next(it)
        logs = secureml.get_audit_logs(operation_name="gen_bad", log_dir="audit_logs")
        types = [x["event_type"] for x in logs]
        assert "function_error" in types
        assert "function_result" not in types
        assert logs[-1]["status"] != "completed"

    def test_generator_send_and_early_close(self, ws):
        @secureml.audit_function(operation_name="gen_send", log_dir="audit_logs")
        def acc():
            total = 0
            while True:
                x = yield total
                total += x

        it = acc()
        assert next(it) == 0
        assert it.send(5) == 5
        assert it.send(2) == 7
        it.close()
        logs = secureml.get_audit_logs(operation_name="gen_send", log_dir="audit_logs")
        assert logs[-1]["event_type"] == "operation_end"
        assert "function_error" not in [x["event_type"] for x in logs]
        (res,) = [x for x in logs if x["event_type"] == "function_result"]
        assert res["closed_early"] is True

    def test_generator_made_but_never_iterated_ran_nothing(self, ws):
        @secureml.audit_function(operation_name="gen_idle", log_dir="audit_logs")
        def g():
            yield 1

        g()
        assert secureml.get_audit_logs(operation_name="gen_idle", log_dir="audit_logs") == []


# ---------------------------------------------------------------- PostgreSQL
# Seed 002: "The audit system uses PostgreSQL for storage with the following
# tables: audit_logs: …" and "POSTGRES_HOST … in .env file". Only when a
# PostgreSQL server can be started here (pg_ctl and initdb on PATH).

_PG_BIN = shutil.which("pg_ctl") and shutil.which("initdb")


def _sql(port: int, sql: str, user="audit_user", db="rtgs_audit"):
    """Minimal PostgreSQL simple-query client (trust authentication): rows
    of text (None for NULL) and the column names."""
    import struct

    s = socket.create_connection(("127.0.0.1", port), timeout=30)

    def send(t: bytes, body: bytes):
        s.sendall(t + struct.pack("!I", len(body) + 4) + body)

    def recv_exact(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise ConnectionError("closed")
            b += c
        return b

    def msg():
        t = recv_exact(1)
        (n,) = struct.unpack("!I", recv_exact(4))
        return t, recv_exact(n - 4)

    params = f"user\0{user}\0database\0{db}\0\0".encode()
    body = struct.pack("!I", 196608) + params
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    while True:
        t, b = msg()
        if t == b"E":
            raise RuntimeError(b.decode(errors="replace"))
        if t == b"R" and struct.unpack("!I", b[:4])[0] != 0:
            raise RuntimeError("authentication other than trust")
        if t == b"Z":
            break
    send(b"Q", sql.encode() + b"\0")
    cols, rows, err = [], [], None
    while True:
        t, b = msg()
        if t == b"T":
            (nf,) = struct.unpack("!H", b[:2])
            i = 2
            for _ in range(nf):
                j = b.index(b"\0", i)
                cols.append(b[i:j].decode())
                i = j + 1 + 18
        elif t == b"D":
            (nc,) = struct.unpack("!H", b[:2])
            i, row = 2, []
            for _ in range(nc):
                (ln,) = struct.unpack("!i", b[i : i + 4])
                i += 4
                if ln < 0:
                    row.append(None)
                else:
                    row.append(b[i : i + ln].decode())
                    i += ln
            rows.append(row)
        elif t == b"E":
            err = b.decode(errors="replace")
        elif t == b"Z":
            break
    send(b"X", b"")
    s.close()
    if err:
        raise RuntimeError(err)
    return cols, rows


@pytest.fixture(scope="module")
def pg_server():
    if not _PG_BIN:
        pytest.skip("no pg_ctl/initdb on PATH")
    import pwd
    import tempfile

    runas = []
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres user")
        runas = ["runuser", "-u", "postgres", "--"]
    d = Path(tempfile.mkdtemp(prefix="rs32pg", dir="/tmp"))
    if runas:
        os.chown(d, pw.pw_uid, pw.pw_gid)
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        port = so.getsockname()[1]
    subprocess.run(
        [*runas, "initdb", "-D", str(d / "data"), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True, capture_output=True,
    )
    subprocess.run(
        [*runas, "pg_ctl", "-D", str(d / "data"), "-l", str(d / "log"), "-w", "-o",
         f"-p {port} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
        check=True, capture_output=True,
    )
    try:
        _sql(port, "CREATE ROLE audit_user LOGIN SUPERUSER PASSWORD 'audit_password'", user="postgres", db="postgres")
        _sql(port, "CREATE DATABASE rtgs_audit OWNER audit_user", user="postgres", db="postgres")
        yield port
    finally:
        subprocess.run([*runas, "pg_ctl", "-D", str(d / "data"), "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def pg(pg_server, ws, monkeypatch):
    """RTGS configured for PostgreSQL as in the seed's .env (fresh tables)."""
    _sql(pg_server, "DROP SCHEMA IF EXISTS evident CASCADE")
    cfg = {
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": str(pg_server),
        "POSTGRES_DB": "rtgs_audit",
        "POSTGRES_USER": "audit_user",
        "POSTGRES_PASSWORD": "audit_password",
    }
    for k, v in cfg.items():
        monkeypatch.setenv(k, v)
    return pg_server, cfg


AUDIT_LOGS_COLUMNS = [
    "id", "timestamp", "operation_id", "tool_name", "operation", "user_name", "git_branch",
    "git_commit_hash", "parameters", "results", "duration_seconds", "success", "error_message", "note",
]


class TestRtgsPostgres:
    def test_operations_reach_the_audit_logs_table(self, pg):
        port, _ = pg
        rtgs.record_operation(
            "sensing-data", "extract", parameters=dict(EXTRACT_PARAMS), results=dict(EXTRACT_RESULTS),
            duration_seconds=45.7, note="Monthly analysis for winter conditions", user="username",
            git_branch="feature/analysis", git_commit="abc123", timestamp=june(),
        )
        rtgs.record_operation("gridded-data", "download", success=False, error_message="HTTP 503",
                              timestamp=june(m=40))
        assert rtgs.log_path().exists()  # still written locally first
        cols, rows = _sql(port, "SET search_path = evident, public; SELECT * FROM audit_logs ORDER BY timestamp")
        assert cols[: len(AUDIT_LOGS_COLUMNS)] == AUDIT_LOGS_COLUMNS
        r = dict(zip(cols, rows[0]))
        assert r["tool_name"] == "sensing-data" and r["operation"] == "extract"
        assert r["user_name"] == "username" and r["git_branch"] == "feature/analysis"
        assert r["git_commit_hash"] == "abc123"
        assert json.loads(r["parameters"]) == EXTRACT_PARAMS
        assert json.loads(r["results"])["records_extracted"] == 15420
        assert float(r["duration_seconds"]) == pytest.approx(45.7)
        assert r["success"] == "t" and r["error_message"] is None
        assert r["note"] == "Monthly analysis for winter conditions"
        assert r["timestamp"].startswith("2023-06-15 14:30:22.123")
        assert r["id"]
        assert uuid.UUID(r["operation_id"])
        r2 = dict(zip(cols, rows[1]))
        assert r2["success"] == "f" and r2["error_message"] == "HTTP 503"

    def test_readers_read_the_database_of_every_machine(self, pg, tmp_path):
        _, cfg = pg
        other = tmp_path / "other_machine"
        other.mkdir()
        run_child(
            """
            from evident.compat import rtgs
            with rtgs.log_custom_operation("remote-tool", "op", parameters={"who": "other"}):
                pass
            """,
            other,
            {"EVIDENT_RTGS_DIR": str(other / "data")},
        )
        with rtgs.log_custom_operation("local-tool", "op"):
            pass
        assert {x["tool_name"] for x in rtgs.recent_logs()} == {"remote-tool", "local-tool"}
        assert [x["parameters"] for x in rtgs.recent_logs(tool_name="remote-tool")] == [{"who": "other"}]
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        assert len(rtgs.AuditService().get_audit_logs(today, today)) == 2
        files = rtgs.generate_report(start_date=today, end_date=today, output_dir="./pgr")
        text = "".join(Path(f).read_text(encoding="utf-8") for f in files)
        assert "remote-tool op" in text and "local-tool op" in text
        rtgs_cli("reproduce", "--recent", "--minutes", "30", "--output-file", "recent_work.sh", cwd=tmp_path, check=0)
        s = (tmp_path / "recent_work.sh").read_text()
        assert "rtgs remote-tool op" in s and "rtgs local-tool op" in s
        st = rtgs.get_logging_status()
        assert st["enabled"] is True and st.get("storage") == "postgresql"
        assert "audit_password" not in json.dumps(st)

    def test_dotenv_configuration(self, pg, monkeypatch):
        port, cfg = pg
        for k in cfg:
            monkeypatch.delenv(k)
        Path(".env").write_text("# In .env file\n" + "".join(f"{k}={v}\n" for k, v in cfg.items()))
        with rtgs.log_custom_operation("dotenv-tool", "op"):
            pass
        _, rows = _sql(port, "SELECT tool_name FROM evident.audit_logs")
        assert rows == [["dotenv-tool"]]

    def test_database_down_the_operation_still_works(self, pg, monkeypatch):
        port, _ = pg
        with socket.socket() as so:
            so.bind(("127.0.0.1", 0))
            dead = so.getsockname()[1]
        monkeypatch.setenv("POSTGRES_PORT", str(dead))
        with pytest.warns(RuntimeWarning):
            with rtgs.log_custom_operation("offline", "op"):
                pass
        assert [e.source for e in evident.read_entries(str(rtgs.log_path()))] == ["offline"]
        monkeypatch.setenv("POSTGRES_PORT", str(port))
        with rtgs.log_custom_operation("online", "op"):
            pass
        _, rows = _sql(port, "SELECT tool_name FROM evident.audit_logs ORDER BY timestamp")
        assert rows == [["offline"], ["online"]]  # the next ship caught up


# ---------------------------------------------------------------- README: reports and scripts


class TestReportSafety:
    """README "Reports and reproduction scripts": recorded values are text."""

    NASTY = "x -->\n<!-- y <script>alert(1)</script> [l](http://e) *em* # h | c ❌ \u202e z"

    def test_markdown_values_are_inert_and_marks_are_the_reports_own(self, ws):
        rtgs.record_operation("tool❌", "op", parameters={"project": self.NASTY}, note=self.NASTY, timestamp=june())
        (f,) = rtgs.generate_report(start_date="2023-06-15", end_date="2023-06-15", output_dir="./r")
        md = Path(f).read_text(encoding="utf-8")
        assert md.count("❌") == 0 and md.count("✅") == 1
        assert "U+274C" in md
        assert "<script>" not in md
        assert "\u202e" not in md
        body, _, tail = md.partition("<!--")
        assert "-->" not in body
        assert tail.count("-->") == 1 and tail.rstrip().endswith("-->")
        assert all(ord(c) < 128 for c in tail)
        for line in body.splitlines():
            assert not line.startswith("# h")
        # the QA example: only the report's own ❌ marks failures
        ns, out = run_example(
            """
            from rtgs_lab_tools.audit import generate_report
            qa_files = generate_report(start_date="2023-06-15", end_date="2023-06-15", output_dir="./qa_review")
            failed_ops = []
            for file_path in qa_files:
                with open(file_path, 'r') as f:
                    content = f.read()
                    if '❌' in content:  # Failed operation marker
                        failed_ops.append(file_path)
            print(f"QA Review: {len(failed_ops)} files contain failed operations")
            """
        )
        assert "QA Review: 0 files" in out
        # and the curated report still reproduces the exact values
        info = rtgs.create_reproduction_script(logs_dir="./r", output_file="n.sh")
        bindir, calls = _recording_rtgs(ws)
        s = Path(info["script_path"]).read_text().replace("git checkout", "true")
        Path(info["script_path"]).write_text(s)
        env = dict(os.environ, PATH=str(bindir) + os.pathsep + os.environ["PATH"])
        r = subprocess.run(["bash", info["script_path"]], cwd=ws, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        (call,) = [json.loads(x) for x in calls.read_text().splitlines()]
        assert call["argv"][:4] == ["tool❌", "op", "--project", self.NASTY]

    def test_hidden_and_linked_directories_are_not_entered(self, ws):
        rtgs.record_operation("t", "visible", timestamp=june(day=2))
        rtgs.record_operation("t", "hidden", timestamp=june(day=3))
        rtgs.record_operation("t", "linked", timestamp=june(day=4))
        rtgs.generate_report(start_date="2023-06-02", end_date="2023-06-02", output_dir="./reports/week_a")
        rtgs.generate_report(start_date="2023-06-03", end_date="2023-06-03", output_dir="./reports/.hidden")
        rtgs.generate_report(start_date="2023-06-04", end_date="2023-06-04", output_dir="./elsewhere")
        os.symlink(ws / "elsewhere", ws / "reports" / "link")
        info = rtgs.create_reproduction_script(logs_dir="./reports", output_file="h.sh")
        s = Path(info["script_path"]).read_text()
        assert "rtgs t visible" in s
        assert "rtgs t hidden" not in s and "rtgs t linked" not in s


@needs_cli
class TestScriptRefusals:
    def _log(self, ws, **kw):
        p = ws / "a.jsonl"
        with evident.AuditLog(str(p)) as log:
            log.log("tool_operation", kw.pop("action", "op"), source=kw.pop("source", "tool"), **kw)
        return p

    def test_recorded_command_is_never_run(self, ws):
        self._log(ws, details={"command": "touch pwned", "parameters": {"a": "1"}})
        evident_cli("reproduce", "a.jsonl", "--program", "echo", "-o", "s.sh", cwd=ws, check=0)
        s = (ws / "s.sh").read_text()
        assert "touch pwned" in s
        r = subprocess.run(["bash", "s.sh"], cwd=ws, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert not (ws / "pwned").exists()
        assert "tool op --a 1" in r.stdout

    def test_non_hex_commit_is_not_checked_out(self, ws):
        rtgs.record_operation("t", "op", git_commit="main; touch pwned2", timestamp=june())
        rtgs.generate_report(start_date="2023-06-15", end_date="2023-06-15", output_dir="./logs")
        info = rtgs.create_reproduction_script(logs_dir="./logs", output_file="c.sh")
        s = Path(info["script_path"]).read_text()
        assert not re.search(r"^git checkout", s, re.M)
        bindir, calls = _recording_rtgs(ws)
        env = dict(os.environ, PATH=str(bindir) + os.pathsep + os.environ["PATH"])
        subprocess.run(["bash", info["script_path"]], cwd=ws, env=env, capture_output=True, text=True)
        assert not (ws / "pwned2").exists()

    @pytest.mark.parametrize("field", ["source", "action"])
    def test_dash_source_or_action_is_refused_naming_the_entry(self, ws, field):
        self._log(ws, **{field: "-rf"})
        p = evident_cli("reproduce", "a.jsonl", "--program", "rtgs", "-o", "d.sh", cwd=ws)
        assert p.returncode != 0
        assert "1" in p.stderr and "-rf" in p.stderr
        assert not (ws / "d.sh").exists()

    def test_nul_in_a_replayed_word_is_refused(self, ws):
        self._log(ws, details={"parameters": {"a": "x\u0000y"}})
        p = evident_cli("reproduce", "a.jsonl", "--program", "rtgs", "-o", "z.sh", cwd=ws)
        assert p.returncode != 0 and p.stderr.startswith("evident: ")
        assert not (ws / "z.sh").exists()

    def test_html_report_charts_and_verification(self, ws):
        seed_day(commit="abc1230000000000000000000000000000000000")
        evident_cli("report", str(rtgs.log_path()), "--format", "html", "-o", "r.html", cwd=ws, check=0)
        h = (ws / "r.html").read_text(encoding="utf-8")
        head = evident_cli("head", str(rtgs.log_path()), cwd=ws, check=0).stdout.split()[0]
        assert head.split(":")[1] in h
        assert h.count("<svg") >= 6
        assert h.index(head.split(":")[1]) < h.index("<svg")
        assert not re.search(r"""(src|href)\s*=\s*["']https?:""", h)


class TestSecureMLAsync:
    def test_coroutine_function_is_audited_when_awaited(self, ws):
        import asyncio

        @secureml.audit_function(operation_name="co", log_dir="audit_logs")
        async def co(x):
            await asyncio.sleep(0.03)
            if x < 0:
                raise ValueError("negative")
            return x * 2

        assert asyncio.run(co(2)) == 4
        with pytest.raises(ValueError):
            asyncio.run(co(-1))
        logs = secureml.get_audit_logs(operation_name="co", log_dir="audit_logs")
        res = [x for x in logs if x["event_type"] == "function_result"]
        assert len(res) == 1 and res[0]["duration_seconds"] >= 0.02
        assert [x["event_type"] for x in logs].count("function_error") == 1

    def test_async_generator_is_audited_while_iterated(self, ws):
        import asyncio

        @secureml.audit_function(operation_name="agen", log_dir="audit_logs")
        async def agen(n):
            for i in range(n):
                await asyncio.sleep(0.02)
                yield i
            if n == 2:
                raise RuntimeError("after two")

        async def collect(n):
            return [x async for x in agen(n)]

        assert asyncio.run(collect(3)) == [0, 1, 2]
        with pytest.raises(RuntimeError, match="after two"):
            asyncio.run(collect(2))
        logs = secureml.get_audit_logs(operation_name="agen", log_dir="audit_logs")
        res = [x for x in logs if x["event_type"] == "function_result"]
        err = [x for x in logs if x["event_type"] == "function_error"]
        assert len(res) == 1 and res[0]["duration_seconds"] >= 0.05
        assert len(err) == 1 and err[0]["error_type"] == "RuntimeError"

    def test_async_generator_asend_and_early_close(self, ws):
        import asyncio

        @secureml.audit_function(operation_name="asend", log_dir="audit_logs")
        async def acc():
            total = 0
            while True:
                x = yield total
                total += x

        async def drive():
            g = acc()
            out = [await g.asend(None), await g.asend(5), await g.asend(2)]
            await g.aclose()
            return out

        assert asyncio.run(drive()) == [0, 5, 7]
        logs = secureml.get_audit_logs(operation_name="asend", log_dir="audit_logs")
        (res,) = [x for x in logs if x["event_type"] == "function_result"]
        assert res["closed_early"] is True
        assert logs[-1]["event_type"] == "operation_end"

    def test_exceptions_thrown_in_are_forwarded(self, ws):
        import asyncio

        @secureml.audit_function(operation_name="thr", log_dir="audit_logs")
        def g():
            while True:
                try:
                    yield "ok"
                except KeyError:
                    yield "handled"

        @secureml.audit_function(operation_name="athr", log_dir="audit_logs")
        async def ag():
            while True:
                try:
                    yield "ok"
                except KeyError:
                    yield "handled"

        it = g()
        assert next(it) == "ok" and it.throw(KeyError("k")) == "handled"
        it.close()

        async def drive():
            a = ag()
            out = [await a.__anext__(), await a.athrow(KeyError("k"))]
            await a.aclose()
            return out

        assert asyncio.run(drive()) == ["ok", "handled"]
        for name in ("thr", "athr"):
            types = [x["event_type"] for x in secureml.get_audit_logs(operation_name=name, log_dir="audit_logs")]
            assert "function_error" not in types and types[-1] == "operation_end"


class TestScriptIsATextFile:
    """A generated script is a text file: it ends with a newline, so a line
    appended with `>>` is a command of its own."""

    def test_script_ends_with_newline_and_appending_works(self, ws):
        rtgs.record_operation("t", "op", timestamp=june())
        rtgs.generate_report(start_date="2023-06-15", end_date="2023-06-15", output_dir="./logs")
        for out, kw in [("a.sh", {}), ("b.sh", {"add_timing": True, "add_error_handling": True})]:
            if kw:
                p = Path(str(rtgs.create_custom_reproduction_script(logs_dir="./logs", output_file=out, config=kw)))
            else:
                p = Path(rtgs.create_reproduction_script(logs_dir="./logs", output_file=out)["script_path"])
            text = p.read_text()
            assert text.endswith("\n") and not text.endswith("\n\n"), repr(text[-40:])
            assert text.splitlines()[-1].endswith('"Reproduction script completed successfully"')
            with open(p, "a") as f:
                f.write("echo appended-line\n")
            bindir, _ = _recording_rtgs(ws)
            env = dict(os.environ, PATH=str(bindir) + os.pathsep + os.environ["PATH"])
            s = p.read_text().replace("git checkout", "true")
            p.write_text(s)
            r = subprocess.run(["bash", str(p)], cwd=ws, env=env, capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            assert r.stdout.splitlines()[-2:] == ["Reproduction script completed successfully", "appended-line"]

    @needs_cli
    def test_empty_script_ends_with_newline(self, ws):
        with evident.AuditLog(str(ws / "e.jsonl")):
            pass
        evident_cli("reproduce", "e.jsonl", "-o", "e.sh", cwd=ws, check=0)
        assert (ws / "e.sh").read_text().endswith('successfully"\n')


class TestSecureMLFileNames:
    def test_file_name_rule_and_names_sharing_a_file(self, ws):
        for n in ("préparation/v2", "pr_paration_v2", "plain-name.v1"):
            t = secureml.AuditTrail(operation_name=n, log_dir="audit_logs")
            t.close()
        names = sorted(p.name for p in (ws / "audit_logs").glob("*.jsonl"))
        assert names == ["plain-name.v1.jsonl", "pr_paration_v2.jsonl"]
        for n in ("préparation/v2", "pr_paration_v2", "plain-name.v1"):
            logs = secureml.get_audit_logs(operation_name=n, log_dir="audit_logs")
            assert len(logs) == 2 and {x["operation_name"] for x in logs} == {n}


class TestReadmeOrdersAndChecks:
    def test_results_and_parameters_keep_their_order(self, ws):
        rtgs.record_operation(
            "t", "op", parameters={"zeta": "1", "alpha": "2", "mid": "3"},
            results={"success": True, "z_count": 2, "a_file": "f"}, timestamp=june(),
        )
        (log,) = rtgs.recent_logs()
        assert list(log["parameters"]) == ["zeta", "alpha", "mid"]
        assert list(log["results"]) == ["success", "z_count", "a_file"]
        (f,) = rtgs.generate_report(start_date="2023-06-15", end_date="2023-06-15", output_dir="./r")
        md = Path(f).read_text(encoding="utf-8")
        assert md.index("**Zeta**") < md.index("**Alpha**") < md.index("**Mid**")
        s = Path(rtgs.create_reproduction_script(logs_dir="./r", output_file="o.sh")["script_path"]).read_text()
        assert s.index("--zeta") < s.index("--alpha") < s.index("--mid")

    def test_compliance_special_categories_and_personal_values(self, ws):
        import pandas as pd

        df = pd.DataFrame({
            "religion": ["x", "y"],
            "notes": ["write to alice.s@example.com", "bob.j@example.com"],
            "score": [1, 2],
        })
        rep = secureml.ComplianceAuditor(regulation="GDPR", log_dir="audit_logs").audit_dataset(
            dataset=df, dataset_name="d"
        )
        assert rep.has_issues()
        blob = json.dumps(rep.to_dict(), default=str)
        assert "religion" in blob
        assert "notes" in rep.personal_data_columns
        assert "score" not in rep.personal_data_columns
        trail = secureml.get_audit_logs(log_dir="audit_logs")
        assert trail[-1]["event_type"] == "operation_end"
        assert "religion" in json.dumps(trail, default=str)


class TestSecureMLConcurrentProcesses:
    def test_open_trails_in_three_processes_share_one_file(self, ws):
        code = textwrap.dedent(
            """
            import os
            from evident.compat.secureml import AuditTrail, audit_function
            a = AuditTrail(operation_name="shared_op", log_dir="audit_logs", context={"pid": os.getpid()})
            for i in range(20):
                a.log_data_access(dataset_name=f"d{i}", columns_accessed=["c"], num_records=i,
                                  purpose="p", user=str(os.getpid()))

            @audit_function(operation_name="shared_op", log_dir="audit_logs")
            def f(x):
                return x

            f(1)
            a.close()
            """
        )
        procs = [subprocess.Popen([PY, "-c", code], cwd=ws, env=child_env(), stderr=subprocess.PIPE)
                 for _ in range(3)]
        for p in procs:
            assert p.wait(timeout=120) == 0, p.stderr.read()
        f = ws / "audit_logs" / "shared_op.jsonl"
        assert evident.verify(str(f)).valid
        logs = secureml.get_audit_logs(operation_name="shared_op", log_dir="audit_logs")
        # per process: start, 20 accesses, end; per call of f: start, call, result, end
        assert len(logs) == 3 * 22 + 3 * 4
        assert len({x["operation_id"] for x in logs}) == 6
        access = secureml.get_audit_logs(operation_name="shared_op", log_dir="audit_logs", event_type="data_access")
        assert len(access) == 60 and len({x["user"] for x in access}) == 3


@needs_cli
class TestEvidentCliHelpStatements:
    """Statements of `evident report --help` / `evident reproduce --help`."""

    def _log(self, ws):
        seed_day(commit="abc1230000000000000000000000000000000000")
        rtgs.record_operation("visualization", "create", parameters={"p": "x"}, timestamp=june(day=16))
        return str(rtgs.log_path())

    def test_report_of_reports_equals_report_of_log(self, ws):
        log = self._log(ws)
        evident_cli("report", log, "-o", "a", cwd=ws, check=0)
        evident_cli("report", "a", "-o", "b", cwd=ws, check=0)
        for f in sorted((ws / "a").glob("*.md")):
            g = ws / "b" / f.name
            strip = lambda t: re.sub(r"(?s)## Evidence.*?(?=<!--)", "", t)  # noqa: E731
            assert strip(g.read_text(encoding="utf-8")) == strip(f.read_text(encoding="utf-8"))
        evident_cli("report", "a", "--format", "html", "-o", "a.html", cwd=ws, check=0)
        assert "sensing-data" in (ws / "a.html").read_text(encoding="utf-8")

    def test_relative_times(self, ws):
        now = datetime.now(UTC)
        rtgs.record_operation("t", "recent", timestamp=now - timedelta(minutes=10))
        rtgs.record_operation("t", "older", timestamp=now - timedelta(hours=3))
        rtgs.record_operation("t", "days_ago", timestamp=now - timedelta(days=3))
        log = str(rtgs.log_path())
        for since, want in [("1h", {"recent"}), ("2d", {"recent", "older"})]:
            evident_cli("reproduce", log, "--since", since, "-o", "s.sh", cwd=ws, check=0)
            s = (ws / "s.sh").read_text()
            got = {op for op in ("recent", "older", "days_ago") if f"\nt {op}" in s}
            assert got == want, (since, s)
        evident_cli("reproduce", log, "--since", "today", "-o", "t.sh", cwd=ws, check=0)
        assert "\nt days_ago" not in (ws / "t.sh").read_text()
        evident_cli("reproduce", log, "--until", "yesterday", "-o", "y.sh", cwd=ws, check=0)
        y = (ws / "y.sh").read_text()
        assert "\nt days_ago" in y and "\nt recent" not in y
        p = evident_cli("reproduce", log, "--since", "last tuesday", "-o", "bad.sh", cwd=ws)
        assert p.returncode == 2

    def test_output_replaced_with_mode_0755_and_title(self, ws):
        log = self._log(ws)
        (ws / "o.sh").write_text("old content")
        os.chmod(ws / "o.sh", 0o600)
        evident_cli("reproduce", log, "--title", "June analysis", "--program", "rtgs", "-o", "o.sh",
                    cwd=ws, check=0)
        s = (ws / "o.sh").read_text()
        assert "old content" not in s
        assert stat.S_IMODE(os.stat(ws / "o.sh").st_mode) == 0o755
        assert 'echo "Starting reproduction of June analysis..."' in s

    def test_event_type_filter(self, ws):
        log = self._log(ws)
        with evident.AuditLog(log, lock="shared") as lg:
            lg.log("other", "x", source="elsewhere")
        evident_cli("reproduce", log, "--event-type", "tool_operation", "--program", "rtgs", "-o", "e.sh",
                    cwd=ws, check=0)
        assert "elsewhere" not in (ws / "e.sh").read_text()
        evident_cli("report", log, "--event-type", "other", "-o", "er", cwd=ws, check=0)
        t = "".join(f.read_text(encoding="utf-8") for f in (ws / "er").glob("*.md"))
        assert "elsewhere x" in t and "sensing-data" not in t

    def test_pdf_into_directory(self, ws):
        log = self._log(ws)
        (ws / "pd").mkdir()
        evident_cli("report", log, "--format", "pdf", "-o", "pd", cwd=ws, check=0)
        assert (ws / "pd" / "audit_report.pdf").read_bytes().startswith(b"%PDF")

    def test_timing_and_error_handling_flags(self, ws):
        log = self._log(ws)
        evident_cli("reproduce", log, "--program", "rtgs", "--timing", "--error-handling", "-o", "te.sh",
                    cwd=ws, check=0)
        evident_cli("reproduce", log, "--program", "rtgs", "-o", "plain.sh", cwd=ws, check=0)
        te, plain = (ws / "te.sh").read_text(), (ws / "plain.sh").read_text()
        assert "took" in te and "took" not in plain
        assert "Reproduction failed" in te and "Reproduction failed" not in plain


class TestEvidentCliOnPostgres:
    @needs_cli
    def test_report_and_reproduce_from_the_database(self, pg):
        port, _ = pg
        seed_day(commit="abc1230000000000000000000000000000000000")
        url = f"postgres://audit_user@127.0.0.1:{port}/rtgs_audit"
        evident_cli("reproduce", url, "--program", "rtgs", "-o", "again.sh", cwd=".", check=0)
        s = re.sub(r"\\\n\s*", "", Path("again.sh").read_text())
        assert 'rtgs sensing-data extract --project "Winter Turf - v3"' in s
        assert s.count("\nrtgs ") == 12
        evident_cli("report", url, "-o", "pgrep", cwd=".", check=0)
        (f,) = Path("pgrep").glob("*.md")
        assert "- Total Operations: 12" in f.read_text(encoding="utf-8")
