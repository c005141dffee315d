"""Defects found by the outside reviews of stop 42, each test failing before its fix."""

import subprocess
import sys

import pytest

import evident


def _log(path, **kw):
    with evident.AuditLog(path, **kw) as a:
        a.log("tool_operation", "extract", source="sensing-data",
              details={"parameters": {"project": "Winter"}})


def test_reproduce_of_a_keyed_log_without_its_key_notes_it(tmp_path):
    key = bytes(range(32))
    log = tmp_path / "k.jsonl"
    _log(log, key=key)
    info = evident.reproduce(log, tmp_path / "r.sh")
    assert info["unverified"] == []
    assert len(info["unchecked"]) == 1 and "its hashes were not checked" in info["unchecked"][0]
    assert (tmp_path / "r.sh").read_text().splitlines()[1].startswith("# Reproduction script")
    # with a wrong key: a failure
    with pytest.warns(UserWarning, match="wrong_key"):
        info = evident.reproduce(log, tmp_path / "w.sh", key=bytes(32))
    assert len(info["unverified"]) == 1


def test_reproduce_from_an_edited_report_next_to_its_log_warns(tmp_path):
    log = tmp_path / "a.jsonl"
    _log(log)
    files = evident.report(log, tmp_path / "rep")
    md = [p for p in map(str, files) if p.endswith(".md")][0]
    text = open(md, encoding="utf-8").read()
    assert '"project":"Winter"' in text
    open(md, "w", encoding="utf-8").write(text.replace('"project":"Winter"', '"project":"EVIL"'))
    with pytest.warns(UserWarning, match="the report was edited"):
        info = evident.reproduce([log, tmp_path / "rep"], tmp_path / "r.sh")
    assert len(info["unverified"]) == 1 and "EVIL" not in (tmp_path / "r.sh").read_text()
    # the report alone: read as it is (nothing to compare it with)
    info = evident.reproduce(tmp_path / "rep", tmp_path / "alone.sh")
    assert info["unverified"] == [] and info["unchecked"] == []


def test_rtgs_cli_reproduce_exits_1_when_a_log_does_not_verify(tmp_path, monkeypatch):
    from evident.compat import rtgs
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    rtgs.record_operation("sensing-data", "extract", parameters={"project": "Winter"})
    store = rtgs.log_path()
    store.write_text(store.read_text().replace("Winter", "Summer"))
    r = subprocess.run([sys.executable, "-m", "evident.compat.rtgs", "reproduce", "--recent",
                        "--minutes", "60", "--output-file", "r.sh"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "did not verify" in r.stderr
    assert "# WARNING" in (tmp_path / "r.sh").read_text()


# --- TraceKit (seeds 000, 001) ------------------------------------------------

import evident.compat.tracekit as tk  # noqa: E402

KEY = b"k" * 32


def test_tracekit_measurement_shape_is_fixed_fields_then_metadata(tmp_path):
    # docs/python-session.md: {value, unit, trace_name, timestamp, **metadata}
    s = tk.Session()
    s.record_measurement("m", 1.0, "V", timestamp="custom-ts", method="fft")
    for sess in (s, tk.load_session(s.save(tmp_path / "m.tks"))):
        d = sess.get_measurements()["m"]
        assert list(d) == ["value", "unit", "trace_name", "timestamp", "method"]
        assert d["timestamp"] == "custom-ts" and d["method"] == "fft"


def test_tracekit_trail_with_a_log_refuses_details_it_would_change(tmp_path):
    p = tmp_path / "t.jsonl"
    with tk.AuditTrail(KEY, path=p) as a:
        a.record_action("x", {"a": 1})
        for bad in (None, "str", [1, 2]):
            with pytest.raises(evident.InvalidArgumentError, match="details"):
                a.record_action("x", bad)
        assert len(a.get_entries()) == 1 and a.verify_integrity()
    # in memory, TraceKit's trail takes them (json.dumps does)
    m = tk.AuditTrail(KEY)
    m.record_action("x", None)
    assert m.verify_integrity()


def test_tracekit_trail_reopened_with_another_algorithm_is_refused(tmp_path):
    p = tmp_path / "t.jsonl"
    with tk.AuditTrail(KEY, path=p) as a:
        a.record_action("x", {"a": 1})
    with pytest.raises(evident.InvalidArgumentError, match="sha256"):
        tk.AuditTrail(KEY, hash_algorithm="sha512", path=p)
    with tk.AuditTrail(KEY, path=p) as a:  # the same again: fine
        assert len(a.get_entries()) == 1 and a.verify_integrity()


def test_tracekit_patching_socket_names_the_host():
    from unittest import mock
    with mock.patch("evident.compat.tracekit.socket") as s:
        s.gethostname.return_value = "mockhost"
        assert tk.AuditTrail(KEY).record_action("a", {}).host == "mockhost"
    assert tk.AuditTrail(KEY).record_action("a", {}).host != "mockhost"


def test_tracekit_subclass_computing_its_own_hmac_verifies():
    import hashlib
    import hmac as _hmac

    class Mine(tk.AuditTrail):
        def _compute_hmac(self, entry):
            msg = f"{entry.timestamp}|{entry.action}|{entry.previous_hash}".encode()
            return _hmac.new(self._secret_key, msg, hashlib.sha256).hexdigest()

    t = Mine(KEY)
    t.record_action("a", {"x": 1})
    t.record_action("b", {"y": 2})
    assert t.verify_integrity()
    t._entries[0].action = "changed"
    assert not t.verify_integrity()


def test_tracekit_session_takes_its_dataclass_fields(tmp_path):
    np = pytest.importorskip("numpy")
    layer = tk.AnnotationLayer(name="L")
    layer.add(text="a", time=1.0)
    s = tk.Session(
        name="x",
        traces={"T": tk.WaveformTrace(data=np.arange(4.0), sample_rate=10.0)},
        annotation_layers={"L": layer},
        measurements={"m": {"value": 1.5, "unit": "V", "trace_name": "T"}},
        history=tk.OperationHistory([tk.HistoryEntry(operation="op", parameters={"n": 1})]),
        metadata={"project": "P"},
    )
    back = tk.load_session(s.save(tmp_path / "s.tks"))
    assert back.name == "x" and back.list_traces() == ["T"]
    assert list(back.get_trace("T").data) == [0.0, 1.0, 2.0, 3.0]
    assert [a.text for a in back.get_annotations(layer="L")] == ["a"]
    assert back.get_measurements()["m"]["value"] == 1.5
    assert back.get_measurements()["m"]["unit"] == "V"
    assert [e.operation for e in back.history.entries] == ["op"]
    assert back.metadata == {"project": "P"}


def test_tracekit_containers_changed_in_place_are_kept(tmp_path):
    np = pytest.importorskip("numpy")
    s = tk.Session()
    s.annotate("a1", time=1e-6, layer="L")
    s.annotation_layers["L"].annotations.append(tk.Annotation(text="x", time=2e-6))
    s.traces["T"] = tk.WaveformTrace(data=np.zeros(4), sample_rate=1.0)
    s.measurements["m"] = {"value": 1, "unit": "V"}
    s.history.entries.append(tk.HistoryEntry(operation="op", parameters={}))
    P = tk.AnnotationLayer(name="P")
    s.annotation_layers["P"] = P
    P.add(text="b", time=2.0)
    P.locked = True
    back = tk.load_session(s.save(tmp_path / "s.tks"))
    assert [a.text for a in back.get_annotations(layer="L")] == ["a1", "x"]
    assert "T" in back.list_traces() and len(back.get_trace("T")) == 4
    assert back.get_measurements()["m"]["value"] == 1
    assert "op" in [e.operation for e in back.history.entries]
    assert [a.text for a in back.get_annotations(layer="P")] == ["b"]
    assert back.annotation_layers["P"].locked
    del s.traces["T"]
    assert "T" not in s.list_traces()
    # what cannot be written through says so instead of losing the change
    with pytest.raises(evident.UnsupportedError):
        s.annotation_layers["L"].annotations.sort(key=lambda a: a.text)


def test_times_before_year_1000_are_written_with_four_digits(tmp_path):
    # README: ts years 0000-9999; strftime("%Y") gives "999" on glibc
    from datetime import datetime, timezone
    t = datetime(999, 6, 1, 12, 0, 0, 5, tzinfo=timezone.utc)
    with evident.AuditLog(tmp_path / "a.jsonl") as a:
        a.log("E", "a", ts=t)
    e = evident.read_entries(tmp_path / "a.jsonl")[-1]
    assert e.ts == t
    assert e.record()["ts"] == "0999-06-01T12:00:00.000005Z"
    assert tk.format_timestamp(t) == "0999-06-01T12:00:00.000005Z"


def test_tracekit_in_memory_trail_copies_and_pickles(tmp_path):
    import copy
    import pickle
    t = tk.AuditTrail(KEY)
    t.record_action("a", {"x": 1})
    for other in (copy.deepcopy(t), pickle.loads(pickle.dumps(t))):
        assert other.verify_integrity() and len(other.get_entries()) == 1
        other.record_action("b", {})
        assert other.verify_integrity() and len(t.get_entries()) == 1
    with tk.AuditTrail(KEY, path=tmp_path / "t.jsonl") as logged:
        with pytest.raises(TypeError, match="log"):
            pickle.dumps(logged)


def test_rtgs_recent_refuses_a_negative_limit(tmp_path, monkeypatch):
    from evident.compat import rtgs
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "store"))
    rtgs.record_operation("sensing-data", "extract", parameters={"project": "Winter"})
    with pytest.raises(ValueError, match="limit"):
        rtgs.recent_logs(limit=-1)
    assert len(rtgs.recent_logs(limit=0)) == 0 and len(rtgs.recent_logs(limit=None)) == 1
    r = subprocess.run([sys.executable, "-m", "evident.compat.rtgs", "recent", "--limit", "-1"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "limit" in r.stderr


def test_a_reversed_time_range_names_the_annotation():
    s = tk.Session()
    with pytest.raises(evident.InvalidArgumentError, match='annotation "e"'):
        s.annotate("e", time_range=(5e-6, 1e-6))


def test_tracekit_containers_copy_and_pickle_as_plain_ones():
    import copy
    import pickle
    s = tk.Session()
    s.record_measurement("m", 1.0, "V")
    s.history.record("op")
    s.annotate("a", time=1.0, layer="L")
    lay = s.annotation_layers["L"]
    for c in (s.measurements, s.history.entries, lay.annotations, s.traces):
        for other in (copy.copy(c), copy.deepcopy(c), pickle.loads(pickle.dumps(c))):
            assert other == c and type(other) in (dict, list)
    assert len(s.measurement_records()) == 1 and len(s.history) == 1 and len(lay) == 1


def test_tracekit_in_place_operators_write_through_or_refuse():
    s = tk.Session()
    lay = s.set_layer("L")
    lay.annotations += [tk.Annotation(text="a", time=1.0)]
    s.history.entries += [tk.HistoryEntry(operation="op")]
    m = s.measurements
    m |= {"x": {"value": 2, "unit": "V"}}
    s.measurements |= {"y": 3}
    assert [a.text for a in lay.annotations] == ["a"]
    assert [e.operation for e in s.history.entries] == ["op"]
    assert s.measurements["x"]["value"] == 2 and s.measurements["y"]["value"] == 3
    s.measurements["q"] = {"value": 1, "name": "n", "timestamp": "t"}
    assert s.measurements["q"]["timestamp"] == "t"
    with pytest.raises(KeyError):
        tk.Session("b").traces.popitem()


def test_tracekit_sessions_built_from_another_session_copy_it():
    s1 = tk.Session("one")
    s1.history.record("op1")
    layer = s1.set_layer("X")
    layer.add(text="first", time=1.0)
    s2 = tk.Session("two", history=s1.history, annotation_layers={"X": layer})
    s1.history.record("op2")
    layer.add(text="second", time=2.0)
    assert [e.operation for e in s1.history.entries] == ["op1", "op2"]
    assert [e.operation for e in s2.history.entries] == ["op1"]
    assert [a.text for a in s1.get_annotations(layer="X")] == ["first", "second"]
    assert [a.text for a in s2.get_annotations(layer="X")] == ["first"]


def test_tracekit_patched_compute_hmac_is_used_by_verify():
    from unittest import mock
    t = tk.AuditTrail(KEY)
    t.record_action("a", {"x": 1})
    with mock.patch.object(t, "_compute_hmac", return_value="bad"):
        assert not t.verify_integrity()
    with mock.patch.object(tk.AuditTrail, "_compute_hmac", return_value="bad"):
        assert not t.verify_integrity()
    assert t.verify_integrity()


def test_measurement_as_tracekit_keeps_a_timestamp_given():
    m = evident.Measurement("x", 1, "V", None, {"timestamp": "t"})
    assert m.as_tracekit()["timestamp"] == "t"
    assert "timestamp" not in evident.Measurement("x", 1, "V").as_tracekit()


def test_rtgs_recent_refuses_a_negative_fraction(tmp_path, monkeypatch):
    from evident.compat import rtgs
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "store"))
    with pytest.raises(ValueError, match="limit"):
        rtgs.recent_logs(limit=-0.5)


def test_an_expected_head_in_upper_case_is_the_same_hash(tmp_path):
    # spec § 9.6: X is compared as a hash (the CLI took upper case, C did not)
    p = tmp_path / "a.jsonl"
    with evident.AuditLog(p) as a:
        h = a.log("E", "a")
    assert evident.verify(p, expected_head=(h.seq, h.hash.upper())).valid
