#!/usr/bin/env bash
# Configures and builds netspec out of tree in build/NAME (default build/release).
# usage: scripts/build.sh [NAME [configure options...]]   (NAME fuzz alone: the libFuzzer build)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
name=${1:-release}
shift || true
# The fuzz build (scripts/fuzz.sh): clang, libFuzzer's coverage and ASan+UBSan in the library.
[ "$name" = fuzz ] && [ $# -eq 0 ] && set -- CC=clang --enable-fuzzing
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] || autoreconf -fi >/dev/null
mkdir -p "build/$name"
cd "build/$name"
if [ ! -f Makefile ] || [ "$top/configure" -nt config.status ]; then
    "$top/configure" --enable-werror "$@" >configure.out || { cat configure.out; exit 1; }
fi
make -j"$(nproc)" >make.out 2>&1 || { cat make.out; exit 1; }
