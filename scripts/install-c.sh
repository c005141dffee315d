#!/usr/bin/env bash
# Installs evident for C and C++ users (Linux, GNU toolchain):
#
#   PREFIX/include/evident.h, evident.hpp
#   PREFIX/LIBDIR/libevident.so.MAJOR.MINOR.0  (SONAME libevident.so.MAJOR,
#                                              the C ABI's major version)
#   PREFIX/LIBDIR/libevident.so.MAJOR, libevident.so   (symbolic links)
#   PREFIX/LIBDIR/libevident.a          (exports only evident_* symbols)
#   PREFIX/LIBDIR/pkgconfig/evident.pc
#   PREFIX/LIBDIR/cmake/evident/evidentConfig.cmake, evidentConfigVersion.cmake
#
# Usage: scripts/install-c.sh [--prefix DIR] [--libdir lib] [--no-build]
#        (DESTDIR is honoured for staged installs; the files name PREFIX.)
#
# Both libraries are made from the release static library
# (`cargo build --release --lib`, skipped with --no-build): a partial link
# (`ld -r`) pulls in what the evident_* functions need, `objcopy
# --keep-global-symbols` turns every other symbol (Rust's standard library,
# zstd, ...) local, so an application's own libzstd or Rust code cannot
# clash with them; the shared library is linked from that one object with a
# SONAME.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

prefix=/usr/local
libdir=lib
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --libdir) libdir=$2; shift 2 ;;
    --libdir=*) libdir=${1#*=}; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "install-c.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in /*) ;; *) prefix=$(pwd)/$prefix ;; esac
case "$(uname -s)" in
  Linux) ;;
  *) echo "install-c.sh: only Linux (ELF, GNU ld/objcopy) is supported so far" >&2; exit 2 ;;
esac

target_dir=${CARGO_TARGET_DIR:-$root/target}
if [ "$build" = 1 ]; then
  cargo build --release --lib --locked
fi
static=$target_dir/release/libevident.a
[ -f "$static" ] || { echo "install-c.sh: $static missing (cargo build --release --lib)" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
abi_major=$(sed -n 's/^#define EVIDENT_ABI_VERSION_MAJOR \([0-9]*\).*/\1/p' include/evident.h)
abi_minor=$(sed -n 's/^#define EVIDENT_ABI_VERSION_MINOR \([0-9]*\).*/\1/p' include/evident.h)
soname=libevident.so.$abi_major
realname=libevident.so.$abi_major.$abi_minor.0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The exported functions: abi/symbols.txt (checked against the header and
# the cdylib by tests/c_abi.rs).
grep -v '^#' abi/symbols.txt | grep -o 'evident_[a-z0-9_]*(' | tr -d '(' | sort -u >"$work/symbols"
[ -s "$work/symbols" ] || { echo "install-c.sh: no symbols in abi/symbols.txt" >&2; exit 1; }
undef=()
while read -r s; do undef+=("-u" "$s"); done <"$work/symbols"

# Global symbols defined by an ELF object (readelf, not nm: GNU nm hands
# objects with LLVM bitcode sections to an LTO plugin, which may not read
# the bitcode of a newer Rust).
globals() { readelf -s --wide "$1" | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" {print $8}' | sort -u; }

ld -r "${undef[@]}" -o "$work/evident-all.o" "$static"
# Every symbol but the evident_* functions becomes local; Rust's embedded
# LLVM bitcode (for cross-language LTO, unused here) is dropped.
objcopy --keep-global-symbols="$work/symbols" --remove-section=.llvmbc --remove-section=.llvmcmd \
  "$work/evident-all.o" "$work/evident.o"
missing=$(comm -23 "$work/symbols" <(globals "$work/evident.o"))
[ -z "$missing" ] || { echo "install-c.sh: not in the library: $missing" >&2; exit 1; }
rm -f "$work/libevident.a"
ar rcs "$work/libevident.a" "$work/evident.o"
cc -shared -o "$work/$realname" -Wl,-soname,"$soname" -Wl,-z,relro,-z,now -Wl,--as-needed \
  "$work/evident.o" -lpthread -ldl -lm
strip --strip-unneeded "$work/$realname" "$work/libevident.a"

dest=${DESTDIR:-}$prefix
inc=$dest/include
lib=$dest/$libdir
install -d "$inc" "$lib/pkgconfig" "$lib/cmake/evident"
install -m 644 include/evident.h include/evident.hpp "$inc/"
install -m 755 "$work/$realname" "$lib/$realname"
ln -sf "$realname" "$lib/$soname"
ln -sf "$soname" "$lib/libevident.so"
install -m 644 "$work/libevident.a" "$lib/libevident.a"

cat >"$lib/pkgconfig/evident.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/$libdir
includedir=\${prefix}/include

Name: evident
Description: Tamper-evident, crash-safe append-only audit logs (C ABI $abi_major.$abi_minor)
URL: https://github.com/evident-audit/evident
Version: $version
Libs: -L\${libdir} -levident
Libs.private: -lpthread -ldl -lm
Cflags: -I\${includedir}
EOF

# The CMake package finds everything relative to its own directory, so the
# installed tree may be moved.
up=$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
  "$prefix" "$prefix/$libdir/cmake/evident" 2>/dev/null || echo "../../..")
cat >"$lib/cmake/evident/evidentConfig.cmake" <<EOF
# CMake package of evident (installed by scripts/install-c.sh).
#
#   find_package(evident $version REQUIRED)
#   target_link_libraries(app PRIVATE evident::evident)         # shared
#   target_link_libraries(app PRIVATE evident::evident_static)  # static
#
# evident::evident is the shared library, or the static one when
# EVIDENT_USE_STATIC is ON.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
get_filename_component(_evident_prefix "\${CMAKE_CURRENT_LIST_DIR}/$up" ABSOLUTE)

if(NOT TARGET evident::evident_shared)
  add_library(evident::evident_shared SHARED IMPORTED)
  set_target_properties(evident::evident_shared PROPERTIES
    IMPORTED_LOCATION "\${_evident_prefix}/$libdir/$realname"
    IMPORTED_SONAME "$soname"
    INTERFACE_INCLUDE_DIRECTORIES "\${_evident_prefix}/include")
endif()
if(NOT TARGET evident::evident_static)
  add_library(evident::evident_static STATIC IMPORTED)
  set_target_properties(evident::evident_static PROPERTIES
    IMPORTED_LOCATION "\${_evident_prefix}/$libdir/libevident.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "\${_evident_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;\${CMAKE_DL_LIBS};m")
endif()
if(NOT TARGET evident::evident)
  add_library(evident::evident INTERFACE IMPORTED)
  if(EVIDENT_USE_STATIC)
    set_target_properties(evident::evident PROPERTIES INTERFACE_LINK_LIBRARIES evident::evident_static)
  else()
    set_target_properties(evident::evident PROPERTIES INTERFACE_LINK_LIBRARIES evident::evident_shared)
  endif()
endif()
set(evident_INCLUDE_DIRS "\${_evident_prefix}/include")
set(evident_LIBRARIES evident::evident)
unset(_evident_prefix)
EOF
cat >"$lib/cmake/evident/evidentConfigVersion.cmake" <<EOF
# Same major version (0.x: same minor) and at least the requested version.
set(PACKAGE_VERSION "$version")
if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif("$version" MATCHES "^0\\\\.")
  if(PACKAGE_FIND_VERSION_MAJOR EQUAL 0 AND PACKAGE_FIND_VERSION_MINOR EQUAL "$(echo "$version" | cut -d. -f2)")
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  else()
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  endif()
elseif(PACKAGE_FIND_VERSION_MAJOR EQUAL "$(echo "$version" | cut -d. -f1)")
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
else()
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_EXACT TRUE)
endif()
if(NOT CMAKE_SIZEOF_VOID_P STREQUAL "8")
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
EOF
echo "installed evident $version (C ABI $abi_major.$abi_minor) into $dest"
