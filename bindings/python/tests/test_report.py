"""evident.report / evident.report_entries / evident.reproduce (the
library's reports and reproduction scripts through the C ABI)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

import evident


def _log(path: Path) -> Path:
    with evident.AuditLog(path) as log:
        for day, tool, op, ok in [(1, "a", "run", True), (1, "b", "plot", False), (9, "a", "run", True)]:
            log.log("tool_operation", op, source=tool, success=ok, duration_ms=2500.0,
                    details={"parameters": {"n": day, "label": "x y"}},
                    git_commit="c0ffee", ts=datetime(2026, 3, day, 12, tzinfo=timezone.utc))
    return path


def test_markdown_reports_by_day_and_week(tmp_path):
    log = _log(tmp_path / "audit.jsonl")
    files = evident.report(log, tmp_path / "out")
    assert [f.group for f in files] == ["2026-03-01", "2026-03-09"]
    text = Path(files[0]).read_text()
    assert "- Total Operations: 2\n- Successful: 1 (50.0%)\n- Failed: 1 (50.0%)\n" in text
    assert "### 12:00:00 - b plot ❌" in text
    weekly = evident.report([log], tmp_path / "w", by="week", since="2026-03-02T00:00:00Z")
    assert [f.group for f in weekly] == ["2026-W11"]
    assert evident.report(log, tmp_path / "none", source="zzz") == []
    assert not (tmp_path / "none").exists()


def test_html_report_and_entries_report(tmp_path):
    log = _log(tmp_path / "audit.jsonl")
    [f] = evident.report(log, tmp_path / "r.html", format="html", title="T")
    text = Path(f).read_text()
    assert "<title>T</title>" in text and 'id="chart-activity"' in text and "3 entries" in text
    [g] = evident.report_entries(
        [{"ts": datetime(2026, 1, 1, tzinfo=timezone.utc), "event_type": "x", "action": "y"}],
        tmp_path / "e.html", charts=False,
    )
    body = Path(g).read_text()
    assert "<svg" not in body and "not verified" in body
    with pytest.raises(evident.InvalidArgumentError):
        evident.report_entries([{"event_type": "no ts"}], tmp_path / "bad.html")


def test_pdf_report(tmp_path):
    # read back with pypdf and drawn with PDFium (scripts/test.sh installs
    # both: missing is a failure, not a skip)
    import numpy as np
    import pypdfium2 as pdfium
    from pypdf import PdfReader

    log = _log(tmp_path / "audit.jsonl")
    [f] = evident.report(log, tmp_path / "r.pdf", format="pdf", title="Lab 3 (June)")
    assert Path(f) == tmp_path / "r.pdf" and f.group == "all"
    reader = PdfReader(f, strict=True)
    assert reader.metadata.title == "Lab 3 (June)"
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "3 entries" in text and "Entries (3)" in text and "NOT VALID" not in text
    assert "plot" in text and "failed" in text and '"label":"x y"' in text
    # the charts are drawn: the HTML report's colours are on the first page
    doc = pdfium.PdfDocument(str(f))
    try:
        pixels = doc[0].render(scale=1).to_numpy().reshape(-1, 3)
    finally:
        doc.close()
    for name, rgb in {"bars": (0x3F, 0x6F, 0xB5), "activity": (0x5A, 0x9E, 0x6F),
                      "successful": (0x2E, 0x7D, 0x32), "failed": (0xC6, 0x28, 0x28)}.items():
        near = np.abs(pixels.astype(int) - np.array(rgb[::-1])).max(axis=1) <= 2  # BGR
        assert near.sum() > 50, name
    # a directory: audit_report.pdf in it
    [g] = evident.report(log, tmp_path / "out", format="pdf", charts=False)
    assert Path(g) == tmp_path / "out" / "audit_report.pdf"
    assert "By event type" not in "".join(p.extract_text() for p in PdfReader(g).pages)


def test_reproduce(tmp_path):
    log = _log(tmp_path / "audit.jsonl")
    info = evident.reproduce(log, tmp_path / "s.sh", program="tool", skip_failed=True)
    assert info["operation_count"] == 2
    assert (info["start_date"], info["end_date"]) == ("2026-03-01", "2026-03-09")
    text = Path(info["script_path"]).read_text()
    assert 'tool a run \\\n  --label "x y" \\\n  --n "1"' in text and "b plot" not in text
    assert os.access(info["script_path"], os.X_OK)
    with pytest.raises(evident.EvidentIOError):
        evident.reproduce(tmp_path / "missing", tmp_path / "s.sh")


def test_reproduce_python_script_runs(tmp_path):
    log = _log(tmp_path / "audit.jsonl")
    with evident.AuditLog(log) as alog:
        alog.log("tool_operation", "__import__('os').system('false')", source="a")
    out = tmp_path / "replay.py"
    info = evident.reproduce(
        log, out, format="python", module="fakelab", alias="fl", skip_failed=True
    )
    assert info["operation_count"] == 3
    text = out.read_text()
    assert text.startswith('#!/usr/bin/env python3\n"""TraceKit analysis script.\n')
    assert "\nimport fakelab as fl\n" in text
    assert "# 12:00:00 - run\nfl.run(label=\"x y\", n=1)\n" in text
    assert "# (not a Python name)" in text
    (tmp_path / "fakelab.py").write_text(
        "import json\n\ndef __getattr__(name):\n"
        "    def call(**kw):\n"
        "        print(json.dumps([name, kw], sort_keys=True))\n"
        "    return call\n"
    )
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    r = subprocess.run([sys.executable, str(out)], env=env, capture_output=True, text=True,
                       check=True)
    assert r.stdout.splitlines() == [
        '["run", {"label": "x y", "n": 1}]',
        '["run", {"label": "x y", "n": 9}]',
    ]
    default = evident.reproduce(log, out, format="python")
    assert default["operation_count"] == 4
    assert "    import evident.compat.tracekit as tk\n" in out.read_text()
    # bash-only options are refused for Python scripts
    with pytest.raises(evident.InvalidArgumentError):
        evident.reproduce(log, out, format="python", program="rtgs")
    with pytest.raises(evident.InvalidArgumentError):
        evident.reproduce(log, out, format="ruby")
