"""Defects of the RTGS compat module found by the outside review of stop 45,
each test failing before its fix."""

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from evident.errors import InvalidArgumentError


@pytest.fixture
def rtgs(tmp_path, monkeypatch):
    from evident.compat import rtgs

    for k in ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    return rtgs


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "evident.compat.rtgs", *args],
        capture_output=True, text=True, cwd=cwd, env=dict(os.environ),
    )


def _two_ops(rtgs):
    now = datetime.now(timezone.utc)
    rtgs.record_operation("t", "old", duration_seconds=1.0, timestamp=now - timedelta(days=3650))
    rtgs.record_operation("t", "new", duration_seconds=1.0)


# --- 1. hostile minutes / limit -------------------------------------------------


@pytest.mark.parametrize("cmd", [["recent"], ["reproduce", "--recent", "--output-file", "r.sh"]])
def test_cli_huge_minutes_is_everything_not_a_traceback(rtgs, tmp_path, cmd):
    _two_ops(rtgs)
    r = _cli(*cmd, "--minutes", "999999999999", cwd=tmp_path)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr
    if cmd == ["recent"]:
        assert " old " in r.stdout and " new " in r.stdout
    else:
        assert "Operations: 2" in r.stdout


def test_cli_huge_negative_minutes_is_nothing_not_a_traceback(rtgs, tmp_path):
    _two_ops(rtgs)
    r = _cli("recent", "--minutes", "-999999999999", cwd=tmp_path)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0 and "No recent logs found" in r.stdout


@pytest.mark.parametrize("minutes", [float("inf"), 1e300, 10**30, 999999999999])
def test_recent_logs_minutes_past_the_beginning_of_time_is_everything(rtgs, minutes):
    _two_ops(rtgs)
    assert [x["operation"] for x in rtgs.recent_logs(minutes=minutes)] == ["new", "old"]
    assert len(rtgs.AuditService().recent_logs(minutes=minutes)) == 2
    info = rtgs.create_reproduction_script(output_file="r.sh", recent=True, minutes=minutes)
    assert info["operation_count"] == 2


@pytest.mark.parametrize("minutes", [float("-inf"), -1e300, -(10**30)])
def test_recent_logs_minutes_past_the_end_of_time_is_nothing(rtgs, minutes):
    _two_ops(rtgs)
    assert rtgs.recent_logs(minutes=minutes) == []


@pytest.mark.parametrize("minutes", [float("nan"), "5", True, [5], 1 + 2j])
def test_recent_logs_refuses_a_minutes_that_is_not_a_number(rtgs, minutes):
    _two_ops(rtgs)
    with pytest.raises(InvalidArgumentError, match="minutes"):
        rtgs.recent_logs(minutes=minutes)
    with pytest.raises(InvalidArgumentError, match="minutes"):
        rtgs.create_reproduction_script(output_file="r.sh", recent=True, minutes=minutes)
    assert not os.path.exists("r.sh")


@pytest.mark.parametrize("limit", [float("nan"), "5", True, 2.5, -0.5, float("-inf"), [1]])
def test_recent_logs_refuses_a_limit_that_is_not_a_count(rtgs, limit):
    _two_ops(rtgs)
    with pytest.raises(InvalidArgumentError, match="limit"):
        rtgs.recent_logs(limit=limit)


def test_recent_logs_limit_numbers(rtgs):
    _two_ops(rtgs)
    assert len(rtgs.recent_logs(limit=1.0)) == 1
    assert len(rtgs.recent_logs(limit=float("inf"))) == 2  # no limit
    assert len(rtgs.recent_logs(limit=10**30)) == 2  # more than there can be
    assert len(rtgs.recent_logs(limit=2**63)) == 2


def test_recent_logs_takes_numpy_numbers(rtgs):
    np = pytest.importorskip("numpy")
    _two_ops(rtgs)
    assert len(rtgs.recent_logs(limit=np.int64(1))) == 1
    assert len(rtgs.recent_logs(minutes=np.int64(60))) == 1
    assert len(rtgs.recent_logs(minutes=np.float32(60.0))) == 1


# --- 2. booleans read by truthiness ---------------------------------------------------


@pytest.mark.parametrize("bad", ["false", "False", "", 0, 1, None, [False]])
def test_set_global_logging_refuses_a_non_bool(rtgs, bad):
    assert rtgs.get_logging_status()["enabled"] is True
    with pytest.raises(InvalidArgumentError, match="enabled"):
        rtgs.set_global_logging(bad)
    assert rtgs.get_logging_status()["enabled"] is True
    rtgs.set_global_logging(False)
    with pytest.raises(InvalidArgumentError, match="enabled"):
        rtgs.set_global_logging(enabled=bad)
    assert rtgs.get_logging_status()["enabled"] is False


def test_set_global_logging_takes_numpy_bool(rtgs):
    np = pytest.importorskip("numpy")
    rtgs.set_global_logging(np.bool_(False))
    assert rtgs.get_logging_status()["enabled"] is False
    rtgs.set_global_logging(np.bool_(True))
    assert rtgs.get_logging_status()["enabled"] is True


@pytest.fixture
def reports(rtgs, tmp_path):
    rtgs.record_operation("sensing-data", "extract", parameters={"p": 1}, duration_seconds=1.0)
    rtgs.record_operation("visualization", "create", parameters={"q": 2}, duration_seconds=1.0)
    day = datetime.now(timezone.utc).date()
    assert rtgs.generate_report(day, day, "logs")
    return tmp_path / "logs"


@pytest.mark.parametrize("key", ["add_timing", "add_error_handling", "skip_failed"])
@pytest.mark.parametrize("bad", ["no", "yes", 1, 0, [True]])
def test_custom_script_refuses_a_non_bool_flag(rtgs, reports, key, bad):
    with pytest.raises(InvalidArgumentError, match=key):
        rtgs.create_custom_reproduction_script(reports, "c.sh", config={key: bad})
    assert not os.path.exists("c.sh")


def test_custom_script_flags_that_are_bools(rtgs, reports):
    np = pytest.importorskip("numpy")
    plain = rtgs.create_custom_reproduction_script(reports, "a.sh", config={})
    off = rtgs.create_custom_reproduction_script(
        reports, "b.sh", config={"add_timing": False, "add_error_handling": None,
                                 "skip_failed": np.bool_(False)})
    assert open(plain).read().split("\n", 3)[3] == open(off).read().split("\n", 3)[3]
    timed = rtgs.create_custom_reproduction_script(
        reports, "c.sh", config={"add_timing": np.bool_(True), "add_error_handling": True})
    assert open(timed).read() != open(plain).read()
    # an empty include_tools is no filter (as RTGS reads it)
    assert rtgs.create_custom_reproduction_script(
        reports, "d.sh", config={"include_tools": []})["operation_count"] == 2
