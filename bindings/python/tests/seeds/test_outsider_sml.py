"""An outsider's acceptance tests of seed 003 (SecureML's audit trail
examples) against ``evident.compat.secureml``.

Written from the seed document and the project README only (import line
``secureml.audit`` / ``secureml.reporting`` / ``secureml.compliance`` ->
``evident.compat.secureml``), for what the example tests beside this file do
not check: the documented parameters by position, the types of what comes
back, edge cases a tester tries (wide datasets, long values, unicode,
pre-created output files, relative paths after a ``chdir``, concurrent
runs, another process, calling things twice) and the prose's promises
("audit trail is created automatically", "This enables automatic audit
trail creation", "for specific operations").
"""

from __future__ import annotations

import datetime
import html
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pandas as pd
import pytest

import evident
from evident.compat.secureml import (
    AuditTrail,
    ComplianceAuditor,
    ReportGenerator,
    audit_function,
    get_audit_logs,
)


def sample_data() -> pd.DataFrame:
    return pd.DataFrame({
        'name': ['Alice Smith', 'Bob Johnson'],
        'age': [32, 45],
        'income': [65000, 85000],
        'email': ['alice.s@example.com', 'bob.j@example.com']
    })


def logs_of(op, log_dir="audit_logs"):
    return get_audit_logs(operation_name=op, log_dir=log_dir)


def one(logs, event_type):
    hits = [log for log in logs if log["event_type"] == event_type]
    assert len(hits) == 1, [log["event_type"] for log in logs]
    return hits[0]


def log_files(d="audit_logs"):
    return sorted(Path(d).glob("*.jsonl"))


def all_valid(d="audit_logs"):
    files = log_files(d)
    assert files
    for f in files:
        r = evident.verify(f)
        assert r.valid, (f, r)


# --- Basic Audit Trail Creation: parameters, types, values -------------------------


def test_documented_parameters_by_position_in_document_order(workdir):
    """The document's order of arguments, given by position, means the same
    as the keywords."""
    audit = AuditTrail("positional_op", "audit_logs", {"project": "p"}, ["GDPR"])
    audit.log_data_access("customer_data", ["name", "age"], 2, "data_preparation", "analyst_123")
    audit.log_data_transformation("anonymization", "raw", "anon", {"k": 3})
    audit.close("completed", {"records_processed": 2})
    logs = logs_of("positional_op")
    access = one(logs, "data_access")
    assert access["dataset_name"] == "customer_data"
    assert access["columns_accessed"] == ["name", "age"]
    assert access["num_records"] == 2
    assert access["purpose"] == "data_preparation"
    assert access["user"] == "analyst_123"
    tr = one(logs, "data_transformation")
    assert (tr["transformation_type"], tr["input_data"], tr["output_data"]) == ("anonymization", "raw", "anon")
    assert tr["parameters"] == {"k": 3}
    end = one(logs, "operation_end")
    assert end["status"] == "completed" and end["details"] == {"records_processed": 2}
    assert all(log["context"] == {"project": "p"} and log["regulations"] == ["GDPR"] for log in logs)


def test_logged_values_keep_their_json_types(workdir):
    """The document's values come back with their types: int, float, str,
    list, dict, and the timestamp as ISO 8601 text."""
    data = sample_data()
    audit = AuditTrail(operation_name="types_op", log_dir="audit_logs",
                       context={"project": "credit_scoring", "environment": "development"},
                       regulations=["GDPR"])
    audit.log_data_access(dataset_name="customer_data", columns_accessed=list(data.columns),
                          num_records=len(data), purpose="data_preparation", user="analyst_123")
    audit.close(status="completed", details={"execution_time": 2.5, "records_processed": len(data)})
    logs = logs_of("types_op")
    access = one(logs, "data_access")
    assert type(access["num_records"]) is int
    assert type(access["columns_accessed"]) is list
    assert all(type(c) is str for c in access["columns_accessed"])
    assert type(access["context"]) is dict and type(access["regulations"]) is list
    end = one(logs, "operation_end")
    assert type(end["details"]["execution_time"]) is float
    assert type(end["details"]["records_processed"]) is int
    for log in logs:
        assert type(log["timestamp"]) is str
        ts = datetime.datetime.fromisoformat(log["timestamp"])
        assert ts.tzinfo is not None or ts.year > 2000


def test_wide_dataset_columns_accessed_are_all_recorded(workdir):
    """``columns_accessed=list(data.columns)`` on a dataset of 150 columns:
    the audit trail records which columns were read, all of them, as a list."""
    data = pd.DataFrame({f"col_{i:03d}": [i] for i in range(150)})
    audit = AuditTrail(operation_name="wide_op", log_dir="audit_logs")
    audit.log_data_access(dataset_name="wide", columns_accessed=list(data.columns),
                          num_records=len(data), purpose="p", user="u")
    audit.close(status="completed")
    access = one(logs_of("wide_op"), "data_access")
    assert access["columns_accessed"] == list(data.columns)


def test_long_and_large_logged_values_are_recorded_whole(workdir):
    """Transformation parameters, inputs and close details are recorded as
    given, not cut: a 5,000-character description, 500 quasi-identifiers, a
    dict of 300 settings."""
    long_text = "é" * 5000
    qi = [f"attr_{i}" for i in range(500)]
    settings = {f"s{i}": i for i in range(300)}
    audit = AuditTrail(operation_name="large_op", log_dir="audit_logs",
                       context={"notes": long_text})
    audit.log_data_transformation(
        transformation_type="anonymization",
        input_data=long_text,
        output_data="anonymized",
        parameters={"method": "k-anonymity", "quasi_identifiers": qi, "settings": settings},
    )
    audit.close(status="completed", details={"quasi_identifiers": qi})
    logs = logs_of("large_op")
    tr = one(logs, "data_transformation")
    assert tr["input_data"] == long_text
    assert tr["parameters"]["quasi_identifiers"] == qi
    assert tr["parameters"]["settings"] == settings
    assert tr["context"] == {"notes": long_text}
    assert one(logs, "operation_end")["details"] == {"quasi_identifiers": qi}
    all_valid()


def test_unicode_everywhere(workdir):
    op = "prétraitement_données_🙂"
    audit = AuditTrail(operation_name=op, log_dir="audit_logs",
                       context={"projet": "crédit", "équipe": "数据"}, regulations=["LGPD"])
    audit.log_data_access(dataset_name="clients_ü", columns_accessed=["nom", "âge"],
                          num_records=2, purpose="préparation", user="анализ_123")
    audit.close(status="completed", details={"remarque": "terminé ✓"})
    logs = logs_of(op)
    assert [log["event_type"] for log in logs] == ["operation_start", "data_access", "operation_end"]
    assert all(log["operation_name"] == op for log in logs)
    access = logs[1]
    assert access["dataset_name"] == "clients_ü" and access["columns_accessed"] == ["nom", "âge"]
    assert access["user"] == "анализ_123" and access["purpose"] == "préparation"
    assert access["context"] == {"projet": "crédit", "équipe": "数据"}
    assert logs[2]["details"] == {"remarque": "terminé ✓"}
    # "Get logs for a specific operation": only that one, also among others
    AuditTrail(operation_name="other", log_dir="audit_logs").close()
    assert logs_of(op) == logs
    all_valid()


def test_operation_names_that_are_not_file_names_stay_apart(workdir):
    """Operation names with path separators, dots or names that differ only
    by characters a file name cannot hold: each is its own operation."""
    names = ["train model/v2", "train model_v2", "train_model_v2", "..", "a" * 300, "a" * 299 + "b"]
    for i, n in enumerate(names):
        t = AuditTrail(operation_name=n, log_dir="audit_logs", context={"i": i})
        t.log_data_access(dataset_name=f"d{i}")
        t.close()
    for i, n in enumerate(names):
        logs = logs_of(n)
        assert [log["event_type"] for log in logs] == ["operation_start", "data_access", "operation_end"], n
        assert {log["context"]["i"] for log in logs} == {i}
        assert all(log["operation_name"] == n for log in logs)
    # nothing was written outside log_dir
    assert sorted(p.name for p in Path(".").iterdir()) == ["audit_logs"]
    assert len(get_audit_logs(log_dir="audit_logs")) == 3 * len(names)
    all_valid()


def test_log_dir_nested_path_object_and_absolute(workdir):
    AuditTrail(operation_name="nested", log_dir="logs/2024/audit").close()
    assert len(logs_of("nested", "logs/2024/audit")) == 2
    AuditTrail(operation_name="as_path", log_dir=Path("p_logs")).close()
    assert len(get_audit_logs(operation_name="as_path", log_dir=Path("p_logs"))) == 2
    absolute = workdir / "abs_logs"
    AuditTrail(operation_name="abs", log_dir=str(absolute)).close()
    assert len(logs_of("abs", str(absolute))) == 2
    # the same directory named relatively and absolutely is the same log
    assert logs_of("abs", "abs_logs") == logs_of("abs", str(absolute))


def test_relative_log_dir_is_the_one_at_creation_time(workdir, monkeypatch):
    """An AuditTrail created with log_dir="audit_logs" keeps writing there
    when the program changes directory before it logs or closes."""
    audit = AuditTrail(operation_name="moving", log_dir="audit_logs")
    (workdir / "elsewhere").mkdir()
    monkeypatch.chdir(workdir / "elsewhere")
    audit.log_data_access(dataset_name="d", columns_accessed=["a"], num_records=1)
    audit.close(status="completed")
    assert not (workdir / "elsewhere" / "audit_logs").exists()
    logs = logs_of("moving", str(workdir / "audit_logs"))
    assert [log["event_type"] for log in logs] == ["operation_start", "data_access", "operation_end"]
    all_valid(workdir / "audit_logs")


def test_context_and_parameters_with_non_json_values(workdir):
    """Values a data scientist has at hand (numpy numbers, datetimes, tuples)
    are recorded as JSON values; the log stays valid."""
    import numpy as np

    data = sample_data()
    audit = AuditTrail(operation_name="np_op", log_dir="audit_logs",
                       context={"run_date": datetime.date(2024, 1, 2)}, regulations=("GDPR", "CCPA"))
    audit.log_data_access(dataset_name="d", columns_accessed=data.columns,
                          num_records=data.shape[0], purpose="p")
    audit.log_data_transformation("scaling", "a", "b",
                                  {"mean_age": data["age"].mean(), "max_income": data["income"].max(),
                                   "shape": data.shape})
    audit.close(status="completed", details={"records_processed": np.int64(2)})
    logs = logs_of("np_op")
    assert logs[0]["regulations"] == ["GDPR", "CCPA"]
    assert logs[0]["context"] == {"run_date": "2024-01-02"}
    access = one(logs, "data_access")
    assert access["columns_accessed"] == ["name", "age", "income", "email"]
    assert access["num_records"] == 2
    tr = one(logs, "data_transformation")
    assert tr["parameters"] == {"mean_age": 38.5, "max_income": 85000, "shape": [2, 4]}
    assert one(logs, "operation_end")["details"] == {"records_processed": 2}
    json.dumps(logs)
    all_valid()


def test_columns_accessed_as_an_index_array_or_one_name(workdir):
    """``columns_accessed`` given as ``data.columns`` (without ``list``), a
    numpy array, or one column name: the columns, not an error or letters."""
    data = sample_data()
    audit = AuditTrail(operation_name="cols_op", log_dir="audit_logs")
    audit.log_data_access(dataset_name="a", columns_accessed=data.columns)
    audit.log_data_access(dataset_name="b", columns_accessed=data.columns.to_numpy())
    audit.log_data_access(dataset_name="c", columns_accessed="email")
    audit.log_data_access(dataset_name="d", columns_accessed=data.columns[:0])
    audit.close()
    got = {log["dataset_name"]: log["columns_accessed"]
           for log in logs_of("cols_op") if log["event_type"] == "data_access"}
    assert got == {"a": list(data.columns), "b": list(data.columns), "c": ["email"], "d": []}


def test_close_twice_and_close_with_defaults(workdir):
    audit = AuditTrail(operation_name="twice", log_dir="audit_logs")
    audit.close(status="completed", details={"n": 1})
    audit.close(status="completed", details={"n": 1})  # a second close adds nothing
    ends = [log for log in logs_of("twice") if log["event_type"] == "operation_end"]
    assert len(ends) == 1
    # close() with no argument ends the operation as completed
    AuditTrail(operation_name="defaults", log_dir="audit_logs").close()
    end = logs_of("defaults")[-1]
    assert end["event_type"] == "operation_end" and end["status"] == "completed"
    assert end["success"] is True


def test_logs_can_be_read_before_the_trail_is_closed(workdir):
    """Analysing logs while an operation still runs: what was logged so far."""
    audit = AuditTrail(operation_name="running", log_dir="audit_logs")
    audit.log_data_access(dataset_name="d")
    assert [log["event_type"] for log in logs_of("running")] == ["operation_start", "data_access"]
    audit.close()
    assert [log["event_type"] for log in logs_of("running")][-1] == "operation_end"


def test_two_runs_of_one_operation_at_once(workdir):
    """Two trails of one operation open at the same time (interleaved events)
    both land in the operation's logs, each its own run."""
    a = AuditTrail(operation_name="shared_op", log_dir="audit_logs", context={"run": "a"})
    b = AuditTrail(operation_name="shared_op", log_dir="audit_logs", context={"run": "b"})
    a.log_data_access(dataset_name="da")
    b.log_data_access(dataset_name="db")
    b.close()
    a.close()
    logs = logs_of("shared_op")
    assert len(logs) == 6
    by_run = {}
    for log in logs:
        by_run.setdefault(log["context"]["run"], []).append(log["event_type"])
    assert by_run == {r: ["operation_start", "data_access", "operation_end"] for r in "ab"}
    assert len({log["operation_id"] for log in logs}) == 2
    all_valid()


def test_reopen_and_continue_from_another_process(workdir):
    """A second program (another process) runs the same operation later:
    its events follow the first program's in the same operation's logs."""
    AuditTrail(operation_name="batch_job", log_dir="audit_logs", context={"run": 1}).close()
    code = (
        "from evident.compat.secureml import AuditTrail\n"
        "a = AuditTrail(operation_name='batch_job', log_dir='audit_logs', context={'run': 2})\n"
        "a.log_data_access(dataset_name='d', num_records=1)\n"
        "a.close(status='completed')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=os.environ.copy(), timeout=120)
    assert r.returncode == 0, r.stderr
    AuditTrail(operation_name="batch_job", log_dir="audit_logs", context={"run": 3}).close()
    logs = logs_of("batch_job")
    assert [log["context"]["run"] for log in logs] == [1, 1, 2, 2, 2, 3, 3]
    all_valid()


def _py(code):
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())


def test_events_before_a_crash_are_kept(workdir):
    """"Close the audit trail when operations are complete": a program that
    dies before closing keeps what it logged, and the next run continues."""
    p = _py("import os\n"
            "from evident.compat.secureml import AuditTrail\n"
            "a = AuditTrail(operation_name='crashy', log_dir='audit_logs')\n"
            "a.log_data_access(dataset_name='d', num_records=1)\n"
            "os._exit(3)\n")
    _, err = p.communicate(timeout=120)
    assert p.returncode == 3, err
    assert [log["event_type"] for log in logs_of("crashy")] == ["operation_start", "data_access"]
    AuditTrail(operation_name="crashy", log_dir="audit_logs").close()
    assert len(logs_of("crashy")) == 4
    all_valid()


def test_several_processes_run_one_operation_at_once(workdir):
    code = ("import sys\n"
            "from evident.compat.secureml import AuditTrail, audit_function\n"
            "@audit_function(operation_name='parallel', log_dir='audit_logs')\n"
            "def step(i):\n"
            "    return i\n"
            "for i in range(15):\n"
            "    step(i)\n"
            "    a = AuditTrail(operation_name='parallel', log_dir='audit_logs',\n"
            "                   context={'worker': int(sys.argv[1])})\n"
            "    a.log_data_access(dataset_name='d', num_records=i)\n"
            "    a.close()\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(k)], stderr=subprocess.PIPE,
                              text=True, env=os.environ.copy()) for k in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    logs = logs_of("parallel")
    assert len({log["operation_id"] for log in logs}) == 3 * 15 * 2
    assert sum(log["event_type"] == "data_access" for log in logs) == 45
    assert len(logs) == 3 * 15 * (4 + 3)
    all_valid()


def test_a_dataframe_logged_as_input_data_is_summarised_not_copied(workdir):
    """A privacy library's trail describes the DataFrame given as input_data
    (its shape and columns) without copying the personal data in it."""
    data = sample_data()
    audit = AuditTrail(operation_name="df_input", log_dir="audit_logs")
    audit.log_data_transformation("anonymization", input_data=data, output_data="anon",
                                  parameters={"k": 3})
    audit.close()
    tr = one(logs_of("df_input"), "data_transformation")
    text = json.dumps(tr)
    for pii in ("Alice Smith", "bob.j@example.com", "65000"):
        assert pii not in text
    for col in data.columns:
        assert col in text


def test_pre_created_empty_log_file_is_used(workdir):
    """README: each operation has one log, <log_dir>/<operation_name>.jsonl.
    A tester who creates that file empty beforehand (touch) still gets a trail."""
    Path("audit_logs").mkdir()
    Path("audit_logs/touched.jsonl").touch()
    audit = AuditTrail(operation_name="touched", log_dir="audit_logs")
    audit.close()
    assert [log["event_type"] for log in logs_of("touched")] == ["operation_start", "operation_end"]
    assert len(get_audit_logs(log_dir="audit_logs")) == 2


def test_empty_jsonl_in_log_dir_does_not_break_reading(workdir):
    AuditTrail(operation_name="real", log_dir="audit_logs").close()
    Path("audit_logs/placeholder.jsonl").touch()
    assert len(get_audit_logs(log_dir="audit_logs")) == 2
    assert get_audit_logs(operation_name="placeholder", log_dir="audit_logs") == []


def test_other_files_in_log_dir_are_not_logs(workdir):
    """The report or notes saved into the log directory are not read as logs."""
    AuditTrail(operation_name="real", log_dir="audit_logs").close()
    Path("audit_logs/README.txt").write_text("notes\n")
    Path("audit_logs/audit_report.html").write_text("<html></html>")
    assert len(get_audit_logs(log_dir="audit_logs")) == 2
    logs = get_audit_logs(log_dir="audit_logs")
    ReportGenerator().generate_audit_report(logs=logs, output_file="audit_logs/audit_report.html")
    assert len(get_audit_logs(log_dir="audit_logs")) == 2


def test_audit_trail_as_a_context_manager(workdir):
    with AuditTrail(operation_name="cm_ok", log_dir="audit_logs") as audit:
        audit.log_data_access(dataset_name="d")
    end = logs_of("cm_ok")[-1]
    assert end["event_type"] == "operation_end" and end["success"] is True
    with pytest.raises(KeyError):
        with AuditTrail(operation_name="cm_fail", log_dir="audit_logs") as audit:
            raise KeyError("missing column")
    end = logs_of("cm_fail")[-1]
    assert end["event_type"] == "operation_end" and end["success"] is False
    assert "missing column" in json.dumps(end)


def test_logging_after_close_is_refused_not_lost(workdir):
    """An event logged after close is not silently dropped: it raises."""
    audit = AuditTrail(operation_name="closed_op", log_dir="audit_logs")
    audit.close()
    with pytest.raises(Exception):
        audit.log_data_access(dataset_name="late")
    assert [log["event_type"] for log in logs_of("closed_op")] == ["operation_start", "operation_end"]


def test_log_dir_that_is_a_file_raises_an_os_error(workdir):
    Path("not_a_dir").write_text("x")
    with pytest.raises(OSError):
        AuditTrail(operation_name="x", log_dir="not_a_dir")
    assert Path("not_a_dir").read_text() == "x"


def test_a_two_megabyte_value_and_many_events(workdir):
    big = "x" * (2 * 1024 * 1024)
    audit = AuditTrail(operation_name="bulk", log_dir="audit_logs")
    audit.log_data_transformation("serialisation", big, "out")
    for i in range(500):
        audit.log_data_access(dataset_name=f"part_{i}", num_records=i)
    audit.close()
    logs = logs_of("bulk")
    assert len(logs) == 503
    assert logs[1]["input_data"] == big
    assert [log["num_records"] for log in logs[2:-1]] == list(range(500))
    all_valid()


# --- Using the Audit Function Decorator -------------------------------------------


def test_each_decorated_call_is_its_own_trail(workdir):
    """"audit trail is created automatically": one per call."""
    @audit_function(operation_name="per_call", log_dir="audit_logs", regulations=["GDPR", "CCPA"])
    def f(x, model_type="random_forest", **params):
        return x + 1

    assert f(1) == 2
    assert f(2, model_type="svm", c=1.0) == 3
    logs = logs_of("per_call")
    runs = {}
    for log in logs:
        runs.setdefault(log["operation_id"], []).append(log["event_type"])
    assert len(runs) == 2
    for kinds in runs.values():
        assert kinds[0] == "operation_start" and kinds[-1] == "operation_end"
    assert all(log["regulations"] == ["GDPR", "CCPA"] for log in logs)


def test_decorated_calls_from_several_threads(workdir):
    @audit_function(operation_name="threaded", log_dir="audit_logs")
    def work(i):
        return i * 2

    results = []
    lock = threading.Lock()

    def run(k):
        for i in range(5):
            r = work(k * 10 + i)
            with lock:
                results.append(r)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(2 * (k * 10 + i) for k in range(6) for i in range(5))
    logs = logs_of("threaded")
    assert len({log["operation_id"] for log in logs}) == 30
    assert sum(log["event_type"] == "operation_end" for log in logs) == 30
    all_valid()


def test_decorated_function_whose_parameters_share_the_decorators_names(workdir):
    @audit_function(operation_name="names_op", log_dir="audit_logs")
    def f(operation_name, log_dir, regulations=None):
        return (operation_name, log_dir, regulations)

    assert f("mine", "/nowhere", regulations=["X"]) == ("mine", "/nowhere", ["X"])
    assert not Path("/nowhere").exists()
    assert len(logs_of("names_op")) >= 2


def test_decorated_method_and_nested_calls(workdir):
    class Trainer:
        @audit_function(operation_name="method_op", log_dir="audit_logs")
        def fit(self, data, model_type="random_forest"):
            return f"{model_type}:{len(data)}"

    assert Trainer().fit(sample_data(), model_type="gbm") == "gbm:2"

    @audit_function(operation_name="recursive_op", log_dir="audit_logs")
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(4) == 24
    assert sum(log["event_type"] == "operation_start" for log in logs_of("recursive_op")) == 4
    assert len(logs_of("method_op")) >= 2
    all_valid()


def test_decorated_function_result_and_exception_type_unchanged(workdir):
    class MyError(Exception):
        pass

    @audit_function(operation_name="exc_op", log_dir="audit_logs")
    def f(kind):
        if kind == "none":
            return None
        raise MyError("custom failure")

    assert f("none") is None
    with pytest.raises(MyError) as info:
        f("raise")
    assert str(info.value) == "custom failure"
    logs = logs_of("exc_op")
    assert "custom failure" in json.dumps(logs)
    assert logs[-1]["event_type"] == "operation_end" and logs[-1]["success"] is False


def test_decorator_log_dir_relative_to_the_call_time_directory(workdir, monkeypatch):
    """The decorator writes to log_dir when the function is called."""
    @audit_function(operation_name="late_op", log_dir="audit_logs")
    def f():
        return 1

    (workdir / "run").mkdir()
    monkeypatch.chdir(workdir / "run")
    assert f() == 1
    assert len(logs_of("late_op")) >= 2


# --- Retrieving and Analyzing Audit Logs ------------------------------------------


def test_get_audit_logs_returns_a_list_of_dicts_with_get(workdir):
    AuditTrail(operation_name="r", log_dir="audit_logs").close()
    logs = get_audit_logs(operation_name="r", log_dir="audit_logs")
    assert type(logs) is list
    for log in logs:
        assert isinstance(log, dict)
        assert isinstance(log.get("event_type"), str) and isinstance(log.get("timestamp"), str)
        assert log.get("no_such_field") is None


def test_get_audit_logs_twice_gives_the_same_and_independent_lists(workdir):
    AuditTrail(operation_name="r", log_dir="audit_logs", context={"a": [1]}).close()
    first = get_audit_logs(operation_name="r", log_dir="audit_logs")
    first[0]["context"]["a"].append(2)  # analysing (and changing) the result
    first.clear()
    second = get_audit_logs(operation_name="r", log_dir="audit_logs")
    assert len(second) == 2 and second[0]["context"] == {"a": [1]}
    assert get_audit_logs(operation_name="r", log_dir="audit_logs") == second


def test_start_time_for_today_with_datetime_now(workdir):
    """The document's time filter, also with a time a few seconds back and
    a datetime object, and with Path log_dir."""
    AuditTrail(operation_name="t1", log_dir="audit_logs").close()
    now = datetime.datetime.now()
    today = now.strftime("%Y-%m-%d")
    a = get_audit_logs(start_time=f"{today}T00:00:00", log_dir="audit_logs")
    b = get_audit_logs(start_time=now - datetime.timedelta(minutes=5), log_dir=Path("audit_logs"))
    c = get_audit_logs(start_time=(now - datetime.timedelta(minutes=5)).isoformat(),
                       log_dir="audit_logs")
    assert len(a) == 2 and a == b == c


def test_timestamps_have_one_format_for_analysis_with_pandas(workdir):
    """"Retrieve and analyze audit logs": every timestamp has the same ISO
    8601 form, so pandas reads the column at once, also when an event was
    recorded at a whole second (here one imported into the operation's
    evident log, README: each operation has one log <log_dir>/<name>.jsonl)."""
    import re

    audit = AuditTrail(operation_name="analysed", log_dir="audit_logs")
    audit.log_data_access(dataset_name="d", num_records=2)
    audit.close()
    whole = datetime.datetime(2024, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
    with evident.AuditLog("audit_logs/analysed.jsonl", lock="shared") as log:
        log.log("data_access", "analysed", source="secureml", ts=whole,
                details={"dataset_name": "imported", "operation_name": "analysed"})
    logs = get_audit_logs(operation_name="analysed", log_dir="audit_logs")
    forms = {re.sub(r"\d", "9", log["timestamp"]) for log in logs}
    assert len(forms) == 1, forms
    df = pd.DataFrame(logs)
    ts = pd.to_datetime(df["timestamp"])
    assert ts.min() == pd.Timestamp(whole)
    assert df.groupby("event_type").size().to_dict() == {
        "data_access": 2, "operation_end": 1, "operation_start": 1}


def test_the_documents_time_filter_leaves_out_earlier_days(workdir):
    """"Get logs for a time period": today's query leaves out an event of
    two days ago (imported into the operation's evident log), which the
    query for the operation still finds."""
    audit = AuditTrail(operation_name="data_preprocessing_example", log_dir="audit_logs")
    audit.close()
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
    with evident.AuditLog("audit_logs/data_preprocessing_example.jsonl", lock="shared") as log:
        log.log("data_access", "data_preprocessing_example", source="secureml", ts=old,
                details={"dataset_name": "old", "operation_name": "data_preprocessing_example"})
    today = datetime.datetime.now().strftime("%Y-%m-%d")
    all_logs = get_audit_logs(start_time=f"{today}T00:00:00", log_dir="audit_logs")
    assert [log["event_type"] for log in all_logs] == ["operation_start", "operation_end"]
    every = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    assert [log["event_type"] for log in every] == ["data_access", "operation_start", "operation_end"]
    assert every[0]["dataset_name"] == "old"
    upto = get_audit_logs(end_time=f"{today}T00:00:00", log_dir="audit_logs")
    assert [log.get("dataset_name") for log in upto] == ["old"]


def test_specific_operation_among_foreign_files(workdir):
    """"Get logs for a specific operation" reads that operation's logs only:
    unrelated files in the directory do not matter."""
    basic = AuditTrail(operation_name="data_preprocessing_example", log_dir="audit_logs")
    basic.close()
    Path("audit_logs/legacy_secureml.jsonl").write_text('{"event_type": "x"}\n')
    assert len(get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")) == 2


# --- Generating Reports from Audit Logs -------------------------------------------


def _doc_logs():
    data = sample_data()
    audit = AuditTrail(operation_name="data_preprocessing_example", log_dir="audit_logs",
                       context={"project": "credit_scoring"}, regulations=["GDPR"])
    audit.log_data_access(dataset_name="customer_data", columns_accessed=list(data.columns),
                          num_records=len(data), purpose="data_preparation", user="analyst_123")
    audit.close(status="completed")
    today = datetime.datetime.now().strftime("%Y-%m-%d")
    return get_audit_logs(start_time=f"{today}T00:00:00", log_dir="audit_logs")


def test_report_path_is_text_naming_the_output_file(workdir):
    logs = _doc_logs()
    g = ReportGenerator()
    p = g.generate_audit_report(logs=logs, output_file="audit_report.html",
                                title="SecureML Operations Audit Report", include_charts=True)
    assert isinstance(p, str) and Path(p).resolve() == (workdir / "audit_report.html").resolve()
    p2 = g.generate_audit_report(logs=logs, output_file=Path("as_path.html"),
                                 title="T", include_charts=False)
    assert isinstance(p2, str) and Path(p2).resolve() == (workdir / "as_path.html").resolve()


def test_report_positional_arguments_in_document_order(workdir):
    logs = _doc_logs()
    p = ReportGenerator().generate_audit_report(logs, "pos.html", "Positional Title", False)
    text = Path(p).read_text(encoding="utf-8")
    assert "<title>Positional Title</title>" in text and "<svg" not in text


@pytest.mark.parametrize("suffix", [".html", ".pdf"])
def test_report_into_a_pre_created_temporary_file(workdir, suffix):
    """A tester writes the report to a NamedTemporaryFile made beforehand:
    the existing (empty) file is overwritten with the report."""
    logs = _doc_logs()
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False, dir=workdir) as tf:
        name = tf.name
    assert os.path.getsize(name) == 0
    p = ReportGenerator().generate_audit_report(logs=logs, output_file=name,
                                                title="Temp Report", include_charts=True)
    assert Path(p).resolve() == Path(name).resolve()
    data = Path(name).read_bytes()
    if suffix == ".pdf":
        assert data.startswith(b"%PDF")
    else:
        assert b"<title>Temp Report</title>" in data


def test_report_written_twice_to_the_same_file_is_replaced(workdir):
    logs = _doc_logs()
    g = ReportGenerator()
    g.generate_audit_report(logs=logs, output_file="r.html", title="First")
    g.generate_audit_report(logs=logs[:1], output_file="r.html", title="Second")
    text = Path("r.html").read_text(encoding="utf-8")
    assert "<title>Second</title>" in text and "First" not in text
    assert text.count("</html>") == 1


def test_report_of_one_operations_logs_and_of_analysed_logs(workdir):
    """A report of the logs of one operation, and of a list the user
    filtered and annotated while analysing it."""
    _doc_logs()
    AuditTrail(operation_name="other_op", log_dir="audit_logs").close()
    pre = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    text = Path(ReportGenerator().generate_audit_report(logs=pre, output_file="one.html",
                                                        title="One")).read_text(encoding="utf-8")
    assert "data_preprocessing_example" in text and "other_op" not in text
    access = [dict(log, reviewed_by="auditor_7") for log in pre if log["event_type"] == "data_access"]
    text = Path(ReportGenerator().generate_audit_report(logs=access, output_file="filtered.html",
                                                        title="Filtered")).read_text(encoding="utf-8")
    assert "auditor_7" in text and "analyst_123" in html.unescape(text)


@pytest.mark.parametrize("suffix", [".html", ".pdf"])
def test_report_of_logs_analysed_with_pandas(workdir, suffix):
    """Logs retrieved, analysed in a pandas DataFrame (timestamps parsed,
    rows filtered) and turned back into records are reported: the fields an
    event does not have (NaN in the frame) are not shown as values."""
    import re

    _doc_logs()

    @audit_function(operation_name="model_training_example", log_dir="audit_logs")
    def train_model(data, model_type="random_forest", **params):
        return {"model": f"{model_type}_model", "accuracy": 0.92}

    train_model(sample_data(), model_type="gradient_boosting")
    df = pd.DataFrame(get_audit_logs(log_dir="audit_logs"))
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    records = df[df["event_type"] != "operation_start"].to_dict("records")
    # NaN where an event has no such field
    assert any(isinstance(r["duration_ms"], float) and pd.isna(r["duration_ms"]) for r in records)
    assert any(isinstance(r.get("num_records"), float) and pd.isna(r["num_records"]) for r in records)
    out = ReportGenerator().generate_audit_report(logs=records, output_file="analysed" + suffix,
                                                  title="Analysed")
    if suffix == ".pdf":
        import pypdf

        text = "".join(p.extract_text() for p in pypdf.PdfReader(out).pages)
        assert f"Entries ({len(records)})" in text
    else:
        text = html.unescape(Path(out).read_text(encoding="utf-8"))
        assert text.count("<tr><td>") == len(records)
    assert "analyst_123" in text and "gradient_boosting" in text
    assert not re.search(r"\bnan\b", text, flags=re.I)


def test_report_title_and_values_with_unicode_and_markup(workdir):
    audit = AuditTrail(operation_name="opération", log_dir="audit_logs")
    audit.log_data_access(dataset_name="données <clients> & co", user="анализ")
    audit.close()
    logs = get_audit_logs(log_dir="audit_logs")
    p = ReportGenerator().generate_audit_report(logs=logs, output_file="u.html",
                                                title="Rapport d'audit <2024> & ✓")
    text = Path(p).read_text(encoding="utf-8")
    assert "<2024>" not in text
    plain = html.unescape(text)
    assert "Rapport d'audit <2024> & ✓" in plain
    assert "données <clients> & co" in plain and "анализ" in plain and "opération" in plain


def test_report_output_in_a_directory_that_does_not_exist_yet(workdir):
    logs = _doc_logs()
    p = ReportGenerator().generate_audit_report(logs=logs, output_file="reports/2024/audit_report.html")
    assert Path(p).is_file()


# --- Integration with Other Features ----------------------------------------------


def test_compliance_auditor_without_log_dir_creates_no_trail(workdir):
    """log_dir "enables automatic audit trail creation": without it, none."""
    report = ComplianceAuditor(regulation="GDPR").audit_dataset(dataset=sample_data(),
                                                                dataset_name="customer_records")
    assert report is not None
    assert list(workdir.iterdir()) == []


def test_compliance_auditor_positional_and_repeated(workdir):
    auditor = ComplianceAuditor("GDPR", "audit_logs")
    auditor.audit_dataset(sample_data(), "customer_records")
    auditor.audit_dataset(sample_data(), "customer_records_2")
    logs = get_audit_logs(log_dir="audit_logs")
    runs = {log["operation_id"] for log in logs}
    assert len(runs) == 2
    names = {log.get("dataset_name") for log in logs if log["event_type"] == "data_access"}
    assert names == {"customer_records", "customer_records_2"}
    all_valid()


@pytest.mark.parametrize("regulation", ["GDPR", "CCPA", "HIPAA"])
def test_compliance_auditor_records_its_regulation(workdir, regulation):
    report = ComplianceAuditor(regulation=regulation, log_dir="audit_logs").audit_dataset(
        dataset=sample_data(), dataset_name="customer_records")
    assert report is not None
    logs = get_audit_logs(log_dir="audit_logs")
    assert logs and all(log["regulations"] == [regulation] for log in logs)
    checks = [log for log in logs if log["event_type"] == "compliance_check"]
    assert checks and all(log["regulation"] == regulation for log in checks)


def test_whole_document_twice_in_one_directory(workdir, capsys):
    """The document run as one script, then run again: the second run
    continues the same logs, and everything still verifies."""
    def script():
        data = sample_data()
        audit = AuditTrail(operation_name="data_preprocessing_example", log_dir="audit_logs",
                           context={"project": "credit_scoring", "environment": "development"},
                           regulations=["GDPR"])
        audit.log_data_access(dataset_name="customer_data", columns_accessed=list(data.columns),
                              num_records=len(data), purpose="data_preparation", user="analyst_123")
        audit.log_data_transformation(transformation_type="anonymization",
                                      input_data="raw_customer_data",
                                      output_data="anonymized_customer_data",
                                      parameters={"method": "k-anonymity", "k": 3,
                                                  "quasi_identifiers": ["age", "income"]})
        audit.close(status="completed", details={"execution_time": 2.5,
                                                 "records_processed": len(data)})

        @audit_function(operation_name="model_training_example", log_dir="audit_logs",
                        regulations=["GDPR", "CCPA"])
        def train_model(data, model_type="random_forest", **params):
            return {"model": f"{model_type}_model", "accuracy": 0.92, "training_time": 35.7}

        train_model(data, model_type="gradient_boosting", n_estimators=100, max_depth=5)
        today = datetime.datetime.now().strftime("%Y-%m-%d")
        all_logs = get_audit_logs(start_time=f"{today}T00:00:00", log_dir="audit_logs")
        ReportGenerator().generate_audit_report(logs=all_logs, output_file="audit_report.html",
                                                title="SecureML Operations Audit Report",
                                                include_charts=True)
        ComplianceAuditor(regulation='GDPR', log_dir='audit_logs').audit_dataset(
            dataset=data, dataset_name='customer_records')
        return all_logs

    first = script()
    second = script()
    assert second[: len(first)] == first
    pre = [log for log in second if log["operation_name"] == "data_preprocessing_example"]
    assert len(pre) == 8 and len({log["operation_id"] for log in pre}) == 2
    all_valid()
    assert "NOT VALID" not in Path("audit_report.html").read_text(encoding="utf-8")
