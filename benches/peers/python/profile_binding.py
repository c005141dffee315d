#!/usr/bin/env python3
"""Where the time of one evident Python append goes (CPU, no fsync).

Times each step of ``AuditLog.log()`` on its own with timeit (the library's
in-memory buffered mode, so the engine writes about once per 64 KiB), next
to the raw ctypes calls that the binding makes, and the same for
ogentic-audit. Numbers are process CPU µs per call, the best of --repeat
runs (the least disturbed by other load).

Run: python profile_binding.py [--n 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import tempfile
import time
import timeit

import evident
from evident import _native as N
from evident.log import Head, _json_text
from ogentic_audit import KeyHandle, Writer

from bench_peers import (
    ACTION,
    ACTOR,
    DETAILS,
    DETAILS_JSON,
    EVENT,
    EVENT_JSON,
    KEY,
    SESSION,
    now_ts,
    og_record,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="evident-prof-")
    log = evident.AuditLog(os.path.join(root, "p.jsonl"), key=KEY, durability="buffered")
    lib = N.lib
    ptr = log._acquire()
    log._release()

    ev = N.evident_event()
    ev.event_type, ev.action, ev.actor = EVENT.encode(), ACTION.encode(), ACTOR.encode()
    ev.session_id, ev.details_json = SESSION.encode(), DETAILS_JSON.encode()
    head = N.evident_head()
    head_ref = ctypes.byref(head)
    ev_ref = ctypes.byref(ev)
    raw_json = EVENT_JSON.encode()
    append = lib.evident_log_append
    append_json = lib.evident_log_append_json

    def build_struct() -> None:
        e = N.evident_event()
        e.event_type = N.text(EVENT, "event_type")
        e.action = N.text(ACTION, "action")
        e.actor = N.text(ACTOR, "actor")
        e.host = N.text(None, "host")
        e.session_id = N.text(SESSION, "session_id")
        e.source = N.text("", "source")
        e.error = N.text(None, "error")
        e.note = N.text(None, "note")
        e.git_commit = N.text(None, "git_commit")
        e.details_json = N.text(DETAILS_JSON, "details")
        e.otr = False

    fields = (EVENT, ACTION, ACTOR, None, SESSION, "", None, None, None)
    og = Writer.open(os.path.join(root, "og"), key=KeyHandle.from_bytes(KEY))
    rec = og_record()
    w_append = og.append

    # Prototypes of the suggested binding changes (not the package's code):
    # one cached encoder instead of json.dumps(**kwargs) per call (which
    # builds a new JSONEncoder each time), a small str -> bytes cache for the
    # fields that repeat from entry to entry, only the set fields stored, no
    # Condition round trip, the head's seq only.
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    enc_cache: dict = {}

    def cached(value: str) -> bytes:
        b = enc_cache.get(value)
        if b is None:
            if "\x00" in value:
                raise ValueError("NUL")
            b = enc_cache[value] = value.encode("utf-8", "surrogatepass")
        return b

    def lean_log(event_type, action, *, actor=None, session_id="", details=None):
        e = N.evident_event()
        e.event_type = cached(event_type)
        e.action = cached(action)
        if actor is not None:
            e.actor = cached(actor)
        e.session_id = cached(session_id)
        if details is not None:
            e.details_json = encoder.encode(details).encode("utf-8", "surrogatepass")
        h = N.evident_head()
        status = append(ptr, ctypes.byref(e), ctypes.byref(h))
        if status:
            N.raise_status(status)
        return h.seq

    steps = [
        (
            "evident: AuditLog.log(..., details=dict) (whole call)",
            lambda: log.log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS),
        ),
        (
            "evident: AuditLog.log(..., details=str) (whole call)",
            lambda: log.log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS_JSON),
        ),
        ("evident: AuditLog.append_json(str) (whole call)", lambda: log.append_json(EVENT_JSON)),
        (
            "  raw ctypes evident_log_append(prebuilt struct) = engine + ctypes",
            lambda: append(ptr, ev_ref, head_ref),
        ),
        (
            "  raw ctypes evident_log_append_json(prebuilt bytes)",
            lambda: append_json(ptr, raw_json, head_ref),
        ),
        ("  json.dumps(details) via _json_text", lambda: _json_text(DETAILS, "details")),
        (
            "  prototype: cached JSONEncoder.encode(details).encode()",
            lambda: encoder.encode(DETAILS).encode(),
        ),
        (
            "  NUL check any(...) over 9 fields",
            lambda: any(isinstance(f, str) and "\x00" in f for f in fields),
        ),
        ("  evident_event() + 10 N.text() + field stores", build_struct),
        (
            "  ctypes.byref(ev) + byref(head) + evident_head()",
            lambda: (N.evident_head(), ctypes.byref(ev), ctypes.byref(head)),
        ),
        (
            "  _acquire() + _release() (Condition lock, notify_all)",
            lambda: (log._acquire(), log._release()),
        ),
        ("  Head(*head_tuple(head))", lambda: Head(*N.head_tuple(head))),
        (
            "prototype: lean log(..., details=dict) (cached encoder/bytes, no Condition)",
            lambda: lean_log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS),
        ),
        (
            "ogentic: w.append(og_record()) (whole call incl. record + ts)",
            lambda: w_append(og_record()),
        ),
        ("  og_record() (dict + ts_wall string)", og_record),
        ("  now_ts()", now_ts),
        ("ogentic: w.append(prebuilt record)", lambda: w_append(rec)),
    ]

    print(f"{'step':<72} µs/call")
    for name, fn in steps:
        timer = timeit.Timer(fn, timer=time.process_time)
        best = min(timer.repeat(number=a.n, repeat=a.repeat)) / a.n * 1e6
        print(f"{name:<72} {best:6.2f}")
    log.close()
    og.close()
    for dirpath, _, files in os.walk(root, topdown=False):
        for f in files:
            os.unlink(os.path.join(dirpath, f))
        os.rmdir(dirpath)


if __name__ == "__main__":
    main()
