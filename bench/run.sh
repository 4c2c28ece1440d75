#!/usr/bin/env bash
# Benchmarks, kept out of the test suite: builds the release tree, then
#   bench/run.sh [all]          `make bench`: every figure beside its reference, measured in one
#                               run, one table printed, JSON in build/release/bench.json
#                               (bench/bench.py; BENCH_QUICK=1 bench/run.sh for a smoke run)
#   bench/run.sh gemm [THREADS] SGEMM GFLOP/s alone: netspec vs OpenBLAS (needs libopenblas-dev)
# A busy machine makes every figure noisy: check `uptime` and `ps` first, and repeat.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
threads=${2:-$(nproc)}
"$top/scripts/build.sh" release
build="$top/build/release"
case "$what" in
all)
    make -C "$build" --no-print-directory bench
    ;;
gemm)
    cc -std=c11 -O2 -fopenmp -D_GNU_SOURCE -I"$top/src" -I"$build" -I/usr/include/x86_64-linux-gnu/openblas-pthread \
        -o "$build/bench_gemm" "$top/bench/bench_gemm.c" "$build/libnetspec.a" "$build"/libkernels_*.a -lopenblas -lm
    OPENBLAS_NUM_THREADS=$threads "$build/bench_gemm" "$threads"
    ;;
*)
    echo "usage: bench/run.sh [all | gemm [THREADS]]" >&2
    exit 2
    ;;
esac
