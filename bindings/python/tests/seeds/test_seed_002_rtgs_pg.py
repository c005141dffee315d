"""Seed 002 (RTGS Lab Tools) with PostgreSQL configured, as its
"Configuration" section does (POSTGRES_HOST/PORT/DB/USER/PASSWORD, in the
environment or a ``.env`` file), against a real server (EVIDENT_PG_URL;
scripts/test.sh starts a throwaway cluster with scripts/pg-cluster.sh).

Every example test of test_seed_002_rtgs.py runs again here with a fresh
database configured (so every reader goes to the database), followed by
the examples that touch the database itself. Skips loudly without a
server; fails without one under CI=true or EVIDENT_REQUIRE_PG=1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

import evident

from .test_seed_002_rtgs import *  # noqa: F401,F403  (every example, re-run here)
from .test_seed_002_rtgs import run_cli, seed, utc

URL = os.environ.get("EVIDENT_PG_URL", "")
_REQUIRED = os.environ.get("CI") == "true" or os.environ.get("EVIDENT_REQUIRE_PG") == "1"
_WHY = ""
if not URL:
    _WHY = "EVIDENT_PG_URL is not set (no PostgreSQL server)"
elif shutil.which("psql") is None:
    _WHY = "psql (PostgreSQL's client, to create a database per test) is not installed"
if _WHY:
    if _REQUIRED:
        raise RuntimeError(f"PostgreSQL is required (CI=true or EVIDENT_REQUIRE_PG=1): {_WHY}")
    sys.stderr.write(f"\n*** SKIPPED: seed 002 with PostgreSQL: {_WHY} ***\n")
    pytestmark = pytest.mark.skip(reason=_WHY)


def _fresh_db() -> str:
    """A new, empty database on the server (the examples expect an empty
    audit store); its URL."""
    name = f"rtgs_{uuid.uuid4().hex[:16]}"
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", URL, "-c", f"CREATE DATABASE {name}"],
        check=True, capture_output=True, timeout=60,
    )
    u = urlsplit(URL)
    return urlunsplit((u.scheme, u.netloc, "/" + name, u.query, ""))


def _pg_env(url: str) -> dict:
    """The document's configuration keys for `url`."""
    u = urlsplit(url)
    return {
        "POSTGRES_HOST": u.hostname or "localhost",
        "POSTGRES_PORT": str(u.port or 5432),
        "POSTGRES_DB": u.path.lstrip("/"),
        "POSTGRES_USER": u.username or "",
        "POSTGRES_PASSWORD": u.password or "",
    }


@pytest.fixture
def db_url():
    return _fresh_db()


@pytest.fixture
def rtgs(tmp_path, monkeypatch, db_url):
    """As test_seed_002_rtgs's fixture, with PostgreSQL configured in the
    environment (a fresh database per test)."""
    data = tmp_path / "rtgs-data"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(data))
    monkeypatch.chdir(work)
    from evident.compat import rtgs as mod

    for k in list(os.environ):
        if k.startswith("POSTGRES_"):
            monkeypatch.delenv(k)
    for k, v in _pg_env(db_url).items():
        monkeypatch.setenv(k, v)
    assert mod.get_logging_status()["storage"] == "postgresql"
    return mod


# --- the examples that touch the database ---------------------------------------------


def _remote(db_url, tmp_path, tool, op, ts=None, **kw):
    """An operation recorded on another machine (another evident log) and
    shipped to the database: only a reader of the database sees it."""
    other = tmp_path / f"other-{uuid.uuid4().hex}.jsonl"
    with evident.AuditLog(other) as log:
        log.log("tool_operation", op, source=tool, ts=ts, success=kw.pop("success", True),
                details={"operation_id": str(uuid.uuid4()), "git_branch": "main",
                         "parameters": kw.pop("parameters", {}), "results": {}},
                git_commit="feed1234", **kw)
    evident.ship(other, db_url)


def test_configuration_from_dotenv_writes_through_to_the_database(tmp_path, monkeypatch, db_url):
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "rtgs-data"))
    for k in list(os.environ):
        if k.startswith("POSTGRES_"):
            monkeypatch.delenv(k)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    # In .env file (the document's keys, this server's values)
    Path(".env").write_text(
        "# In .env file\n" + "".join(f"{k}={v}\n" for k, v in _pg_env(db_url).items())
    )
    from evident.compat.rtgs import log_custom_operation, get_logging_status

    with log_custom_operation("custom_analysis", "statistical_summary") as logger:
        logger.add_result("mean_temperature", 12.0)
        logger.add_note("Statistical summary of temperature data")

    # Written through to the database (read there directly, not through
    # the compat module), and the same entry as the local evident log's.
    rows = evident.db_query(db_url, evident.Query(source="custom_analysis"))
    assert [(e.action, e.note, e.success) for e in rows] == [
        ("statistical_summary", "Statistical summary of temperature data", True)]
    assert rows[0].details["results"] == {"mean_temperature": 12.0}
    from evident.compat import rtgs
    local = evident.read_entries(rtgs.log_path(), evident.Query(source="custom_analysis"))
    assert [e.hash for e in local] == [e.hash for e in rows]
    (res,) = evident.db_verify(db_url)
    assert res.valid and res.entries == 1
    st = get_logging_status()
    assert st["storage"] == "postgresql" and st["database"].endswith("/" + _pg_env(db_url)["POSTGRES_DB"])


def test_readers_read_the_database(rtgs, db_url, tmp_path, capsys):
    now = datetime.now(timezone.utc)
    with rtgs.log_custom_operation("sensing-data", "extract", parameters={"project": "Local"}):
        pass
    _remote(db_url, tmp_path, "visualization", "create", ts=now - timedelta(minutes=5),
            parameters={"parameter": "Temperature"})
    _remote(db_url, tmp_path, "sensing-data", "extract", ts=utc(2023, 6, 15, 14, 30, 22),
            parameters={"project": "Winter Turf - v3"}, duration_ms=45700.0)
    _remote(db_url, tmp_path, "sensing-data", "extract", ts=utc(2023, 6, 15, 15, 0, 0),
            success=False, error="DatabaseError: timeout")
    from evident.compat.rtgs import recent_logs, generate_report, AuditService

    # recent_logs: the remote operation too, newest first
    logs = recent_logs(limit=20, minutes=60)
    assert [(log["tool_name"], log["parameters"]) for log in logs] == [
        ("sensing-data", {"project": "Local"}), ("visualization", {"parameter": "Temperature"})]
    # AuditService().get_audit_logs
    june = AuditService().get_audit_logs(start_date="2023-06-01", end_date="2023-06-30")
    assert [(log["duration_seconds"], log["success"]) for log in june] == [(45.7, True), (0.0, False)]
    assert june[0]["timestamp"] == utc(2023, 6, 15, 14, 30, 22)
    assert june[1]["error_message"] == "DatabaseError: timeout" and june[1]["git_commit"] == "feed1234"
    # generate_report
    [path] = generate_report("2023-06-01", "2023-06-30", output_dir="./audit_reports")
    text = Path(path).read_text()
    assert Path(path).name == "audit_report_2023-06-15.md"
    assert "- Total Operations: 2\n- Successful: 1 (50.0%)\n- Failed: 1 (50.0%)\n" in text
    assert "### 14:30:22 - sensing-data extract ✅" in text
    assert "### 15:00:00 - sensing-data extract ❌" in text
    # rtgs audit recent (CLI): the same
    r = run_cli("recent", "--minutes", "60")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2 and "sensing-data extract" in lines[0] and "visualization create" in lines[1]


def test_reproduction_scripts_read_the_database(rtgs, db_url, tmp_path):
    now = datetime.now(timezone.utc)
    _remote(db_url, tmp_path, "gridded-data", "download", ts=now - timedelta(minutes=10),
            parameters={"variable": "t2m"})
    _remote(db_url, tmp_path, "gridded-data", "old", ts=now - timedelta(minutes=50))
    with rtgs.log_custom_operation("sensing-data", "extract", parameters={"project": "P 1"}):
        pass
    # rtgs audit reproduce --recent --minutes 30 --output-file recent_work.sh
    r = run_cli("reproduce", "--recent", "--minutes", "30", "--output-file", "recent_work.sh")
    assert r.returncode == 0, r.stderr
    assert "Operations: 2" in r.stdout
    script = Path("recent_work.sh").read_text()
    assert script.index("rtgs gridded-data download") < script.index("rtgs sensing-data extract")
    assert '--variable "t2m"' in script and '--project "P 1"' in script
    assert "gridded-data old" not in script
    assert "git checkout feed1234" in script
    # the library and the evident CLI read the database the same way
    info = evident.reproduce([db_url], "all.sh", program="rtgs")
    assert info["operation_count"] == 3
    cli = os.environ.get("EVIDENT_CLI")
    if cli:
        out = subprocess.run([cli, "reproduce", db_url, "--program", "rtgs", "-o", "cli.sh"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        strip = lambda p: [l for l in Path(p).read_text().splitlines()  # noqa: E731
                           if not l.startswith("# Reproduction script generated on ")]
        assert strip("cli.sh") == strip("all.sh")


def test_postgres_logging_control_commands(rtgs, db_url):
    # rtgs audit postgres-logging-status
    r = run_cli("postgres-logging-status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Logging is enabled (PostgreSQL ")
    assert _pg_env(db_url)["POSTGRES_DB"] in r.stdout
    # rtgs audit disable-postgres-logging: operations still work, nothing
    # reaches the database
    r = run_cli("disable-postgres-logging")
    assert r.returncode == 0 and r.stdout.startswith("Logging is disabled (PostgreSQL ")
    ran = []
    with rtgs.log_custom_operation("t", "while-disabled"):
        ran.append(1)
    assert ran == [1]
    assert evident.db_query(db_url, evident.Query(source="t")) == []
    assert rtgs.recent_logs() == []
    # rtgs audit enable-postgres-logging
    r = run_cli("enable-postgres-logging")
    assert r.returncode == 0 and r.stdout.startswith("Logging is enabled (PostgreSQL ")
    with rtgs.log_custom_operation("t", "while-enabled"):
        pass
    assert [e.action for e in evident.db_query(db_url, evident.Query(source="t"))] == ["while-enabled"]
    # a password never appears in what the commands print
    env = dict(os.environ, POSTGRES_PASSWORD="pw-not-shown-123")
    r = subprocess.run([sys.executable, "-m", "evident.compat.rtgs", "postgres-logging-status"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and "pw-not-shown-123" not in r.stdout + r.stderr
