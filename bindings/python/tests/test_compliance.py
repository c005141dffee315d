"""evident.compliance (the library's dataset checks) and SecureML's
ComplianceAuditor on top of it: the report's fields and order."""

import pytest

import evident
from evident.compat.secureml import ComplianceAuditor


def test_check_report_fields_and_order() -> None:
    r = evident.compliance.check(
        "gdpr",
        {
            "columns": [
                {"name": "Full Name", "values": ["A B"]},
                {"name": "peer", "values": ["10.0.0.1", "10.0.0.2"]},
                {"name": "religion", "values": []},
            ],
            "metadata": {"purpose": "x"},
        },
    )
    assert list(r) == [
        "regulation", "dataset_name", "num_records", "columns", "personal_data_columns",
        "issues", "warnings", "passed_checks", "compliant", "checks",
    ]
    assert r["regulation"] == "GDPR" and r["num_records"] == 2
    assert list(r["personal_data_columns"].items()) == [("Full Name", "name"), ("peer", "phone")]
    assert [i["severity"] for i in r["issues"]] == ["medium", "medium", "high"]
    assert r["issues"][0]["issue"] == "column 'Full Name' looks like personal data (name)"
    assert [w["warning"] for w in r["warnings"]] == [
        "consent for processing personal data is not documented"
    ]
    assert [c["check"] for c in r["checks"]] == [
        "personal_data_columns", "personal_data_values", "special_categories", "documentation",
    ]
    assert r["checks"][3]["details"] == {"metadata_keys": ["purpose"]}
    with pytest.raises(evident.InvalidArgumentError, match="dataset"):
        evident.compliance.check("gdpr", {"columns": 3})


def test_auditor_converts_dataframes_dicts_and_records() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"mail": ["a@b.org", "c@d.org"], "n": [1, 2]})
    a = ComplianceAuditor("ccpa").audit_dataset(df, "df")
    b = ComplianceAuditor("ccpa").audit_dataset({"mail": ["a@b.org", "c@d.org"], "n": [1, 2]}, "df")
    c = ComplianceAuditor("ccpa").audit_dataset(
        [{"mail": "a@b.org", "n": 1}, {"mail": "c@d.org", "n": 2}], "df"
    )
    assert a.to_dict() == b.to_dict() == c.to_dict()
    assert a["regulation"] == "CCPA" and a.personal_data_columns == {"mail": "email"}
    assert "CCPA" in a.issues[0]["recommendation"]
    with pytest.raises(TypeError):
        ComplianceAuditor().audit_dataset(42)
