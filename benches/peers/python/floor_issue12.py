#!/usr/bin/env python3
"""Where the CPU of one Python append goes after issue 12's array path (a
benchmark, not a test): AuditLog.log(details=dict) and log_many(1000)
next to their parts (the C JSON encoder, the library call with prebuilt
bytes, building the heads). Process CPU µs per entry, the best of 7 runs
of 20,000 (the least disturbed by other load). Buffered HMAC-SHA256 log.

Run: python floor_issue12.py   (with the package and library importable,
e.g. PYTHONPATH=bindings/python/src EVIDENT_LIBRARY=target/release/libevident.so)
"""
import ctypes
import os
import shutil
import sys
import tempfile
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evident
from evident import log as L
from bench_peers import ACTION, ACTOR, DETAILS, EVENT, KEY, SESSION
root = tempfile.mkdtemp(prefix="evident-floor-", dir=os.environ.get("TMPDIR"))
log = evident.AuditLog(os.path.join(root, "a.jsonl"), key=KEY, durability="buffered")
ev = {"event_type": EVENT, "action": ACTION, "actor": ACTOR, "session_id": SESSION, "details": DETAILS}
evs = [ev] * 1000
text = L._encode_sorted(dict(ev, source="")); raw = text.encode()
rawa = L._encode_sorted(evs).encode()
heads = (L._HeadStruct * 1000)(); cnt = ctypes.c_size_t(); h = L._HeadStruct()
N_ = 20000; R = range(N_); R2 = range(N_ // 1000)
q = L._q
def best(fn, rep=7):
    b = 1e9
    for _ in range(rep):
        c = time.process_time(); fn(); b = min(b, time.process_time() - c)
    return b / N_ * 1e6
rows = [
 ("log(dict), whole call", lambda: [log.log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS) for _ in R]),
 ("  encode details (sorted C encoder)", lambda: [L._encode_sorted(DETAILS) for _ in R]),
 ("  5 fields escaped + f-string", lambda: [f'{{"event_type":{q(EVENT)},"action":{q(ACTION)},"session_id":{q(SESSION)},"source":{q("")},"actor":{q(ACTOR)}' for _ in R]),
 ("  library call (append_json, prebuilt bytes)", lambda: [L._append_json_raw(log._cptr, raw, L._byref(h)) for _ in R]),
 ("  Head from the struct", lambda: [L._head(h) for _ in R]),
 ("log_many(1000), per entry", lambda: [log.log_many(evs) for _ in R2]),
 ("  encode the list (sorted C encoder)", lambda: [L._encode_sorted(evs) for _ in R2]),
 ("  library call (json_array, prebuilt bytes)", lambda: [L._append_array(log._ptr, rawa, len(rawa), heads, 1000, ctypes.byref(cnt)) for _ in R2]),
 ("  1000 Heads from the array", lambda: [L._heads_of(heads, 1000) for _ in R2]),
]
for k, f in rows:
    print(f"{best(f):6.2f} us  {k}")
log.close()
shutil.rmtree(root, ignore_errors=True)
