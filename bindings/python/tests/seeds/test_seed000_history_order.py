"""Seed 000 (TraceKit): an operation's parameters keep the order they were
given in (a dict's insertion order), through the library, a save and a
load, ``to_dict()``, ``to_script()`` and the session's JSON (issue 11)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from .captures import pwm, write_wfm

import evident.compat.tracekit as tk
from conftest import cli_path


def test_tracking_operations_example_keeps_the_parameter_order() -> None:
    # --- the document's example ("Example - Tracking Operations") ---
    from evident.compat.tracekit import OperationHistory

    history = OperationHistory(max_entries=100)
    history.record(
        "load_trace", parameters={"path": "capture.wfm"}, result="Loaded successfully", duration_ms=45.3
    )
    history.record(
        "measure_frequency", parameters={"trace": "CH1"}, result="1000000.0 Hz", duration_ms=2.1
    )
    history.record(
        "apply_filter",
        parameters={"type": "lowpass", "cutoff": 1e6},
        success=False,
        error_message="Cutoff frequency too high",
    )
    # --- end ---

    e = history.entries[2]
    assert list(e.parameters) == ["type", "cutoff"]
    assert list(e.to_dict()["parameters"]) == ["type", "cutoff"]
    assert [list(x.parameters) for x in history.find(operation="apply_filter")] == [["type", "cutoff"]]
    assert e.to_code() == "tk.apply_filter(type='lowpass', cutoff=1000000.0)"
    assert "# FAILED: tk.apply_filter(type=\"lowpass\", cutoff=1000000.0): Cutoff" in history.to_script()


def test_order_survives_save_and_load(workdir: Path) -> None:
    s = tk.Session(name="order")
    s.history.record("something", parameters={"b": 1, "a": 2, "c": {"z": 1, "y": 2}})
    s.history.record("sorted_already", parameters={"a": 1, "b": 2})
    s.history.record("filter", parameters={"type": "lowpass", "cutoff": 1e6, "order": 4})
    s.save("order.tks")

    t = tk.load_session("order.tks")
    params = [list(e.parameters) for e in t.history.entries]
    assert params == [["b", "a", "c"], ["a", "b"], ["type", "cutoff", "order"]]
    script = t.history.to_script()
    assert "tk.something(b=1, a=2, c={" in script
    assert 'tk.filter(type="lowpass", cutoff=1000000.0, order=4)' in script
    assert [list(e["parameters"]) for e in t.to_dict()["history"]] == params
    # the command line's JSON of the session, and its export
    cli = str(cli_path())
    out = subprocess.run([cli, "session", "info", "--json", "order.tks"], capture_output=True,
                         text=True, check=True).stdout
    assert [list(e["parameters"]) for e in json.loads(out)["history"]] == params
    subprocess.run([cli, "session", "export", "order.tks", "--out", "exported"], capture_output=True,
                   text=True, check=True)
    doc = json.loads(Path("exported/session.json").read_text())
    assert [list(e["parameters"]) for e in doc["history"]] == params


def test_load_trace_records_its_keyword_arguments_in_order(workdir: Path) -> None:
    write_wfm(workdir / "signal.wfm", pwm(1e6, 1e9, 2_000, 0.5), 1e9)
    s = tk.Session()
    s.load_trace("signal.wfm", name="CH1", sample_rate=1e9, lazy=False)
    e = s.history.entries[0]
    assert list(e.parameters) == ["path", "name", "sample_rate", "lazy"]
    s.save("s.tks")
    assert list(tk.load_session("s.tks").history.entries[0].parameters) == list(e.parameters)


@pytest.mark.parametrize("params", [{"b": 1, "a": 2}, {"z": None, "_": [1], "m": {"k": 1}}])
def test_entry_json_order_is_the_callers(params: dict) -> None:
    h = tk.OperationHistory()
    h.record("op", parameters=params)
    assert list(h.entries[0].parameters) == list(params)
    assert h.entries[0].parameters == params
