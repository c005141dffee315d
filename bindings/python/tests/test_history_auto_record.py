"""``OperationHistory.auto_record`` lives in the session and is saved with it
(it was a Python attribute, lost on save and load)."""

from __future__ import annotations

import evident
import evident.compat.tracekit as tk


def test_auto_record_is_saved_and_loaded(tmp_path):
    path = tmp_path / "s.tks"
    s = evident.Session(name="a")
    assert s.history.auto_record is True
    s.history.auto_record = False
    assert s.history.auto_record is False
    assert s.info()["history_auto_record"] is False
    s.save(path)
    back = evident.load_session(path)
    assert back.history.auto_record is False
    back.history.auto_record = True
    back.save()
    assert evident.load_session(path).history.auto_record is True


def test_tracekit_session_keeps_auto_record_off_across_save(tmp_path):
    csv = tmp_path / "scope.csv"
    csv.write_text("time,voltage\n" + "".join(f"{i * 1e-3},{(i % 7) * 0.5}\n" for i in range(64)))
    path = tmp_path / "s.tks"
    s = tk.Session(name="a")
    s.history.auto_record = False
    s.load_trace(str(csv))
    assert len(s.history) == 0
    s.save(str(path))
    back = tk.load_session(str(path))
    assert back.history.auto_record is False
    back.load_trace(str(csv), name="again")
    assert len(back.history) == 0


def test_standalone_history_keeps_its_flag():
    h = evident.OperationHistory(max_entries=3, auto_record=False)
    assert h.auto_record is False and h.max_entries == 3
    h.auto_record = 1
    assert h.auto_record is True
