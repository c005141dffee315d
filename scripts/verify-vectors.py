#!/usr/bin/env python3
"""Runs `evident verify` on every test vector of spec/vectors and checks its
exit status against the vector's `.expect` file and the documented exit
codes: 0 for a valid log, 1 for a log that fails a check, 2 for a file that
is not an evident log. Used by scripts/cross-check.sh to run the Windows CLI
under Wine.

Usage: verify-vectors.py VECTORS_DIR COMMAND...   (COMMAND runs the CLI,
e.g. `wine64 evident.exe`; its arguments follow)
"""
import os
import subprocess
import sys
import tempfile


def parse(path):
    fields = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#") or ": " not in line:
                continue
            k, v = line.split(": ", 1)
            fields[k] = v
    return fields


def main():
    vectors, cmd = sys.argv[1], sys.argv[2:]
    names = sorted(n for n in os.listdir(vectors) if n.endswith(".expect"))
    if not names:
        sys.exit(f"verify-vectors: no .expect files in {vectors}")
    failures, counts = [], {0: 0, 1: 0, 2: 0}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(names):
            e = parse(os.path.join(vectors, name))
            args = cmd + ["verify", os.path.join(vectors, e["log"])]
            if "key" in e:
                key = os.path.join(tmp, f"key{i}")
                with open(key, "w") as f:
                    f.write(e["key"])
                args += ["--key-file", key]
            if "expected-head" in e:
                args += ["--expect-head", e["expected-head"]]
            if "expected-log-id" in e:
                args += ["--expect-log-id", e["expected-log-id"]]
            if e.get("not-a-log") == "yes":
                want = 2
            elif e["expect"] == "valid":
                want = 0
            else:
                want = 1
            r = subprocess.run(args, capture_output=True, text=True, errors="replace")
            problem = None
            if r.returncode != want:
                problem = f"exit status {r.returncode}, expected {want}"
            elif "panicked" in r.stderr:
                problem = "panicked"
            elif want == 0 and "valid" not in r.stdout:
                problem = "no 'valid' in the output"
            elif want == 1 and e["kind"] not in r.stdout + r.stderr:
                problem = f"the violation kind {e['kind']} is not named"
            if problem:
                failures.append(f"{name}: {problem}\n  stdout: {r.stdout.strip()}\n  stderr: {r.stderr.strip()}")
            else:
                counts[want] += 1
    print(f"verify-vectors: {len(names)} vectors: {counts[0]} valid (exit 0), "
          f"{counts[1]} invalid (exit 1), {counts[2]} not a log (exit 2), {len(failures)} failed")
    for f in failures:
        print(f, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
