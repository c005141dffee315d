"""RTGS compat with ``POSTGRES_HOST`` a unix socket's directory (review 48):
the URL is psql's form for one (the host as the ``host=`` parameter,
percent-encoded), and the warning of a failed ship before a read does not
claim an operation was recorded."""

import os
import uuid
import warnings
from pathlib import Path

import pytest

import evident
from evident import EvidentError


@pytest.fixture
def rtgs(tmp_path, monkeypatch):
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "rtgs"))
    for k in list(os.environ):
        if k.startswith("POSTGRES_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    from evident.compat import rtgs as r

    return r


def _env(monkeypatch, host, port, db="rtgs_audit", user="audit_user", pw="p@ss"):
    for k, v in {
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(port),
        "POSTGRES_DB": db,
        "POSTGRES_USER": user,
        "POSTGRES_PASSWORD": pw,
    }.items():
        monkeypatch.setenv(k, v)


def test_a_socket_directory_goes_in_the_host_parameter(rtgs, monkeypatch):
    _env(monkeypatch, "/run/post gres", 55448)
    pg = rtgs._pg_config()
    assert pg["url"] == (
        "postgres://audit_user:p%40ss@/rtgs_audit"
        "?host=%2Frun%2Fpost%20gres&port=55448&connect_timeout=5"
    )
    assert "p%40ss" not in pg["database"] and "host=%2Frun%2Fpost%20gres" in pg["database"]
    # a host name keeps its place in the authority
    _env(monkeypatch, "db.example", 5432)
    assert rtgs._pg_config()["url"].startswith("postgres://audit_user:p%40ss@db.example:5432/")


def test_a_failed_ship_before_a_read_does_not_claim_a_recorded_operation(
    rtgs, monkeypatch, tmp_path
):
    _env(monkeypatch, str(tmp_path / "no-server"), 1)
    tool = f"rtgs-{uuid.uuid4().hex}"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        rtgs.record_operation(tool, "op", parameters={}, duration_seconds=1)
        n = len(w)
        with pytest.raises(EvidentError):
            rtgs.recent_logs(tool_name=tool)
    msgs = [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]
    assert msgs and "not shipped" in msgs[0], msgs
    read = [str(x.message) for x in w[n:] if issubclass(x.category, RuntimeWarning)]
    assert read, msgs
    for m in msgs:
        assert "operation recorded" not in m and "p@ss" not in m, m
        # the socket connection failed as a connection, not at TLS setup
        assert "dns name" not in m and "hostaddr" not in m, m
    assert len(evident.read_entries(rtgs.log_path(), evident.Query(source=tool))) == 1


def test_shipping_over_a_socket(rtgs, monkeypatch):
    # scripts/test.sh's cluster has its socket in EVIDENT_PG_DIR.
    d = os.environ.get("EVIDENT_PG_DIR")
    if not d or not (Path(d) / "port").exists():
        pytest.skip("no PostgreSQL cluster directory (EVIDENT_PG_DIR; scripts/test.sh sets it)")
    port = (Path(d) / "port").read_text().strip()
    _env(monkeypatch, d, port, db="postgres", user="postgres", pw="")
    tool = f"rtgs-{uuid.uuid4().hex}"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rtgs.record_operation(tool, "extract", parameters={"project": "x"}, duration_seconds=1)
        logs = rtgs.recent_logs(tool_name=tool)
    assert [l["operation"] for l in logs] == ["extract"]
    assert rtgs.get_logging_status()["database"].startswith("postgres://postgres@/postgres?host=")
