"""Clean-room acceptance tests for seed 003 (SecureML audit trail examples).

Written from the seed document alone: every example is transcribed with only
the import line changed (secureml.audit / secureml.reporting /
secureml.compliance -> evident.compat.secureml), then checked against what
the document states or clearly implies. The conftest gives each test its own
working directory, so the documents' relative paths ("audit_logs",
"audit_report.html") land in a fresh directory.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from evident.compat.secureml import (
    AuditTrail,
    ComplianceAuditor,
    ReportGenerator,
    audit_function,
    get_audit_logs,
)


# --------------------------------------------------------------------------
# The document's examples, transcribed (import line changed only)
# --------------------------------------------------------------------------


def sample_data() -> pd.DataFrame:
    # Load sample data
    return pd.DataFrame({
        'name': ['Alice Smith', 'Bob Johnson'],
        'age': [32, 45],
        'income': [65000, 85000],
        'email': ['alice.s@example.com', 'bob.j@example.com']
    })


def basic_audit_trail() -> pd.DataFrame:
    """Section "Basic Audit Trail Creation", verbatim."""
    # Create an audit trail
    audit = AuditTrail(
        operation_name="data_preprocessing_example",
        log_dir="audit_logs",
        context={"project": "credit_scoring", "environment": "development"},
        regulations=["GDPR"]
    )

    data = sample_data()

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


def make_train_model():
    """Section "Using the Audit Function Decorator": the decorated function."""

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

    return train_model


def run_decorator_example(data):
    train_model = make_train_model()
    # Call the decorated function - audit trail is created automatically
    result = train_model(
        data,
        model_type="gradient_boosting",
        n_estimators=100,
        max_depth=5
    )
    return result


def retrieve_logs():
    """Section "Retrieving and Analyzing Audit Logs", verbatim."""
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
    today = datetime.datetime.now().strftime("%Y-%m-%d")
    all_logs = get_audit_logs(
        start_time=f"{today}T00:00:00",
        log_dir="audit_logs"
    )
    return preprocessing_logs, all_logs


def generate_report(all_logs, output_file="audit_report.html", include_charts=True):
    """Section "Generating Reports from Audit Logs", verbatim."""
    # Create a report generator
    generator = ReportGenerator()

    # Generate an audit report
    report_path = generator.generate_audit_report(
        logs=all_logs,
        output_file=output_file,
        title="SecureML Operations Audit Report",
        include_charts=include_charts
    )

    print(f"Audit report generated at: {report_path}")
    return report_path


def compliance_integration(data):
    """Section "Integration with Other Features", verbatim."""
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
    return dataset_report


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def as_json(obj) -> str:
    """The logs are read back from files: they must be plain JSON values."""
    return json.dumps(obj, sort_keys=True)


def logs_mentioning(logs, *needles):
    out = []
    for log in logs:
        text = as_json(log)
        if all(n in text for n in needles):
            out.append(log)
    return out


def parse_ts(value) -> datetime.datetime:
    assert isinstance(value, str), value
    v = value.replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(v)


# --------------------------------------------------------------------------
# Basic Audit Trail Creation
# --------------------------------------------------------------------------


def test_basic_trail_runs_and_writes_into_log_dir(workdir: Path):
    basic_audit_trail()
    log_dir = workdir / "audit_logs"
    assert log_dir.is_dir(), "log_dir='audit_logs' must be created"
    files = [p for p in log_dir.rglob("*") if p.is_file() and p.stat().st_size > 0]
    assert files, "the audit trail must be stored in the log directory"


def test_basic_trail_logs_are_retrievable_dicts(workdir: Path):
    basic_audit_trail()
    logs = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    assert isinstance(logs, list)
    # at least: data access, data transformation (plus start/close events)
    assert len(logs) >= 2
    for log in logs:
        assert isinstance(log, dict)
        assert log.get("event_type"), log
        assert log.get("timestamp"), log
        as_json(log)  # JSON-safe
    assert len({log["event_type"] for log in logs}) >= 2


def test_basic_trail_data_access_recorded(workdir: Path):
    basic_audit_trail()
    logs = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    hits = logs_mentioning(logs, "customer_data", "data_preparation", "analyst_123")
    hits = [h for h in hits if "anonymized_customer_data" not in as_json(h)]
    assert len(hits) == 1, [l.get("event_type") for l in logs]
    access = as_json(hits[0])
    for col in ("name", "age", "income", "email"):
        assert f'"{col}"' in access
    assert "access" in hits[0]["event_type"].lower()
    # num_records=len(data) == 2 recorded as a number
    assert re.search(r'"num_records": 2\b', access), access


def test_basic_trail_data_transformation_recorded(workdir: Path):
    basic_audit_trail()
    logs = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    hits = logs_mentioning(logs, "anonymization", "raw_customer_data", "anonymized_customer_data")
    assert len(hits) == 1, [l.get("event_type") for l in logs]
    text = as_json(hits[0])
    assert "k-anonymity" in text
    assert '"k": 3' in text
    assert '"quasi_identifiers": ["age", "income"]' in text
    assert "transform" in hits[0]["event_type"].lower()


def test_basic_trail_close_status_and_details_recorded(workdir: Path):
    basic_audit_trail()
    logs = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    hits = logs_mentioning(logs, "completed", "execution_time", "records_processed")
    assert len(hits) == 1, [l.get("event_type") for l in logs]
    text = as_json(hits[0])
    assert '"execution_time": 2.5' in text
    assert '"records_processed": 2' in text


def test_basic_trail_context_and_regulations_recorded(workdir: Path):
    basic_audit_trail()
    logs = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    text = as_json(logs)
    assert "credit_scoring" in text and "development" in text
    assert "GDPR" in text


def test_regulations_as_a_single_string(workdir: Path):
    """regulations=["GDPR"] is the documented form; a single string (as
    ComplianceAuditor's regulation='GDPR') names one regulation, not four letters."""
    AuditTrail(operation_name="one_reg", log_dir="audit_logs", regulations="GDPR").close()
    for log in get_audit_logs(operation_name="one_reg", log_dir="audit_logs"):
        assert log["regulations"] == ["GDPR"]


def test_basic_trail_events_are_in_document_order(workdir: Path):
    basic_audit_trail()
    logs = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    texts = [as_json(l) for l in logs]
    i_access = next(i for i, t in enumerate(texts) if "analyst_123" in t)
    i_transf = next(i for i, t in enumerate(texts) if "k-anonymity" in t)
    i_close = next(i for i, t in enumerate(texts) if "records_processed" in t)
    assert i_access < i_transf < i_close
    stamps = [parse_ts(l["timestamp"]) for l in logs]
    assert stamps == sorted(stamps)


# --------------------------------------------------------------------------
# Using the Audit Function Decorator
# --------------------------------------------------------------------------


def test_decorator_returns_result_and_prints(workdir: Path, capsys):
    data = sample_data()
    result = run_decorator_example(data)
    assert result == {
        "model": "gradient_boosting_model",
        "accuracy": 0.92,
        "training_time": 35.7,
    }
    out = capsys.readouterr().out
    assert "Training gradient_boosting model with 2 records" in out


def test_decorator_creates_audit_trail_in_log_dir(workdir: Path):
    run_decorator_example(sample_data())
    assert (workdir / "audit_logs").is_dir()
    logs = get_audit_logs(operation_name="model_training_example", log_dir="audit_logs")
    assert len(logs) >= 1
    for log in logs:
        assert log.get("event_type") and log.get("timestamp")
        as_json(log)


def test_decorator_records_call_arguments_and_result(workdir: Path):
    run_decorator_example(sample_data())
    logs = get_audit_logs(operation_name="model_training_example", log_dir="audit_logs")
    text = as_json(logs)
    # the call: function, keyword arguments
    assert "train_model" in text
    assert "gradient_boosting" in text
    assert "n_estimators" in text and "max_depth" in text
    # the outcome
    assert "gradient_boosting_model" in text
    assert "0.92" in text
    # the regulations given to the decorator
    assert "GDPR" in text and "CCPA" in text


def test_decorator_with_dataframe_argument_is_json_safe(workdir: Path):
    """The example passes a DataFrame: the audit records must still be plain JSON."""
    run_decorator_example(sample_data())
    logs = get_audit_logs(operation_name="model_training_example", log_dir="audit_logs")
    text = as_json(logs)
    assert "object at 0x" not in text
    # the log files themselves hold JSON text (no Python reprs of objects)
    for p in (workdir / "audit_logs").rglob("*"):
        if p.is_file():
            assert "object at 0x" not in p.read_text(errors="replace")


def test_decorator_each_call_is_audited(workdir: Path):
    train_model = make_train_model()
    data = sample_data()
    train_model(data)
    n1 = len(get_audit_logs(operation_name="model_training_example", log_dir="audit_logs"))
    train_model(data, model_type="svm")
    logs = get_audit_logs(operation_name="model_training_example", log_dir="audit_logs")
    assert len(logs) > n1
    assert "svm_model" in as_json(logs)


def test_decorator_reraises_exceptions_and_records_them(workdir: Path):
    @audit_function(operation_name="failing_op", log_dir="audit_logs", regulations=["GDPR"])
    def boom(x):
        raise ValueError("bad input value 42")

    with pytest.raises(ValueError, match="bad input value 42"):
        boom(1)
    logs = get_audit_logs(operation_name="failing_op", log_dir="audit_logs")
    assert logs
    assert "bad input value 42" in as_json(logs)


def test_decorator_records_duration(workdir: Path):
    import time

    @audit_function(operation_name="slow_op", log_dir="audit_logs")
    def slow():
        time.sleep(0.05)
        return 1

    assert slow() == 1
    logs = get_audit_logs(operation_name="slow_op", log_dir="audit_logs")
    durations = []
    for log in logs:
        for k, v in log.items():
            if "duration" in k and isinstance(v, (int, float)):
                durations.append(v / 1000.0 if k.endswith("_ms") else v)
    assert any(0.05 <= d < 5 for d in durations), durations


def test_decorator_does_not_copy_dataframe_contents(workdir: Path):
    """A privacy library's audit log summarises the DataFrame argument; it
    must not copy the personal data it holds."""
    run_decorator_example(sample_data())
    text = as_json(get_audit_logs(operation_name="model_training_example", log_dir="audit_logs"))
    for pii in ("Alice Smith", "Bob Johnson", "alice.s@example.com", "65000"):
        assert pii not in text


def test_decorator_with_undecodable_file_name_argument(workdir: Path):
    """A file name read from the OS may hold lone surrogates (surrogateescape);
    auditing the call must not prevent it."""
    name = b"data_\xff.csv".decode("utf-8", "surrogateescape")

    @audit_function(operation_name="load_op", log_dir="audit_logs")
    def load(path):
        return path

    assert load(name) == name
    logs = get_audit_logs(operation_name="load_op", log_dir="audit_logs")
    assert "data_" in as_json(logs)
    trail = AuditTrail(operation_name="load_trail", log_dir="audit_logs")
    trail.log_data_access(dataset_name=name, columns_accessed=[name], purpose="x")
    trail.close()
    assert len(get_audit_logs(operation_name="load_trail", log_dir="audit_logs")) == 3

    @audit_function(operation_name="load_fail", log_dir="audit_logs")
    def load_fail(path):
        raise ValueError(f"cannot read {path}")

    # the function's own exception, not a logging error in its place
    with pytest.raises(ValueError, match="cannot read data_"):
        load_fail(name)
    logs = get_audit_logs(operation_name="load_fail", log_dir="audit_logs")
    assert "cannot read data_" in as_json(logs)


def test_decorator_preserves_function_identity():
    train_model = make_train_model()
    assert train_model.__name__ == "train_model"
    assert train_model.__doc__ == "Train a machine learning model with audit logging."


# --------------------------------------------------------------------------
# Retrieving and Analyzing Audit Logs
# --------------------------------------------------------------------------


def test_retrieval_example_prints_summary(workdir: Path, capsys):
    data = basic_audit_trail()
    run_decorator_example(data)
    capsys.readouterr()
    preprocessing_logs, all_logs = retrieve_logs()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Retrieved {len(preprocessing_logs)} logs for data preprocessing"
    assert len(out) == 1 + len(preprocessing_logs)
    for line, log in zip(out[1:], preprocessing_logs):
        m = re.fullmatch(r"Event: (\S+) - Time: (\S+)", line)
        assert m, line
        assert m.group(1) != "None" and m.group(2) != "None"
        assert m.group(1) == log["event_type"]


def test_operation_name_filter_selects_only_that_operation(workdir: Path):
    data = basic_audit_trail()
    run_decorator_example(data)
    pre = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    train = get_audit_logs(operation_name="model_training_example", log_dir="audit_logs")
    assert pre and train
    assert "model_training_example" not in as_json(pre)
    assert "gradient_boosting" not in as_json(pre)
    assert "data_preprocessing_example" not in as_json(train)
    assert "analyst_123" not in as_json(train)


def test_rerun_appends_to_the_operation_logs(workdir: Path):
    basic_audit_trail()
    first = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    basic_audit_trail()
    both = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    assert len(both) == 2 * len(first)
    assert both[: len(first)] == first


def test_operation_name_and_start_time_together(workdir: Path):
    basic_audit_trail()
    run_decorator_example(sample_data())
    today = datetime.datetime.now().strftime("%Y-%m-%d")
    logs = get_audit_logs(
        operation_name="data_preprocessing_example",
        start_time=f"{today}T00:00:00",
        log_dir="audit_logs",
    )
    assert logs == get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")


def test_unknown_operation_name_gives_empty_list(workdir: Path):
    basic_audit_trail()
    assert get_audit_logs(operation_name="no_such_operation", log_dir="audit_logs") == []


def test_start_time_today_returns_all_operations(workdir: Path):
    data = basic_audit_trail()
    run_decorator_example(data)
    preprocessing_logs, all_logs = retrieve_logs()
    train = get_audit_logs(operation_name="model_training_example", log_dir="audit_logs")
    assert len(all_logs) == len(preprocessing_logs) + len(train)
    text = as_json(all_logs)
    assert "analyst_123" in text and "gradient_boosting_model" in text
    today = datetime.datetime.now().date()
    for log in all_logs:
        ts = parse_ts(log["timestamp"])
        if ts.tzinfo is not None:
            ts = ts.astimezone().replace(tzinfo=None)
        assert ts.date() == today


def test_timestamps_are_iso_and_recent(workdir: Path):
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    basic_audit_trail()
    after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
    for log in get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs"):
        ts = parse_ts(log["timestamp"])
        if ts.tzinfo is None:
            ts = ts.astimezone()  # naive = local time
        assert before <= ts <= after, log["timestamp"]


def test_start_time_in_future_returns_nothing(workdir: Path):
    basic_audit_trail()
    tomorrow = (datetime.datetime.now() + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    assert get_audit_logs(start_time=f"{tomorrow}T00:00:00", log_dir="audit_logs") == []


def test_get_audit_logs_on_empty_log_dir(workdir: Path):
    (workdir / "audit_logs").mkdir()
    assert get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs") == []


# --------------------------------------------------------------------------
# Generating Reports from Audit Logs
# --------------------------------------------------------------------------


def _all_logs():
    data = basic_audit_trail()
    run_decorator_example(data)
    _, all_logs = retrieve_logs()
    return all_logs


def test_report_written_and_path_printed(workdir: Path, capsys):
    all_logs = _all_logs()
    capsys.readouterr()
    report_path = generate_report(all_logs)
    out = capsys.readouterr().out
    assert out == f"Audit report generated at: {report_path}\n"
    p = Path(report_path)
    if not p.is_absolute():
        p = workdir / p
    assert p.resolve() == (workdir / "audit_report.html").resolve()
    assert p.is_file() and p.stat().st_size > 0


def test_report_html_content(workdir: Path):
    all_logs = _all_logs()
    html = Path(generate_report(all_logs)).read_text(encoding="utf-8")
    low = html.lower()
    assert low.lstrip().startswith("<!doctype html") or low.lstrip().startswith("<html")
    assert "</html>" in low
    assert "<title>SecureML Operations Audit Report</title>" in html
    assert "SecureML Operations Audit Report" in re.sub(r"<title>.*?</title>", "", html, flags=re.S)
    # the logged events and operations appear in the report
    for et in {log["event_type"] for log in all_logs}:
        assert et in html, et
    assert "data_preprocessing_example" in html
    assert "model_training_example" in html


def test_report_includes_charts(workdir: Path):
    all_logs = _all_logs()
    html = Path(generate_report(all_logs, include_charts=True)).read_text(encoding="utf-8")
    charts = re.findall(r'<img[^>]+src="data:image/(?:png|svg\+xml)[^"]*"', html)
    charts += re.findall(r"<svg\b", html)
    assert charts, "include_charts=True must put charts in the report"


def test_report_without_charts(workdir: Path):
    all_logs = _all_logs()
    with_charts = Path(generate_report(all_logs, "with.html", True)).read_text(encoding="utf-8")
    without = Path(generate_report(all_logs, "without.html", False)).read_text(encoding="utf-8")
    n_with = len(re.findall(r"<img\b|<svg\b|<canvas\b", with_charts))
    n_without = len(re.findall(r"<img\b|<svg\b|<canvas\b", without))
    assert n_without < n_with
    assert n_without == 0
    assert "SecureML Operations Audit Report" in without


def test_report_html_is_self_contained(workdir: Path):
    all_logs = _all_logs()
    html = Path(generate_report(all_logs)).read_text(encoding="utf-8")
    # no external resources: scripts, stylesheets, images, fonts
    for attr in re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)["\']', html, flags=re.I):
        assert not re.match(r"(?:https?:)?//", attr), attr
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, flags=re.I)
    assert not re.search(r"@import", html, flags=re.I)


def test_report_escapes_logged_values(workdir: Path):
    audit = AuditTrail(operation_name="xss_op", log_dir="audit_logs")
    audit.log_data_access(dataset_name="<script>alert(1)</script>", purpose="x", user="u")
    audit.close(status="completed")
    logs = get_audit_logs(log_dir="audit_logs")
    html = Path(generate_report(logs)).read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html


def test_report_after_changing_directory(workdir: Path, monkeypatch):
    """The logs returned by get_audit_logs can be reported on from another
    working directory: their logs are still found and shown intact
    (evident adds each log's verification to the report)."""
    all_logs = _all_logs()
    (workdir / "reports").mkdir()
    monkeypatch.chdir(workdir / "reports")
    html = Path(generate_report(all_logs)).read_text(encoding="utf-8")
    assert (workdir / "reports" / "audit_report.html").is_file()
    assert "NOT VALID" not in html
    assert "No such file" not in html


def test_report_pdf(workdir: Path):
    """"Generate HTML or PDF reports from audit trails"."""
    all_logs = _all_logs()
    report_path = generate_report(all_logs, output_file="audit_report.pdf")
    p = Path(report_path)
    assert p.suffix == ".pdf"
    data = p.read_bytes()
    assert data.startswith(b"%PDF")
    import pypdf

    reader = pypdf.PdfReader(str(p))
    text = "".join(page.extract_text() or "" for page in reader.pages)
    assert "SecureML Operations Audit Report" in text


def _pdf_text(path) -> str:
    import pypdf

    return "".join(page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages)


def test_report_pdf_with_charts_names_every_event_type(workdir: Path):
    all_logs = _all_logs()
    text = _pdf_text(generate_report(all_logs, output_file="audit_report.pdf"))
    for et in {log["event_type"] for log in all_logs}:
        assert et in text, et


def test_report_pdf_without_charts_names_every_event_type(workdir: Path):
    all_logs = _all_logs()
    text = _pdf_text(generate_report(all_logs, output_file="audit_report.pdf", include_charts=False))
    for et in {log["event_type"] for log in all_logs}:
        assert et in text, et


def test_report_empty_logs(workdir: Path):
    p = Path(generate_report([], output_file="empty.html"))
    html = p.read_text(encoding="utf-8")
    assert "SecureML Operations Audit Report" in html


# --------------------------------------------------------------------------
# Integration with Other Features (ComplianceAuditor)
# --------------------------------------------------------------------------


def test_compliance_auditor_stores_audit_trail_in_log_dir(workdir: Path):
    data = sample_data()
    before = get_audit_logs(log_dir="audit_logs") if (workdir / "audit_logs").exists() else []
    dataset_report = compliance_integration(data)
    assert dataset_report is not None
    after = get_audit_logs(log_dir="audit_logs")
    assert len(after) > len(before)
    text = as_json(after)
    assert "customer_records" in text
    assert "GDPR" in text
    assert (workdir / "audit_logs").is_dir()


def test_compliance_auditor_after_the_other_examples(workdir: Path):
    """The whole document as one script, in order."""
    data = basic_audit_trail()
    result = run_decorator_example(data)
    assert result["accuracy"] == 0.92
    preprocessing_logs, all_logs = retrieve_logs()
    report_path = generate_report(all_logs)
    assert Path(report_path).is_file()
    n_before = len(get_audit_logs(log_dir="audit_logs"))
    dataset_report = compliance_integration(data)
    assert dataset_report is not None
    assert len(get_audit_logs(log_dir="audit_logs")) > n_before
    # earlier operations' logs are untouched
    again = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    assert again == preprocessing_logs


def test_event_details_named_like_entry_fields_are_not_hidden_by_empty_fields(tmp_path):
    """An event's own ``error`` / ``success`` / ``duration_ms`` details (a
    metric named ``error``, say) come back when the entry's field of that
    name is not set, instead of being replaced by None."""
    from evident.compat.secureml import AuditTrail, get_audit_logs

    trail = AuditTrail(operation_name="eval", log_dir=str(tmp_path))
    trail.log_event("evaluation", {"error": 0.05, "success": "partial", "duration_ms": 7})
    trail.log_event("failure", {"x": 1}, success=False, error="boom", duration_ms=3.5)
    trail.close()
    logs = {d["event_type"]: d for d in get_audit_logs(operation_name="eval", log_dir=str(tmp_path))}
    ev = logs["evaluation"]
    assert (ev["error"], ev["success"], ev["duration_ms"]) == (0.05, "partial", 7)
    bad = logs["failure"]
    assert (bad["error"], bad["success"], bad["duration_ms"]) == ("boom", False, 3.5)


def test_audit_function_on_a_coroutine_function_audits_the_awaited_call(tmp_path):
    """``@audit_function`` on ``async def``: the result, the duration and an
    exception are those of the awaited call, not of the coroutine object."""
    import asyncio

    from evident.compat.secureml import audit_function, get_audit_logs

    @audit_function(operation_name="fetch", log_dir=str(tmp_path))
    async def fetch(n):
        await asyncio.sleep(0.01)
        if n < 0:
            raise ValueError("negative")
        return {"rows": n}

    assert asyncio.iscoroutinefunction(fetch)
    assert asyncio.run(fetch(3)) == {"rows": 3}
    with pytest.raises(ValueError, match="negative"):
        asyncio.run(fetch(-1))
    logs = get_audit_logs(operation_name="fetch", log_dir=str(tmp_path))
    results = [d for d in logs if d["event_type"] == "function_result"]
    errors = [d for d in logs if d["event_type"] == "function_error"]
    assert len(results) == 1 and results[0]["result"] == {"rows": 3}
    assert results[0]["duration_seconds"] >= 0.009
    assert len(errors) == 1 and errors[0]["error_type"] == "ValueError"
