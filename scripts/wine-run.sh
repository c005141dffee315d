#!/usr/bin/env bash
# wine-run.sh PROGRAM.exe ARGS...: runs a Windows program under Wine
# ($EVIDENT_WINE, default Debian's /usr/lib/wine/wine64) with its exit
# status; once more when Wine itself failed, never when the program did.
#
# Two failures of Wine's, not of the program, are run again:
# - Wine's server exits a few seconds after its last client; a program
#   starting in that moment loses its connection ("wine client error:0:
#   recvmsg: Connection reset by peer", exit status 1, nothing of the
#   program run): one CI run failed so.
# - Starting a child process now and then fails inside Wine with
#   ERROR_INTERNAL_ERROR (a test's spawn returns `Os { code: 1359, ...
#   "Internal error." }`, or assert_cmd reports "Internal error. (os error
#   1359)"); the same test binary then passes (seen once in 45 CLI tests
#   that start about 300 processes, 5 reruns passed; twice in one run on a
#   machine loaded with other builds).
# - The Wine loader itself killed by SIGSEGV (exit status 139, bash's
#   "Segmentation fault" of wine64) after the program had printed its
#   whole, correct output: seen once in 129 runs of evident.exe verify on
#   a machine loaded with other builds.
# These come from Wine, and only then is the run repeated.
set -uo pipefail
wine=${EVIDENT_WINE:-/usr/lib/wine/wine64}
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
for attempt in 1 2 3; do
  "$wine" "$@" >"$out" 2>"$err"
  rc=$?
  cat "$out"
  cat "$err" >&2
  if [ "$rc" -ne 0 ] && grep -q '^wine client error:' "$err"; then
    echo "wine-run.sh: Wine lost its server connection (attempt $attempt); running $1 again" >&2
    sleep 1
    continue
  fi
  if [ "$rc" -eq 139 ]; then
    echo "wine-run.sh: Wine itself crashed (SIGSEGV, attempt $attempt); running $1 again" >&2
    sleep 1
    continue
  fi
  if [ "$rc" -ne 0 ] && grep -qE 'code: 1359, kind: Uncategorized, message: "Internal error."|Internal error\. \(os error 1359\)' "$out" "$err"; then
    echo "wine-run.sh: Wine failed to start a process (ERROR_INTERNAL_ERROR, attempt $attempt); running $1 again" >&2
    sleep 1
    continue
  fi
  exit "$rc"
done
exit "$rc"
