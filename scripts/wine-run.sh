#!/usr/bin/env bash
# wine-run.sh PROGRAM.exe ARGS...: runs a Windows program under Wine
# ($EVIDENT_WINE, default Debian's /usr/lib/wine/wine64) with its exit
# status; once more when Wine itself failed, never when the program did.
#
# Wine's server exits a few seconds after its last client; a program
# starting in that moment loses its connection ("wine client error:0:
# recvmsg: Connection reset by peer", exit status 1, nothing of the
# program run): one CI run failed so. That message comes from Wine's
# client code, not from the program, and only then is the run repeated.
set -uo pipefail
wine=${EVIDENT_WINE:-/usr/lib/wine/wine64}
err=$(mktemp)
trap 'rm -f "$err"' EXIT
for attempt in 1 2 3; do
  "$wine" "$@" 2>"$err"
  rc=$?
  cat "$err" >&2
  if [ "$rc" -ne 0 ] && grep -q '^wine client error:' "$err"; then
    echo "wine-run.sh: Wine lost its server connection (attempt $attempt); running $1 again" >&2
    sleep 1
    continue
  fi
  exit "$rc"
done
exit "$rc"
