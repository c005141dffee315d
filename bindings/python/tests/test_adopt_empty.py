"""An existing empty file (made by ``tempfile`` or ``touch`` before the log
is opened) is refused by default and becomes a new log when asked
(``adopt_empty=True``); the OpenParallax compatibility module asks, as
OpenParallax's ``AuditLogger`` "creates or opens" the file at its path."""

import os
import stat
import tempfile

import pytest

import evident
from evident.compat import openparallax as op


def test_default_refuses_an_empty_file_and_leaves_it(tmp_path):
    path = tmp_path / "a.jsonl"
    path.touch()
    with pytest.raises(evident.errors.MalformedLogError, match="file is empty"):
        evident.AuditLog(path)
    assert path.stat().st_size == 0


@pytest.mark.parametrize("name", ["a.jsonl", "a.evl"])
def test_adopt_empty_makes_a_log_of_a_mkstemp_file(tmp_path, name):
    fd, raw = tempfile.mkstemp(dir=tmp_path, suffix=name)
    os.close(fd)
    mode = stat.S_IMODE(os.stat(raw).st_mode)
    with evident.AuditLog(raw, adopt_empty=True) as log:
        log.log("T", "one", details={"i": 1})
        log.log("T", "two", details={"i": 2})
    assert stat.S_IMODE(os.stat(raw).st_mode) == mode
    report = evident.verify(raw)
    assert report.valid and report.entries == 2
    # Opened again (with or without the option) it is continued.
    with evident.AuditLog(raw, adopt_empty=True) as log:
        assert log.log("T", "three").seq == 3
    assert [e.action for e in evident.read_entries(raw)] == ["one", "two", "three"]
    assert not [n for n in os.listdir(tmp_path) if "creating" in n]


def test_adopt_empty_never_replaces_a_file_with_content(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_bytes(b'{"not": "a log"}\n')
    with pytest.raises(evident.errors.MalformedLogError):
        evident.AuditLog(path, adopt_empty=True)
    assert path.read_bytes() == b'{"not": "a log"}\n'


def test_openparallax_logger_opens_a_named_temporary_file():
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as f:
        path = f.name
    try:
        with op.AuditLogger(path) as logger:
            logger.log(event_type=op.EventType.ACTION_PROPOSED, action_type="run_command",
                       session_id="sess-001", details={"command": "ls -la"})
        result = op.verify_integrity(path)
        assert result.valid and result.entries >= 1
        entries = op.read_entries(path)
        assert [e.action_type for e in entries] == ["run_command"]
        assert entries[0].event_type == op.EventType.ACTION_PROPOSED
    finally:
        for p in (path, path + ".lock"):
            if os.path.exists(p):
                os.unlink(p)


def test_rtgs_store_made_empty_beforehand_is_read_as_empty_and_then_written(tmp_path, monkeypatch):
    from evident.compat import rtgs

    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path))
    rtgs.log_path().parent.mkdir(parents=True, exist_ok=True)
    rtgs.log_path().touch()
    assert rtgs.recent_logs() == []
    assert rtgs.generate_report("2020-01-01", "2099-12-31", output_dir=str(tmp_path / "r")) == []
    with rtgs.log_custom_operation("sensing-data", "get_data", {"project": "p"}) as op:
        op.add_result("rows", 3)
    logs = rtgs.recent_logs()
    assert [(r["tool_name"], r["operation"]) for r in logs] == [("sensing-data", "get_data")]
    assert evident.verify(rtgs.log_path()).valid


def test_session_save_into_an_empty_file_only_when_asked(tmp_path):
    fd, raw = tempfile.mkstemp(dir=tmp_path, suffix=".evs")
    os.close(fd)
    s = evident.Session(name="s")
    s.record_measurement("m", 1.5)
    with pytest.raises(evident.errors.EvidentError):
        s.save(raw)
    assert os.path.getsize(raw) == 0
    assert s.save(raw, adopt_empty=True) == evident.Session.load(raw).path
    assert evident.Session.load(raw).get_measurements()["m"]["value"] == 1.5
    other = tmp_path / "other.evs"
    other.write_bytes(b"not a session")
    with pytest.raises(evident.errors.EvidentError):
        evident.Session(name="t").save(other, adopt_empty=True)
    assert other.read_bytes() == b"not a session"
