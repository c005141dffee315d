"""What seeds 002 (RTGS Lab Tools) and 003 (SecureML) document and the
example tests beside this file did not pin down: time windows of
``get_audit_logs`` combined with an operation, ``close`` status,
RTGS end days included everywhere, the ``.env`` configuration without a
server, and the ``recent`` lines with their success marks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

import evident


# --- SecureML (seed 003) ---------------------------------------------------------


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(name, tag):
    from evident.compat.secureml import AuditTrail

    audit = AuditTrail(operation_name=name, log_dir="audit_logs", context={"run": tag})
    audit.log_data_access(dataset_name=tag, columns_accessed=["a"], num_records=1)
    audit.close(status="completed")


def test_secureml_get_audit_logs_operation_and_time_window(workdir):
    from evident.compat.secureml import get_audit_logs

    _run("op", "first")
    _run("other", "other")
    time.sleep(0.01)
    mid = datetime.now()  # naive: local time, as the document's datetime.now()
    time.sleep(0.01)
    _run("op", "second")

    first = get_audit_logs(operation_name="op", end_time=mid.isoformat(), log_dir="audit_logs")
    second = get_audit_logs(operation_name="op", start_time=mid.isoformat(), log_dir="audit_logs")
    assert [log["event_type"] for log in first] == ["operation_start", "data_access", "operation_end"]
    assert {log["context"]["run"] for log in first} == {"first"}
    assert {log["context"]["run"] for log in second} == {"second"}
    assert all(log["operation_name"] == "op" for log in first + second)
    # both bounds at once; end_time includes its own instant
    last = first[-1]["timestamp"]
    both = get_audit_logs(operation_name="op", start_time=first[0]["timestamp"],
                          end_time=last, log_dir="audit_logs")
    assert [log["seq"] for log in both] == [log["seq"] for log in first]
    # datetime bounds work as strings do
    assert get_audit_logs(operation_name="op", start_time=mid, log_dir="audit_logs") == second
    # every operation's log when no operation is named
    assert len(get_audit_logs(end_time=mid, log_dir="audit_logs")) == 6
    # an operation never run: nothing (no error)
    assert get_audit_logs(operation_name="never", log_dir="audit_logs") == []
    assert get_audit_logs(log_dir="missing_dir") == []


@pytest.mark.parametrize("status, ok", [("completed", True), ("success", True),
                                        ("Done", True), ("failed", False), ("error", False),
                                        ("aborted", False)])
def test_secureml_close_status_is_the_end_events_success(workdir, status, ok):
    from evident.compat.secureml import AuditTrail, get_audit_logs

    audit = AuditTrail(operation_name="s", log_dir="audit_logs")
    audit.close(status=status, details={"records_processed": 2})
    end = get_audit_logs(operation_name="s", log_dir="audit_logs")[-1]
    assert end["event_type"] == "operation_end"
    assert end["status"] == status and end["success"] is ok
    assert end["details"] == {"records_processed": 2}
    assert end["duration_seconds"] >= 0


# --- RTGS Lab Tools (seed 002) -----------------------------------------------------


@pytest.fixture
def rtgs(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "rtgs-data"))
    for k in list(os.environ):
        if k.startswith("POSTGRES_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(work)
    from evident.compat import rtgs as mod

    return mod


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "evident.compat.rtgs", *args],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=120)


def test_rtgs_end_date_includes_the_whole_day(rtgs):
    utc = timezone.utc
    rtgs.record_operation("sensing-data", "extract", timestamp=datetime(2023, 6, 1, 0, 0, 0, tzinfo=utc))
    rtgs.record_operation("sensing-data", "late", timestamp=datetime(2023, 6, 30, 23, 59, 59, tzinfo=utc))
    rtgs.record_operation("sensing-data", "july", timestamp=datetime(2023, 7, 1, 0, 0, 0, tzinfo=utc))
    rtgs.record_operation("sensing-data", "may", timestamp=datetime(2023, 5, 31, 23, 59, 59, tzinfo=utc))
    ops = [log["operation"] for log in
           rtgs.AuditService().get_audit_logs(start_date="2023-06-01", end_date="2023-06-30")]
    assert ops == ["extract", "late"]
    files = rtgs.generate_report("2023-06-01", "2023-06-30", output_dir="r")
    assert sorted(Path(f).name for f in files) == [
        "audit_report_2023-06-01.md", "audit_report_2023-06-30.md"]
    r = _cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30", "--output-dir", "c")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in Path("c").iterdir()) == [
        "audit_report_2023-06-01.md", "audit_report_2023-06-30.md"]
    df = pd.DataFrame(rtgs.AuditService().get_audit_logs("2023-06-01", "2023-06-30"))
    assert [str(d) for d in df["timestamp"].dt.date] == ["2023-06-01", "2023-06-30"]


def test_rtgs_postgres_configuration_from_dotenv_and_environment(rtgs, monkeypatch):
    # No configuration: the local evident log only.
    st = rtgs.get_logging_status()
    assert st["storage"] == "evident" and "database" not in st
    # The document's .env (comments, export and quotes as RTGS reads them).
    Path(".env").write_text(
        "# In .env file\n"
        "POSTGRES_HOST=localhost\n"
        "POSTGRES_PORT=5432\n"
        "export POSTGRES_DB=rtgs_audit\n"
        "POSTGRES_USER='audit_user'\n"
        'POSTGRES_PASSWORD="audit_password"\n'
    )
    st = rtgs.get_logging_status()
    assert st["storage"] == "postgresql"
    assert st["database"] == "postgres://audit_user@localhost:5432/rtgs_audit"
    assert "audit_password" not in repr(st)
    r = _cli("postgres-logging-status")
    assert r.returncode == 0 and "postgres://audit_user@localhost:5432/rtgs_audit" in r.stdout
    assert "audit_password" not in r.stdout
    # The environment wins over .env.
    monkeypatch.setenv("POSTGRES_DB", "other db")
    monkeypatch.setenv("POSTGRES_PORT", "6543")
    assert rtgs.get_logging_status()["database"] == "postgres://audit_user@localhost:6543/other%20db"
    # Host or database missing: no PostgreSQL.
    monkeypatch.setenv("POSTGRES_HOST", "")
    assert rtgs.get_logging_status()["storage"] == "evident"


def test_rtgs_recent_lines_mark_success_and_failure(rtgs):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rtgs.record_operation("sensing-data", "extract", duration_seconds=45.7,
                          note="Monthly analysis", timestamp=now - timedelta(minutes=2))
    rtgs.record_operation("gridded-data", "download", success=False, duration_seconds=2.0,
                          error_message="DatabaseError: timeout", timestamp=now - timedelta(minutes=1))
    r = _cli("recent")
    assert r.returncode == 0, r.stderr
    t1 = (now - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    t2 = (now - timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M:%S")
    assert r.stdout.splitlines() == [
        f"{t1} ❌ gridded-data download (2.0s) failed - DatabaseError: timeout",
        f"{t2} ✅ sensing-data extract (45.7s) success - Monthly analysis",
    ]
    assert evident.verify(rtgs.log_path()).valid
    # nothing recorded in the window
    r = _cli("recent", "--tool-name", "nothing")
    assert r.returncode == 0 and r.stdout.strip() == "No recent logs found."


def test_rtgs_recent_is_newest_by_time_even_when_recorded_out_of_order(rtgs):
    # An operation imported later with its original (older) time must not
    # push a newer one out of "the last N operations".
    now = datetime.now(timezone.utc)
    rtgs.record_operation("sensing-data", "newer", timestamp=now - timedelta(minutes=1))
    rtgs.record_operation("sensing-data", "imported", timestamp=now - timedelta(hours=3))
    assert [log["operation"] for log in rtgs.recent_logs(limit=1)] == ["newer"]
    assert [log["operation"] for log in rtgs.recent_logs(limit=2)] == ["newer", "imported"]


# --- one time rule (the library's evident_compat_parse_time) ----------------------


def test_time_text_is_read_by_one_rule_for_secureml_and_rtgs(workdir, monkeypatch):
    from evident.compat import _time

    # days and naive times are local time (the seeds' datetime.now()),
    # offsets are kept, a space may stand for the T
    local = lambda *a: datetime(*a).astimezone(timezone.utc)  # noqa: E731
    assert _time.instant("2023-06-01") == local(2023, 6, 1)
    assert _time.instant("2023-06-01T14:30:00") == local(2023, 6, 1, 14, 30)
    assert _time.instant("2023-06-01 14:30") == local(2023, 6, 1, 14, 30)
    assert _time.instant("2023-06-01T14:30:00.25+02:00") == datetime(
        2023, 6, 1, 12, 30, 0, 250000, tzinfo=timezone.utc
    )
    assert _time.instant("2023-06-01T14:30:00Z") == datetime(2023, 6, 1, 14, 30, tzinfo=timezone.utc)

    # SecureML: a time with a space is accepted; any other text is refused
    # naming the argument (not Python's own "Invalid isoformat string")
    from evident.compat.secureml import get_audit_logs

    _run("op_a", "a")
    today = datetime.now().strftime("%Y-%m-%d")
    assert len(get_audit_logs(start_time=f"{today} 00:00", log_dir="audit_logs")) == 3
    with pytest.raises(ValueError, match="start_time"):
        get_audit_logs(start_time="yesterday", log_dir="audit_logs")
    with pytest.raises(ValueError, match="end_time"):
        get_audit_logs(end_time="2023-06-01T14:30:00+2", log_dir="audit_logs")


def test_rtgs_dates_use_the_same_rule(tmp_path, monkeypatch):
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "d"))
    monkeypatch.chdir(tmp_path)
    from evident.compat import rtgs

    rtgs.record_operation("tool", "op", timestamp=datetime(2023, 6, 15, 12, tzinfo=timezone.utc))
    svc = rtgs.AuditService()
    assert len(svc.get_audit_logs("2023-06-15", "2023-06-15")) == 1
    assert len(svc.get_audit_logs("2023-06-15T11:00:00Z", "2023-06-15 12:00:00+00:00")) == 1
    assert svc.get_audit_logs("2023-06-15T12:00:01Z", "2023-06-16") == []
    with pytest.raises(ValueError, match="start_date"):
        svc.get_audit_logs("15/06/2023", "2023-06-16")
