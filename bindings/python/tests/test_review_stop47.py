"""Outside review of 7 December 2026: OpenParallax users switching with an
import line, and TraceKit sessions whose sample bytes were damaged."""

import json
from pathlib import Path

import pytest

import evident
from evident.compat import openparallax as op

from test_openparallax_legacy import write_op


def test_migrated_details_read_as_openparallax_read_them(tmp_path):
    p = tmp_path / "audit.jsonl"
    write_op(p, [
        {"event_type": 1, "session_id": "s", "action_type": "a",
         "details_json": '{"z": 18446744073709551617, "a": 1, "f": 1.5}'},
        {"event_type": 4, "session_id": "s", "action_type": "b", "details_json": ""},
        {"event_type": 5, "details_json": "not json"},
    ])
    before = op.read_entries(p)
    with op.AuditLogger(p) as log:
        log.log(op.EventType.ACTION_EXECUTED, "new")
    after = op.read_entries(p)
    assert after[1:] == before
    big = after[-1].details
    assert big == {"z": 18446744073709551617, "a": 1, "f": 1.5}
    assert list(big) == ["z", "a", "f"] and isinstance(big["z"], int)
    assert after[-2].details == {} and after[-3].details == "not json"


def test_read_entries_returns_openparallax_events_only(tmp_path):
    p = tmp_path / "audit.jsonl"
    write_op(p, [{"event_type": n} for n in (1, 2, 3)])
    with op.AuditLogger(p) as log:
        log.log(op.EventType.ACTION_BLOCKED, "x")
    got = op.read_entries(p)
    assert [e.event_type for e in got] == [op.EventType(n) for n in (4, 3, 2, 1)]
    assert [e.event_type.name for e in got][0] == "ACTION_BLOCKED"
    # The limit counts OpenParallax events (the anchor sits between them).
    for limit in (1, 2, 3, 4, 5):
        got = op.read_entries(p, op.Query(limit=limit))
        assert [int(e.event_type) for e in got] == [4, 3, 2, 1][:limit]
    anchor = op.read_entries(p, op.Query(event_type="OPENPARALLAX_IMPORT", limit=1))
    assert len(anchor) == 1 and anchor[0].details["openparallax_import"]["entries"] == 3
    # evident's own readers still show every entry.
    assert [e.event_type for e in evident.read_entries(p)][3] == "OPENPARALLAX_IMPORT"


@pytest.mark.parametrize("compress", [True, False])
def test_damaged_samples_raise_instead_of_loading(tmp_path, compress):
    np = pytest.importorskip("numpy")
    import evident.compat.tracekit as tk

    rng = np.random.default_rng(7)
    data = rng.standard_normal(20_000)  # does not compress: stored as it is
    p = tmp_path / "s.tks"
    s = tk.Session()
    s.add_trace("X", tk.WaveformTrace(data=data, sample_rate=1.0))
    s.add_trace("Y", tk.WaveformTrace(data=np.arange(4.0), sample_rate=1.0))
    s.save(str(p), compress=compress)
    b = bytearray(p.read_bytes())
    # Inside X's samples: their bytes, or X's zstd frame (the first).
    at = bytes(b).find(b"\x28\xb5\x2f\xfd" if compress else data[1000:1008].tobytes())
    assert at > 0
    b[at + 5000] ^= 0x10
    p.write_bytes(bytes(b))
    back = tk.load_session(str(p))
    with pytest.raises(evident.CorruptLogError, match="s.tks") as e:
        np.asarray(back.get_trace("X").data).sum()
    assert "'X'" in str(e.value) or '"X"' in str(e.value)
    # The other trace reads; the file says which trace is damaged.
    assert list(back.get_trace("Y").data) == [0.0, 1.0, 2.0, 3.0]
    assert not evident.verify_session(p).ok


@pytest.fixture(params=["evident", "tracekit"])
def mod(request):
    if request.param == "tracekit":
        import evident.compat.tracekit as tk
        return tk
    return evident


def test_an_annotation_changed_in_place_is_kept(mod, tmp_path):
    """Review, 7 December: changing an annotation read from a session (or
    added to it) was silently lost; TraceKit code does this."""
    s = mod.Session()
    s.annotate("orig", time=1.0, layer="E")
    s.annotate("other", time=2.0, layer="E")
    a = s.annotation_layers["E"].annotations[1]
    a.text, a.visible, a.color = "edited", False, "#FF0000"
    a.metadata = {"by": "me"}
    got = s.get_annotations("E")
    assert [x.text for x in got] == ["orig", "edited"]
    assert (got[1].visible, got[1].color, got[1].metadata) == (False, "#FF0000", {"by": "me"})
    # What add/annotate return writes through too, and so does a field of
    # one read by time.
    b = s.annotation_layers["E"].add(text="added", time=3.0)
    b.time = 4.0
    c = s.annotate("third", time=5.0, layer="F")
    c.style = "dashed"
    # An annotation removed before it: found where it is now.
    assert s.annotation_layers["E"].remove(got[0])
    a.text = "again"
    for x in s.annotation_layers["E"].find_at_time(4.0):
        x.visible = False
    p = tmp_path / "a.evs"
    s.save(p)
    back = mod.load_session(p) if hasattr(mod, "load_session") else evident.load_session(p)
    e = back.get_annotations("E")
    assert [(x.text, x.time, x.visible) for x in e] == [("again", 2.0, False), ("added", 4.0, False)]
    assert back.get_annotations("F")[0].style == "dashed"


def test_an_annotation_change_the_session_refuses_is_undone(tmp_path):
    s = evident.Session()
    a = s.annotate("x", time_range=(1.0, 2.0), layer="L")
    with pytest.raises(evident.InvalidArgumentError):
        a.time_range = (3.0, 1.0)
    assert a.time_range == (1.0, 2.0)
    s.set_layer("L", locked=True)
    with pytest.raises(evident.LayerLockedError):
        a.text = "y"
    assert a.text == "x" and s.get_annotations("L")[0].text == "x"
    # Removed from the session: the change cannot be kept, and says so.
    s.set_layer("L", locked=False)
    s.annotation_layers["L"].clear()
    with pytest.raises(evident.NotFoundError):
        a.text = "z"
    # Copies and free annotations are not bound.
    import copy
    b = copy.copy(s.annotate("w", time=1.0, layer="L"))
    b.text = "copy"
    free = evident.Annotation("free", time=1.0)
    free.text = "still free"
    assert [x.text for x in s.get_annotations("L")] == ["w"]


def test_prove_refuses_a_seq_ctypes_would_wrap(tmp_path):
    """Review, 7 December: prove(log, 2**64 + 3, cp) proved entry 3."""
    from evident import checkpoint as cp

    log = tmp_path / "a.jsonl"
    with evident.AuditLog(log) as a:
        for i in range(5):
            a.log("E", f"a{i}")
    skey, vkey = cp.keygen("example.com/review")
    c = cp.create(log, skey)
    for bad in (2**64 + 3, 2**64, -1, "3", 3.0, None, True):
        with pytest.raises(evident.InvalidArgumentError):
            cp.prove(log, bad, c)
    assert cp.verify_proof(cp.prove(log, 3, c), vkey) == (True, None)


def test_the_logging_handler_keeps_records_a_log_refuses_as_they_are(tmp_path):
    """Review, 7 December: a message holding a lone surrogate (a file name
    from os.listdir) or an extra nested too deep was handed to handleError
    and the audit record lost; it is written with those values as text."""
    import logging

    log_path = tmp_path / "h.jsonl"
    h = evident.AuditHandler(log_path)
    h.raise_errors = True
    lg = logging.getLogger("review47")
    lg.propagate = False
    lg.addHandler(h)
    try:
        lg.warning("deleting %s", "report-\udce9.txt")
        deep: dict = {}
        for _ in range(200):
            deep = {"d": deep}
        lg.warning("deep", extra={"payload": deep, "name_": "x\udc80", "ok": 1})
        lg.warning("plain", extra={"n": 2})
    finally:
        lg.removeHandler(h)
        h.close()
    got = evident.read_entries(log_path)
    assert [e.action for e in got] == ["deleting report-\\udce9.txt", "deep", "plain"]
    d = got[1].details
    assert d["ok"] == 1 and d["name_"] == "x\\udc80" and d["payload"].startswith("{'d': ")
    assert got[2].details["n"] == 2
    assert evident.verify(log_path).valid


def test_log_many_names_the_event_with_a_lone_surrogate(tmp_path):
    with evident.AuditLog(tmp_path / "a.jsonl") as log:
        for evs, which in (([{"event_type": "ok"}, {"event_type": "\udc80"}], "event 1"),
                           ([{"event_type": "ok"}, {"event_type": "x"},
                             {"event_type": "x", "details": {"k": ["\udc80"]}}], "event 2")):
            with pytest.raises(evident.InvalidArgumentError, match=which):
                log.log_many(evs)
        assert log.head().seq == 0


def test_the_handler_still_reports_a_field_of_the_wrong_type(tmp_path):
    import logging

    h = evident.AuditHandler(tmp_path / "t.jsonl", raise_errors=True)
    lg = logging.getLogger("review47b")
    lg.propagate = False
    lg.addHandler(h)
    try:
        with pytest.raises(evident.InvalidArgumentError):  # not an AttributeError of the retry
            lg.warning("x", extra={"event_type": 5})
    finally:
        lg.removeHandler(h)
        h.close()
