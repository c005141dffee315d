#!/bin/sh
# Builds and runs the clean-room C ABI tests (written from include/evident.h only).
# LIBDIR defaults to this checkout's target/release.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIBDIR=${LIBDIR:-$ROOT/target/release}
OUT=${OUT:-$(mktemp -d /tmp/evident_ct_build.XXXXXX)}
for t in t_log t_session t_abi111; do
  gcc -std=c11 -Wall -Wextra -Werror -g -I "$ROOT/include" "$HERE/$t.c" -o "$OUT/$t" \
      -L "$LIBDIR" -levident -lpthread -lm
done
export EVIDENT_CLI="${EVIDENT_CLI:-$LIBDIR/evident}"
export EVIDENT_OP_VECTORS="$ROOT/spec/vectors/openparallax"
export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"$OUT/t_log"
"$OUT/t_session"
"$OUT/t_abi111"
if command -v valgrind >/dev/null; then
  valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite --show-possibly-lost=no \
      "$OUT/t_log" --quick
  valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite --show-possibly-lost=no \
      "$OUT/t_session"
  valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite --show-possibly-lost=no \
      "$OUT/t_abi111" --quick
fi
rm -rf "$OUT"
echo "c_cleanroom: all passed"
