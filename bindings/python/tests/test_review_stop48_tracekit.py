"""Outside review of 7 December 2026 (second round), TraceKit's AuditTrail.

A trail kept in an evident log (``path=``) with a key shorter than 16
bytes (the seed's own ``b"your-secret-key"`` is 15) made the log a keyless
SHA-256 chain, and rebuilt the TraceKit HMACs from the file when reopened:
anyone could rewrite the file, recompute the plain chain, and
``verify_integrity()`` said True, with the right key, a wrong one or none.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from evident.compat import tracekit as tk
from evident.errors import InvalidArgumentError


@pytest.mark.parametrize("key", [b"your-secret-key", b"key", b"k"])
def test_a_short_key_cannot_keep_a_trail_in_a_log(tmp_path: Path, key: bytes) -> None:
    path = tmp_path / "trail.jsonl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InvalidArgumentError, match="16 bytes") as e:
            tk.AuditTrail(secret_key=key, path=path)
    assert str(path) in str(e.value) and "rewritten" in str(e.value)
    assert not path.exists()  # nothing made
    # In memory, as TraceKit: any key, with a warning.
    with pytest.warns(UserWarning, match=f"{len(key)} bytes"):
        trail = tk.AuditTrail(secret_key=key)
    trail.record_action("x", {"a": 1})
    assert trail.verify_integrity()


def test_a_long_key_keeps_a_keyed_log(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    with tk.AuditTrail(secret_key=b"a-secret-key-of-32-bytes-long!!!", path=path) as t:
        t.record_action("x", {})
        assert t.audit_log.alg == "hmac-sha256"
