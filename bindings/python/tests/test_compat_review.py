"""Review findings in the compat modules (stop 30): each test failed before
its fix."""

from __future__ import annotations

import warnings

import pytest


@pytest.fixture
def rtgs_broken_store(tmp_path, monkeypatch):
    """An RTGS store that cannot be written: a directory where its log
    file should be."""
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "rtgs"))
    monkeypatch.chdir(tmp_path)
    from evident.compat import rtgs

    rtgs.log_path().mkdir(parents=True)
    assert rtgs.get_logging_status()["enabled"]
    return rtgs


def test_rtgs_user_exception_survives_a_failing_audit_store(rtgs_broken_store):
    rtgs = rtgs_broken_store
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="the user's own error") as info:
            with rtgs.log_custom_operation("tool", "op", {"a": 1}):
                raise ValueError("the user's own error")
    # The audit failure is not lost: a warning, and a note on the exception.
    assert any("not recorded" in str(w.message) for w in caught), [str(w.message) for w in caught]
    notes = getattr(info.value, "__notes__", [])
    assert any("not recorded" in n for n in notes), notes


def test_rtgs_failing_audit_store_still_raises_when_the_operation_succeeds(rtgs_broken_store):
    rtgs = rtgs_broken_store
    with pytest.raises(Exception) as info:
        with rtgs.log_custom_operation("tool", "op"):
            pass
    assert not isinstance(info.value, ValueError)


@pytest.mark.parametrize("make", ["trail", "auditor"])
def test_secureml_unknown_keyword_arguments_are_named(tmp_path, make):
    from evident.compat.secureml import AuditTrail, ComplianceAuditor

    with pytest.warns(UserWarning, match="regulation_list"):
        if make == "trail":
            AuditTrail("op", log_dir=str(tmp_path), regulation_list=["GDPR"]).close()
        else:
            ComplianceAuditor("GDPR", log_dir=str(tmp_path), regulation_list=["GDPR"])


def test_rtgs_report_of_one_tool_keeps_the_report_of_every_tool(tmp_path, monkeypatch):
    """Seed 002: ``rtgs audit report --tool-name visualization`` writes into
    the same output directory (default ``logs``) as the unfiltered report,
    whose daily file shows "all operations for a specific day": the report
    of one tool has a name of its own instead of replacing it."""
    import os
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    from evident.compat import rtgs

    for k in list(os.environ):
        if k.startswith("POSTGRES_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    ts = datetime(2023, 6, 15, 14, tzinfo=timezone.utc)
    rtgs.record_operation("sensing-data", "extract", timestamp=ts)
    rtgs.record_operation("visualization", "create", timestamp=ts + timedelta(minutes=5))
    every = rtgs.generate_report("2023-06-01", "2023-06-30")
    one = rtgs.generate_report("2023-06-01", "2023-06-30", tool_name="visualization")
    assert [Path(f).name for f in every] == ["audit_report_2023-06-15.md"]
    assert [Path(f).name for f in one] == ["audit_report_2023-06-15_visualization.md"]
    assert "- Total Operations: 2" in Path(every[0]).read_text(encoding="utf-8")
    assert "- Total Operations: 1" in Path(one[0]).read_text(encoding="utf-8")
    weekly = rtgs.ReportService().generate_weekly_reports(
        "2023-06-01", "2023-06-30", tool_name="visualization"
    )
    assert [Path(p).name for p in weekly.values()] == ["weekly_report_2023-W24_visualization.md"]
    # the directory reproduces each operation once
    assert rtgs.create_reproduction_script("logs", "again.sh")["operation_count"] == 2
