"""Every example of seed 003 (SecureML's audit trail examples), with only the
import line changed (`secureml.audit` / `secureml.reporting` /
`secureml.compliance` -> `evident.compat.secureml`), checked against what the
document says it does. The document takes `pd` and `data` for granted; the
tests create them."""

from __future__ import annotations

import datetime as _dt
import html
import re
from pathlib import Path

import pandas as pd  # scripts/test.sh installs it: a missing pandas is a failure, not a skip
import pytest

import evident


@pytest.fixture(autouse=True)
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def example_basic_audit_trail():
    from evident.compat.secureml import AuditTrail

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
    return data


def test_basic_audit_trail_creation(workdir):
    example_basic_audit_trail()
    log = workdir / "audit_logs" / "data_preprocessing_example.jsonl"
    assert [p.name for p in (workdir / "audit_logs").iterdir() if p.suffix == ".jsonl"] == [log.name]
    assert evident.verify(log).valid
    es = evident.read_entries(log)
    assert [e.event_type for e in es] == [
        "operation_start", "data_access", "data_transformation", "operation_end"]
    assert len({e.session_id for e in es}) == 1  # one run, one operation id
    access = es[1]
    assert access.actor == "analyst_123"
    assert access.details["columns_accessed"] == ["name", "age", "income", "email"]
    assert access.details["num_records"] == 2 and access.details["purpose"] == "data_preparation"
    assert access.details["context"] == {"project": "credit_scoring", "environment": "development"}
    assert access.details["regulations"] == ["GDPR"]
    tr = es[2].details
    assert tr["transformation_type"] == "anonymization"
    assert tr["parameters"] == {"method": "k-anonymity", "k": 3, "quasi_identifiers": ["age", "income"]}
    end = es[3]
    assert end.details["status"] == "completed" and end.success is True
    assert end.details["details"] == {"execution_time": 2.5, "records_processed": 2}


def example_decorator(data):
    from evident.compat.secureml import audit_function

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
    return result, train_model


def test_using_the_audit_function_decorator(workdir, capsys):
    data = example_basic_audit_trail()
    result, train_model = example_decorator(data)
    assert result == {"model": "gradient_boosting_model", "accuracy": 0.92, "training_time": 35.7}
    assert "Training gradient_boosting model with 2 records" in capsys.readouterr().out
    log = workdir / "audit_logs" / "model_training_example.jsonl"
    assert evident.verify(log).valid
    es = evident.read_entries(log)
    kinds = [e.event_type for e in es]
    assert kinds == ["operation_start", "function_call", "function_result", "operation_end"]
    call = es[1].details
    assert call["regulations"] == ["GDPR", "CCPA"]
    args = call["arguments"]
    assert args["data"] == {"type": "DataFrame", "shape": [2, 4],
                            "columns": ["name", "age", "income", "email"]}
    assert args["model_type"] == "gradient_boosting"
    assert args["params"] == {"n_estimators": 100, "max_depth": 5}
    res = es[2]
    assert res.details["result"] == result and res.success is True
    assert res.duration_ms is not None and res.duration_ms >= 0
    assert train_model.__name__ == "train_model"

    # an exception is recorded and re-raised
    from evident.compat.secureml import audit_function

    @audit_function(operation_name="failing", log_dir="audit_logs")
    def fail(x):
        raise ValueError(f"bad {x}")

    with pytest.raises(ValueError, match="bad 1"):
        fail(1)
    es = evident.read_entries(workdir / "audit_logs" / "failing.jsonl")
    assert [e.event_type for e in es][-2:] == ["function_error", "operation_end"]
    assert es[-2].error == "ValueError: bad 1" and es[-1].success is False


def example_retrieving(capsys=None):
    from evident.compat.secureml import get_audit_logs

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
    return preprocessing_logs, all_logs


def test_retrieving_and_analyzing_audit_logs(workdir, capsys):
    data = example_basic_audit_trail()
    example_decorator(data)
    capsys.readouterr()
    preprocessing_logs, all_logs = example_retrieving()
    out = capsys.readouterr().out
    assert "Retrieved 4 logs for data preprocessing" in out
    assert re.search(r"Event: data_access - Time: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", out)
    assert [log["event_type"] for log in preprocessing_logs] == [
        "operation_start", "data_access", "data_transformation", "operation_end"]
    assert all(log["operation_name"] == "data_preprocessing_example" for log in preprocessing_logs)
    # every event of today, of both operations, oldest first
    assert len(all_logs) == 8
    assert {log["operation_name"] for log in all_logs} == {
        "data_preprocessing_example", "model_training_example"}
    assert [log["timestamp"] for log in all_logs] == sorted(log["timestamp"] for log in all_logs)
    # a window that ended before today's events finds none
    from evident.compat.secureml import get_audit_logs
    assert get_audit_logs(end_time="2000-01-01T00:00:00", log_dir="audit_logs") == []
    future = (_dt.datetime.now() + _dt.timedelta(days=1)).strftime("%Y-%m-%dT00:00:00")
    assert get_audit_logs(start_time=future, log_dir="audit_logs") == []


def test_generating_reports_from_audit_logs(workdir, capsys):
    data = example_basic_audit_trail()
    example_decorator(data)
    _, all_logs = example_retrieving()
    capsys.readouterr()
    from evident.compat.secureml import ReportGenerator

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

    assert "Audit report generated at: audit_report.html" in capsys.readouterr().out
    text = Path(report_path).read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "<title>SecureML Operations Audit Report</title>" in text
    # charts, inline
    for chart in ("chart-activity", "chart-success", "chart-event-type", "chart-action", "chart-actor"):
        assert f'id="{chart}"' in text
    assert text.count("<svg") >= 5
    # self-contained: nothing is loaded from elsewhere
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "<script" not in text and "@import" not in text
    # verification of both logs at the top, each event in the table
    top = text.split('id="entries"')[0]
    assert "data_preprocessing_example.jsonl" in top and "model_training_example.jsonl" in top
    assert top.count("valid</span>") == 2 and "NOT VALID" not in top
    assert text.count("<tr><td>") == 8
    assert "analyst_123" in html.unescape(text)
    # without charts
    generator.generate_audit_report(logs=all_logs, output_file="plain.html", include_charts=False)
    assert "<svg" not in Path("plain.html").read_text()


def test_integration_with_compliance(workdir):
    data = example_basic_audit_trail()
    from evident.compat.secureml import ComplianceAuditor

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

    # the documented checks: columns and values that look like personal data
    assert dataset_report.has_issues()
    flagged = {i["component"] for i in dataset_report.issues}
    assert {"name", "email", "income"} <= flagged and "age" not in flagged
    assert dataset_report.personal_data_columns["email"] == "email"
    assert dataset_report["regulation"] == "GDPR" and dataset_report["num_records"] == 2
    # the auditor's work is in the audit trail under log_dir
    from evident.compat.secureml import get_audit_logs
    logs = get_audit_logs(operation_name="compliance_audit", log_dir="audit_logs")
    kinds = [log["event_type"] for log in logs]
    assert kinds[0] == "operation_start" and kinds[1] == "data_access" and kinds[-1] == "operation_end"
    assert kinds.count("compliance_check") >= 3
    assert logs[1]["dataset_name"] == "customer_records"
    assert evident.verify(workdir / "audit_logs" / "compliance_audit.jsonl").valid

    # values that look like personal data are found under neutral column names
    other = pd.DataFrame({"contact": ["a@example.com", "b@example.org"], "score": [1, 2]})
    r = ComplianceAuditor(regulation="GDPR").audit_dataset(other, "other")
    assert r.personal_data_columns == {"contact": "email"}
    clean = ComplianceAuditor(regulation="GDPR").audit_dataset(pd.DataFrame({"score": [1, 2]}), "c")
    assert not clean.has_issues() and "personal_data_columns" in clean.passed_checks


def test_pdf_report(workdir):
    # "Generate HTML or PDF reports": an output_file ending in .pdf gets the
    # same report as a PDF, read back here with pypdf (scripts/test.sh
    # installs it: missing is a failure, not a skip)
    from pypdf import PdfReader

    data = example_basic_audit_trail()
    example_decorator(data)
    _, all_logs = example_retrieving()
    from evident.compat.secureml import ReportGenerator

    generator = ReportGenerator()
    report_path = generator.generate_audit_report(
        logs=all_logs,
        output_file="audit_report.PDF",
        title="SecureML Operations Audit Report",
        include_charts=True
    )
    assert Path(report_path).resolve() == (workdir / "audit_report.PDF").resolve()
    reader = PdfReader(report_path, strict=True)
    assert reader.metadata.title == "SecureML Operations Audit Report"
    assert reader.metadata.producer.startswith("evident ")
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "SecureML Operations Audit Report" in text
    # both logs verified and shown at the top, as in the HTML report
    top = text.split("Summary")[0]
    assert top.count("valid") == 2 and "NOT VALID" not in top
    assert f"Entries ({len(all_logs)})" in text
    for kind in {log["event_type"] for log in all_logs}:
        assert kind in text, kind
    assert "analyst_123" in text
    for chart in ("Activity over time", "Success rate", "By event type", "By action", "By actor"):
        assert chart in text, chart
    # without charts
    generator.generate_audit_report(logs=all_logs, output_file="plain.pdf", include_charts=False)
    plain = "\n".join(p.extract_text() for p in PdfReader("plain.pdf", strict=True).pages)
    assert "By event type" not in plain and f"Entries ({len(all_logs)})" in plain
