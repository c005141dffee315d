"""The HTML reports in headless Chromium: each kind renders with no console
error and no network access, and its charts are drawn (their colours are in
the screenshot). scripts/test.sh installs Chromium and sets
EVIDENT_REQUIRE_BROWSER=1, so there a missing browser is a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import evident

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
if BROWSER is None:
    if os.environ.get("EVIDENT_REQUIRE_BROWSER") == "1":
        raise RuntimeError("EVIDENT_REQUIRE_BROWSER=1 but no chromium is installed")
    pytest.skip("no headless Chromium here (scripts/test.sh installs it)", allow_module_level=True)

BAR = (0x3F, 0x6F, 0xB5)       # by event type / action / actor / tool
ACTIVITY = (0x5A, 0x9E, 0x6F)  # activity over time
SUCCESS = (0x2E, 0x7D, 0x32)
FAILED = (0xC6, 0x28, 0x28)


def _log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    t0 = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
    with evident.AuditLog(path) as log:
        for i in range(40):
            log.log(["data_access", "model_training", "tool_operation"][i % 3],
                    ["extract", "train", "plot", "export"][i % 4],
                    source=["sensing-data", "visualization"][i % 2],
                    actor=["alice", "bob", "carol"][i % 3],
                    success=i % 7 != 0, duration_ms=100.0 * i,
                    details={"i": i, "text": "<b>not markup</b>"},
                    ts=t0 + timedelta(hours=9 * i))
    return path


def _browse(html: Path, tmp_path: Path, name: str) -> "tuple[str, object]":
    common = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--hide-scrollbars", "--window-size=1280,1800",
              "--host-resolver-rules=MAP * ~NOTFOUND",  # no network
              "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / ('profile-' + name)}"]
    url = html.resolve().as_uri()
    png = tmp_path / f"{name}.png"
    r = subprocess.run(common + [f"--screenshot={png}", url], capture_output=True, text=True,
                       timeout=180)
    assert png.is_file(), r.stderr[-2000:]
    console = [line for line in r.stderr.splitlines() if ":CONSOLE(" in line]
    assert console == [], console
    dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True,
                         timeout=180).stdout
    import matplotlib.image as mpimg  # installed by scripts/test.sh (seed examples)

    img = (mpimg.imread(png)[:, :, :3] * 255).round().astype(int)
    return dom, img


def _has(img: object, rgb: "tuple[int, int, int]") -> bool:
    import numpy as np

    return bool((np.abs(img - np.array(rgb)).sum(axis=2) <= 6).any())  # type: ignore[operator]


def test_html_report_renders_with_charts(tmp_path):
    log = _log(tmp_path)
    [html] = evident.report(log, tmp_path / "report.html", format="html", title="Browser check")
    dom, img = _browse(Path(html), tmp_path, "report")
    assert "<title>Browser check</title>" in dom and dom.count("<svg") == 6
    assert "&lt;b&gt;not markup&lt;/b&gt;" in dom
    for colour in (BAR, ACTIVITY, SUCCESS, FAILED):
        assert _has(img, colour), colour
    if os.environ.get("EVIDENT_KEEP_SCREENSHOT"):
        shutil.copy(tmp_path / "report.png", os.environ["EVIDENT_KEEP_SCREENSHOT"])


def test_html_report_without_charts_and_secureml_report(tmp_path, monkeypatch):
    log = _log(tmp_path)
    [html] = evident.report(log, tmp_path / "plain.html", format="html", charts=False)
    dom, img = _browse(Path(html), tmp_path, "plain")
    assert "<svg" not in dom and not _has(img, BAR)

    monkeypatch.chdir(tmp_path)
    from evident.compat.secureml import AuditTrail, ReportGenerator, get_audit_logs

    trail = AuditTrail("op", log_dir="audit_logs", regulations=["GDPR"])
    trail.log_data_access("customers", ["age"], 2, purpose="test", user="analyst_123")
    trail.close()
    out = ReportGenerator().generate_audit_report(get_audit_logs(log_dir="audit_logs"),
                                                  "secureml.html", title="SecureML")
    dom, img = _browse(Path(out), tmp_path, "secureml")
    assert "analyst_123" in dom and dom.count("<svg") == 6
    assert _has(img, BAR) and _has(img, SUCCESS)


HOSTILE = [
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "\" onmouseover=\"alert(3)",
    "javascript:alert(4)",
    "</text><foreignObject><iframe src=javascript:alert(5)></iframe></foreignObject><text>",
    "</style><style>body{background:url(http://evil.example/x)}</style>",
    "</title><script>alert(6)</script>",
]


def test_hostile_fields_are_text_in_the_browser(tmp_path, monkeypatch):
    """Entry fields an attacker chose (a log records what others did):
    nothing runs, nothing is loaded, no element comes from content."""
    path = tmp_path / "audit.jsonl"
    t0 = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
    with evident.AuditLog(path) as log:
        for i, h in enumerate(HOSTILE):
            log.log(f"type {h}", f"act {h}", source=f"tool {h}", actor=f"user {h}",
                    success=i % 2 == 0, error=f"err {h}", details={f"k {h}": f"v {h}"},
                    ts=t0 + timedelta(hours=i))
    [html] = evident.report(path, tmp_path / "hostile.html", format="html", title=HOSTILE[6])
    outs = [Path(html)]
    monkeypatch.chdir(tmp_path)
    from evident.compat.secureml import AuditTrail, ReportGenerator, get_audit_logs

    trail = AuditTrail(HOSTILE[0], log_dir="audit_logs", regulations=["GDPR"])
    trail.log_data_access(HOSTILE[1], [HOSTILE[2]], 2, purpose=HOSTILE[4], user=HOSTILE[5])
    trail.close()
    outs.append(Path(ReportGenerator().generate_audit_report(
        get_audit_logs(log_dir="audit_logs"), "secureml-hostile.html", title=HOSTILE[6])))
    for n, out in enumerate(outs):
        dom, _ = _browse(out, tmp_path, f"hostile{n}")  # asserts no console message
        for tag in ("<script", "<img", "<iframe", "<foreignobject", "<foreignObject"):
            assert tag not in dom, (tag, out)
        assert dom.count("<style") == 1 and dom.split("</head>")[0].count("<title>") == 1
        assert "&lt;img src=x onerror=alert(2)&gt;" in dom
