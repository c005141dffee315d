"""The public API that seeds 000 and 001 (TraceKit) name, on
``evident.compat.tracekit``: every name they import or call exists, and
every signature they document is accepted as documented (same parameter
names, order, kinds and defaults; the compat module may add keyword-only
parameters and ``**kwargs``).

The ``_doc_*`` stubs below are the documents' signatures, written as the
documents give them (types left out)."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import warnings
from pathlib import Path
from typing import Any, Callable

import pytest

import evident.compat.tracekit as tk

warnings.filterwarnings("ignore", message="AuditTrail secret_key is", category=UserWarning)

# --- the documents' signatures (seed 000's API sections, seed 001's source) ---


def _doc_load_trace(self, path, name=None, **load_kwargs): ...  # type: ignore[no-untyped-def]
def _doc_add_trace(self, name, trace): ...  # type: ignore[no-untyped-def]
def _doc_annotate(self, text, *, time=None, time_range=None, layer="default", **kwargs): ...  # type: ignore[no-untyped-def]
def _doc_record_measurement(self, name, value, unit="", trace_name=None, **metadata): ...  # type: ignore[no-untyped-def]
def _doc_save(self, path=None, *, include_traces=True, compress=True): ...  # type: ignore[no-untyped-def]
def _doc_get_annotations(self, layer=None, time_range=None): ...  # type: ignore[no-untyped-def]
def _doc_load_session(path): ...  # type: ignore[no-untyped-def]
def _doc_audit_trail(secret_key=None, hash_algorithm="sha256"): ...  # type: ignore[no-untyped-def]
def _doc_record_action(self, action, details, user=None): ...  # type: ignore[no-untyped-def]
def _doc_verify_integrity(self): ...  # type: ignore[no-untyped-def]
def _doc_get_entries(self, since=None, action_type=None): ...  # type: ignore[no-untyped-def]
def _doc_export_audit_log(self, path, format="json"): ...  # type: ignore[no-untyped-def]
def _doc_get_global_audit_trail(secret_key=None): ...  # type: ignore[no-untyped-def]
def _doc_record_audit(action, details, user=None): ...  # type: ignore[no-untyped-def]
def _doc_audit_entry(timestamp, action, details, user, host, previous_hash, hmac=""): ...  # type: ignore[no-untyped-def]


DOCUMENTED = [
    (tk.Session.load_trace, _doc_load_trace),
    (tk.Session.add_trace, _doc_add_trace),
    (tk.Session.annotate, _doc_annotate),
    (tk.Session.record_measurement, _doc_record_measurement),
    (tk.Session.save, _doc_save),
    (tk.Session.get_annotations, _doc_get_annotations),
    (tk.load_session, _doc_load_session),
    (tk.AuditTrail, _doc_audit_trail),
    (tk.AuditTrail.record_action, _doc_record_action),
    (tk.AuditTrail.verify_integrity, _doc_verify_integrity),
    (tk.AuditTrail.get_entries, _doc_get_entries),
    (tk.AuditTrail.export_audit_log, _doc_export_audit_log),
    (tk.get_global_audit_trail, _doc_get_global_audit_trail),
    (tk.record_audit, _doc_record_audit),
    (tk.AuditEntry, _doc_audit_entry),
]

P = inspect.Parameter


def _check_signature(ours: Callable[..., Any], doc: Callable[..., Any]) -> None:
    have = inspect.signature(ours).parameters
    want = inspect.signature(doc).parameters
    positional = [n for n, p in want.items() if p.kind == P.POSITIONAL_OR_KEYWORD]
    assert [n for n, p in have.items() if p.kind == P.POSITIONAL_OR_KEYWORD][: len(positional)] == positional
    for n, p in want.items():
        if p.kind == P.VAR_KEYWORD:
            assert any(q.kind == P.VAR_KEYWORD for q in have.values()), f"**{n}"
            continue
        assert n in have, n
        assert have[n].kind == p.kind, (n, have[n].kind, p.kind)
        assert have[n].default == p.default, (n, have[n].default, p.default)
    # nothing more is required than the document requires
    required = {n for n, p in have.items() if p.default is P.empty and p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)}
    assert required <= {n for n, p in want.items() if p.default is P.empty}, required


@pytest.mark.parametrize("ours,doc", DOCUMENTED, ids=lambda x: getattr(x, "__qualname__", str(x)))
def test_documented_signature(ours: Callable[..., Any], doc: Callable[..., Any]) -> None:
    _check_signature(ours, doc)


def test_every_name_the_documents_use_exists_and_is_callable() -> None:
    # `tk.X` in seed 000, `from tracekit(.session|.core.audit) import X` in both
    for name in [
        "Session", "AuditTrail", "WaveformTrace", "load_session", "load_trace",
        "get_global_audit_trail", "record_audit", "frequency", "amplitude", "rise_time",
        "duty_cycle", "thd", "measure_frequency", "measure_rise_time",
        "Annotation", "AnnotationType", "AnnotationLayer", "OperationHistory", "HistoryEntry",
        "AuditEntry",
    ]:
        assert callable(getattr(tk, name)), name
    for name in ["get_trace", "list_traces", "get_measurements", "summary", "history"]:
        assert hasattr(tk.Session, name), name
    for name in ["add", "find_at_time", "find_in_range", "clear"]:
        assert callable(getattr(tk.AnnotationLayer, name)), name
    for name in ["record", "find", "summary", "to_script"]:
        assert callable(getattr(tk.OperationHistory, name)), name
    assert set(tk.__all__) >= {"AuditEntry", "AuditTrail", "get_global_audit_trail", "record_audit"}


def test_class_definitions_have_the_documented_fields(workdir: Path) -> None:
    # AnnotationType (seed 000): the members and their values
    assert issubclass(tk.AnnotationType, enum.Enum)
    assert {m.name: m.value for m in tk.AnnotationType} == {
        "POINT": "point", "RANGE": "range", "VERTICAL": "vertical",
        "HORIZONTAL": "horizontal", "REGION": "region", "TEXT": "text",
    }
    # Annotation, HistoryEntry, AuditEntry: dataclasses with the documented fields
    fields = lambda c: [f.name for f in dataclasses.fields(c)]  # noqa: E731
    assert fields(tk.Annotation)[:11] == [
        "text", "time", "time_range", "amplitude", "amplitude_range", "annotation_type",
        "color", "style", "visible", "created_at", "metadata",
    ]
    assert fields(tk.HistoryEntry) == [
        "operation", "parameters", "result", "timestamp", "duration_ms", "success",
        "error_message", "metadata",
    ]
    assert fields(tk.AuditEntry) == [
        "timestamp", "action", "details", "user", "host", "previous_hash", "hmac",
    ]
    # AuditEntry.to_dict / from_dict (seed 001): asdict and back
    e = tk.AuditEntry("t", "a", {"z": 1, "a": [2]}, "u", "h", "GENESIS", "x")
    assert e.to_dict() == dataclasses.asdict(e) and list(e.to_dict()["details"]) == ["z", "a"]
    assert tk.AuditEntry.from_dict(e.to_dict()) == e
    # AnnotationLayer and OperationHistory attributes
    layer = tk.AnnotationLayer("protocol", color="#FF0000", description="d")
    assert (layer.name, layer.annotations, layer.visible, layer.locked, layer.color, layer.description) == (
        "protocol", [], True, False, "#FF0000", "d",
    )
    h = tk.OperationHistory(max_entries=5)
    assert (h.entries, h.max_entries, h.auto_record) == ([], 5, True)
    # Session attributes
    with tk.Session(name="s") as s:
        assert s.name == "s" and s.traces == {} and isinstance(s.metadata, dict)
        for attr in ("annotation_layers", "measurements", "history", "created_at", "modified_at"):
            assert hasattr(s, attr), attr
    # AuditTrail's documented defaults: a random key, sha256
    a = tk.AuditTrail()
    a.record_action("x", {})
    assert a.verify_integrity() and len(a._entries[0].hmac) == 64
