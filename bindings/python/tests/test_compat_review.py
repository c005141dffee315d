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
