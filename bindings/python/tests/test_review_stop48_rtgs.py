"""Defects of the report paths of the RTGS and SecureML compat modules found
by the outside review of stop 48, each test failing before its fix."""

import os
import re
import subprocess
import sys
import warnings

import pytest


@pytest.fixture
def rtgs(tmp_path, monkeypatch):
    from evident.compat import rtgs

    for k in ("HOST", "PORT", "DB", "USER", "PASSWORD"):
        monkeypatch.delenv("POSTGRES_" + k, raising=False)
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    return rtgs


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "evident.compat.rtgs", *args],
        capture_output=True, text=True, cwd=cwd, env=dict(os.environ),
    )


def _ops(rtgs, n=3):
    for i in range(n):
        rtgs.record_operation(
            "sensing-data", f"extract{i}",
            parameters={"project": "Winter Turf - v3" if i == 0 else f"p{i}"},
            duration_seconds=1.0, timestamp=f"2023-06-15T1{i}:30:22.123Z",
        )


def _text(html_path):
    t = open(html_path, encoding="utf-8").read()
    t = re.sub(r"<svg.*?</svg>", "", t, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", t))


# --- A. SecureML: dicts edited between reading and reporting --------------------


def test_secureml_report_flags_edited_and_invented_entries(tmp_path):
    from evident.compat.secureml import AuditTrail, ReportGenerator, get_audit_logs

    t = AuditTrail(operation_name="op", log_dir=str(tmp_path))
    t.log_data_access(dataset_name="customers", num_records=102, user="alice")
    t.close()
    logs = get_audit_logs(log_dir=str(tmp_path))

    # as read: nothing flagged
    ok = ReportGenerator().generate_audit_report(logs=logs, output_file=str(tmp_path / "ok.html"))
    txt = _text(ok)
    assert "NOT VALID" not in txt
    assert "customers" in txt and "alice" in txt

    for log in logs:
        if log["event_type"] == "data_access":
            log["num_records"] = 999999
            log["user"] = "mallory"
            log["dataset_name"] = "nothing_to_see"
    logs.append(dict(logs[0], event_type="user_consent", seq=99, hash="ab" * 32, granted=True))
    out = ReportGenerator().generate_audit_report(
        logs=logs, output_file=str(tmp_path / "forged.html")
    )
    txt = _text(out)
    # shown as given (a user's columns are shown), the edited one named
    assert "NOT VALID" in txt
    assert "1 entry given differs from the log" in txt
    assert "1 entry given is in no log given" in txt and "(seq 99)" in txt

    # a column added while analysing is not an edit
    logs = get_audit_logs(log_dir=str(tmp_path))
    added = [dict(log, reviewed_by="auditor_7") for log in logs]
    out = ReportGenerator().generate_audit_report(logs=added, output_file=str(tmp_path / "a.html"))
    txt = _text(out)
    assert "auditor_7" in txt and "NOT VALID" not in txt


# --- B. a torn tail -------------------------------------------------------------


def _tear(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - 100)


def test_reproduce_from_a_log_with_a_torn_tail_warns(rtgs, tmp_path):
    _ops(rtgs)
    _tear(rtgs.log_path())
    with pytest.warns(UserWarning):
        info = rtgs.create_reproduction_script(
            logs_dir=str(tmp_path / "store"), output_file="r.sh"
        )
    assert info["unverified"] and "torn_tail" in info["unverified"][0]
    assert open("r.sh").read().splitlines()[1].startswith("# WARNING")
    r = _cli("reproduce", "--logs-dir", str(tmp_path / "store"), "--output-file", "r2.sh",
             cwd=tmp_path)
    assert r.returncode == 1, r


# --- C. a report of a log that does not verify ------------------------------------


def _tamper(rtgs):
    p = rtgs.log_path()
    text = open(p, encoding="utf-8").read()
    open(p, "w", encoding="utf-8").write(text.replace("Winter Turf - v3", "Winter Turf - EVIL"))


def test_report_of_a_tampered_log_warns_and_reproduce_from_it_is_unverified(rtgs, tmp_path):
    _ops(rtgs)
    _tamper(rtgs)
    with pytest.warns(UserWarning, match="NOT VALID"):
        files = rtgs.generate_report("2023-06-01", "2023-06-30", output_dir="audit_reports")
    assert files  # written all the same
    r = _cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30",
             "--output-dir", "audit_reports2", cwd=tmp_path)
    assert r.returncode == 1 and "NOT VALID" in r.stderr, r
    assert os.listdir(tmp_path / "audit_reports2")

    with pytest.warns(UserWarning):
        info = rtgs.create_reproduction_script(logs_dir="./audit_reports", output_file="again.sh")
    assert info["unverified"], info
    assert "WARNING" in open("again.sh").read().splitlines()[1]
    r = _cli("reproduce", "--logs-dir", "./audit_reports", "--output-file", "again2.sh",
             cwd=tmp_path)
    assert r.returncode == 1, r


def test_report_of_an_intact_log_does_not_warn(rtgs, tmp_path):
    _ops(rtgs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        files = rtgs.generate_report("2023-06-01", "2023-06-30", output_dir="audit_reports")
        info = rtgs.create_reproduction_script(logs_dir="./audit_reports", output_file="a.sh")
    assert files and not info["unverified"]
    r = _cli("report", "--start-date", "2023-06-01", "--end-date", "2023-06-30",
             "--output-dir", "r2", cwd=tmp_path)
    assert r.returncode == 0 and not r.stderr, r


# --- E. an end date at the end of the calendar ------------------------------------


def test_end_date_9999_12_31_is_the_end_of_the_range(rtgs, tmp_path):
    rtgs.record_operation("t", "o", duration_seconds=1, timestamp="2023-06-15T10:00:00Z")
    logs = rtgs.AuditService().get_audit_logs("2023-06-01", "9999-12-31")
    assert [r["operation"] for r in logs] == ["o"]
    files = rtgs.generate_report("2023-06-01", "9999-12-31", output_dir="rep")
    assert len(files) == 1
    r = _cli("report", "--start-date", "2023-06-01", "--end-date", "9999-12-31",
             "--output-dir", "rep2", cwd=tmp_path)
    assert r.returncode == 0, r


# --- F. line breaks and parameter names ------------------------------------------


def test_markdown_line_breaks_and_odd_parameter_names(rtgs, tmp_path):
    from evident.errors import EvidentError

    rtgs.record_operation(
        "t", "o",
        parameters={"nl": "line1\nline2", "sp": "line1 line2", "cr": "a\rb", "--": "x"},
        duration_seconds=1, timestamp="2023-06-15T10:00:00Z",
    )
    (f,) = rtgs.generate_report("2023-06-15", "2023-06-15", output_dir="rep")
    md = open(f, encoding="utf-8").read()
    assert "- **Nl**: line1\\u{a}line2" in md
    assert "- **Sp**: line1 line2" in md
    assert "- **Cr**: a\\u{d}b" in md
    assert "****" not in md
    rtgs.record_operation("t", "o2", parameters={"project=evil": "c"}, duration_seconds=1,
                          timestamp="2023-06-15T11:00:00Z")
    with pytest.raises(EvidentError, match="="):
        rtgs.create_reproduction_script(logs_dir="store", output_file="s.sh")


# --- G. RTGS readers: a tampered log read silently -----------------------------


def test_rtgs_readers_refuse_a_log_that_does_not_verify(rtgs, tmp_path):
    from evident.errors import CorruptLogError

    _ops(rtgs)
    assert len(rtgs.recent_logs()) == 3  # intact: read as before
    assert len(rtgs.AuditService().get_audit_logs()) == 3
    path = rtgs.log_path()
    text = path.read_text()
    path.write_text(text.replace("Winter Turf - v3", "Winter Turf - v4", 1))
    with pytest.raises(CorruptLogError, match="does not verify: hash_mismatch"):
        rtgs.recent_logs()
    with pytest.raises(CorruptLogError, match=str(path)):
        rtgs.AuditService().get_audit_logs()
    r = _cli("recent", cwd=tmp_path)
    assert r.returncode != 0 and "does not verify" in r.stdout + r.stderr, r
    assert "Winter Turf - v4" not in r.stdout
