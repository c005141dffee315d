"""PostgreSQL from Python (evident.ship, evident.db_query) and the RTGS
compatibility module over PostgreSQL, against a real server
(EVIDENT_PG_URL; scripts/test.sh starts a throwaway cluster). Skips loudly
without one; fails without one under CI=true or EVIDENT_REQUIRE_PG=1."""

import os
import subprocess
import sys
import uuid
import warnings
from urllib.parse import urlsplit

import pytest

import evident
from evident.errors import DatabaseError, RefusedError

URL = os.environ.get("EVIDENT_PG_URL", "")
if not URL:
    if os.environ.get("CI") == "true" or os.environ.get("EVIDENT_REQUIRE_PG") == "1":
        raise RuntimeError("EVIDENT_PG_URL is not set but PostgreSQL is required")
    sys.stderr.write("\n*** SKIPPED: PostgreSQL tests without a server: EVIDENT_PG_URL is not set ***\n")
    pytestmark = pytest.mark.skip(reason="EVIDENT_PG_URL is not set (no PostgreSQL server)")


def _log(path, n, source):
    with evident.AuditLog(path) as log:
        for i in range(n):
            log.log("ACTION_EXECUTED", f"op{i}", source=source, details={"i": i})
        return log.log_id


def test_ship_is_idempotent_and_entries_read_back(tmp_path):
    src = f"tool-{uuid.uuid4().hex}"
    p = tmp_path / "a.jsonl"
    log_id = _log(p, 10, src)
    reps = evident.ship(p, URL)
    assert [(r.log_id, r.shipped, r.head_seq) for r in reps] == [(log_id, 11, 10)]
    again = evident.ship(p, URL)
    assert (again[0].shipped, again[0].already) == (0, 11)
    got = evident.db_query(URL, evident.Query(source=src))
    local = evident.read_entries(p, evident.Query(source=src))
    assert [e.hash for e in got] == [e.hash for e in local]
    assert all(e.record()["log_id"] == log_id for e in got)
    newest = evident.db_query(URL, evident.Query(source=src, newest_first=True, limit=3))
    assert [e.action for e in newest] == ["op9", "op8", "op7"]


def test_db_verify_gives_the_file_verify_result_and_cross_check_counts(tmp_path):
    p = tmp_path / "a.jsonl"
    log_id = _log(p, 12, "dbv")
    evident.ship(p, URL)
    (res,) = evident.db_verify(f"{URL}?log_id={log_id}")
    local = evident.verify(p)
    assert res and res.valid and res.kind is None
    assert (res.log_id, res.entries, res.head) == (log_id, 12, local.head)
    assert any(r.log_id == log_id and r.valid for r in evident.db_verify(URL))
    assert evident.db_cross_check(p, URL) == {
        "log_id": log_id, "same": 13, "first_difference": None, "only_local": 0, "only_db": 0,
    }
    with evident.AuditLog(p) as log:
        log.log("ACTION_EXECUTED", "later")
    cc = evident.db_cross_check(p, URL)
    assert (cc["same"], cc["only_local"]) == (13, 1)
    with pytest.raises(DatabaseError) as e:
        evident.db_verify("postgres://alice:hunter3secret@127.0.0.1:1/db")
    assert "hunter3secret" not in str(e.value)


def test_fork_is_refused_and_url_password_never_shown(tmp_path):
    p = tmp_path / "a.jsonl"
    _log(p, 5, "t")
    evident.ship(p, URL)
    fork = tmp_path / "fork.jsonl"
    lines = p.read_bytes().splitlines(keepends=True)
    fork.write_bytes(b"".join(lines[:4]))
    with evident.AuditLog(fork) as log:
        log.log("ACTION_EXECUTED", "other")
        log.log("ACTION_EXECUTED", "other2")
    with pytest.raises(RefusedError) as e:
        evident.ship(fork, URL)
    assert "fork" in str(e.value)
    with pytest.raises(DatabaseError) as e:
        evident.ship(p, "postgres://alice:hunter2secret@127.0.0.1:1/db", retry_for=0)
    assert "hunter2secret" not in str(e.value)
    assert "127.0.0.1:1/db" in str(e.value)


def _pg_env(url, port=None):
    u = urlsplit(url)
    return {
        "POSTGRES_HOST": u.hostname,
        "POSTGRES_PORT": str(port or u.port or 5432),
        "POSTGRES_DB": u.path.lstrip("/"),
        "POSTGRES_USER": u.username or "",
        "POSTGRES_PASSWORD": u.password or "",
    }


@pytest.fixture
def rtgs(tmp_path, monkeypatch):
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "rtgs"))
    for k in list(os.environ):
        if k.startswith("POSTGRES_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    from evident.compat import rtgs as r

    return r


def test_rtgs_writes_locally_ships_and_reads_from_postgres(rtgs, monkeypatch):
    for k, v in _pg_env(URL).items():
        monkeypatch.setenv(k, v)
    tool = f"rtgs-{uuid.uuid4().hex}"
    with rtgs.log_custom_operation(tool, "calibrate", parameters={"gain": 2}) as op:
        op.add_result("ok", True)
    # In the database (read directly, not through the compat module).
    rows = evident.db_query(URL, evident.Query(source=tool))
    assert [e.action for e in rows] == ["calibrate"]
    # The local log is the source of truth and holds it too.
    local = evident.read_entries(rtgs.log_path(), evident.Query(source=tool))
    assert [e.hash for e in local] == [e.hash for e in rows]
    logs = rtgs.recent_logs(limit=5, tool_name=tool)
    assert [(l["tool_name"], l["operation"], l["parameters"]) for l in logs] == [
        (tool, "calibrate", {"gain": 2})
    ]
    assert rtgs.get_logging_status()["storage"] == "postgresql"


def test_rtgs_reads_only_the_database_when_configured(rtgs, monkeypatch):
    # An entry shipped from another machine's log is seen by recent_logs.
    tool = f"rtgs-{uuid.uuid4().hex}"
    other = rtgs.log_path().parent.parent / "other.jsonl"
    with evident.AuditLog(other) as log:
        log.log(rtgs.EVENT_TYPE, "remote_op", source=tool, details={"operation_id": "x"})
    evident.ship(other, URL)
    assert rtgs.recent_logs(tool_name=tool) == []  # not configured: local log only
    env = _pg_env(URL)
    (rtgs.Path(".env")).write_text(
        "# RTGS settings\n" + "".join(f"{k}={v}\n" for k, v in env.items())
    )
    logs = rtgs.recent_logs(tool_name=tool)
    assert [l["operation"] for l in logs] == ["remote_op"]
    logs = rtgs.AuditService().get_audit_logs(tool_name=tool)
    assert [l["operation"] for l in logs] == ["remote_op"]


def test_rtgs_ship_failure_warns_and_the_next_operation_catches_up(rtgs, monkeypatch):
    env = _pg_env(URL, port=1)
    env["POSTGRES_PASSWORD"] = "topsecret-pw"
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    tool = f"rtgs-{uuid.uuid4().hex}"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with rtgs.log_custom_operation(tool, "first"):
            pass
    msgs = [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]
    assert msgs and "not shipped" in msgs[0], msgs
    assert "topsecret-pw" not in msgs[0]
    assert len(evident.read_entries(rtgs.log_path(), evident.Query(source=tool))) == 1
    for k, v in _pg_env(URL).items():
        monkeypatch.setenv(k, v)
    with rtgs.log_custom_operation(tool, "second"):
        pass
    rows = evident.db_query(URL, evident.Query(source=tool))
    assert [e.action for e in rows] == ["first", "second"]


def test_rtgs_postgres_logging_commands(rtgs, monkeypatch):
    env = dict(os.environ)
    env.update(_pg_env(URL))
    env["POSTGRES_PASSWORD"] = "pw-not-shown"
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    run = lambda cmd: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "evident.compat.rtgs", cmd],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    out = run("disable-postgres-logging")
    assert "disabled" in out and "PostgreSQL" in out and "pw-not-shown" not in out
    assert rtgs.get_logging_status()["enabled"] is False
    out = run("enable-postgres-logging")
    assert "enabled" in out
    out = run("postgres-logging-status")
    assert "Logging is enabled (PostgreSQL" in out


def test_rtgs_reports_read_from_postgres(rtgs, monkeypatch, tmp_path):
    from datetime import datetime, timezone

    tool = f"rtgs-{uuid.uuid4().hex}"
    other = tmp_path / "other.jsonl"
    with evident.AuditLog(other) as log:
        log.log(rtgs.EVENT_TYPE, "remote_op", source=tool, success=True,
                details={"operation_id": "x", "parameters": {}, "results": {}})
    evident.ship(other, URL)
    for k, v in _pg_env(URL).items():
        monkeypatch.setenv(k, v)
    today = datetime.now(timezone.utc).date()
    files = rtgs.generate_report(today, today, tmp_path / "reports", tool_name=tool)
    assert len(files) == 1
    # the report of one tool has the day's name, as RTGS's (seed 002)
    assert os.path.basename(files[0]) == f"audit_report_{today}.md"
    text = open(files[0]).read()
    assert "remote_op" in text and tool in text
