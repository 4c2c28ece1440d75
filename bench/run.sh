#!/usr/bin/env bash
# Benchmarks, kept out of the test suite: builds the release tree, then
#   bench/run.sh [all]          `make bench`: every figure beside its reference, measured in one
#                               run, one table printed, JSON in build/release/bench.json
#                               (bench/bench.py; BENCH_QUICK=1 bench/run.sh for a smoke run)
#   bench/run.sh gemm [THREADS] [--json] [--isa NAME]
#                               SGEMM GFLOP/s alone: netspec vs OpenBLAS (needs libopenblas-dev;
#                               1 thread by default; OPENBLAS_CORETYPE=... picks its kernel)
#   bench/run.sh sklearn [--json]
#                               test accuracy and RMSE beside scikit-learn on the data sets
#                               python3-sklearn ships (bench/sklearn_compare.py)
# A busy machine makes every figure noisy: check `uptime` and `ps` first, and repeat.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
"$top/scripts/build.sh" release
build="$top/build/release"
case "$what" in
all)
    make -C "$build" --no-print-directory bench
    ;;
gemm)
    # bench/run.sh gemm [THREADS] [bench_gemm options: --isa NAME --samples N --json]
    shift
    gemm_threads=1
    if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then gemm_threads=$1; shift; fi
    cc -std=c11 -O2 -fopenmp -I"$top/src" -I"$build" -I/usr/include/x86_64-linux-gnu/openblas-pthread \
        -o "$build/bench_gemm" "$top/bench/bench_gemm.c" "$build/libnetspec.a" \
        $(ls "$build"/libkernels_*.a 2>/dev/null) -lopenblas -lm
    OPENBLAS_NUM_THREADS=$gemm_threads "$build/bench_gemm" --threads "$gemm_threads" "$@"
    ;;
sklearn)
    shift
    /usr/bin/python3 "$top/bench/sklearn_compare.py" --netspec "$build/netspec" "$@"
    ;;
*)
    echo "usage: bench/run.sh [all | gemm [THREADS] | sklearn [--json]]" >&2
    exit 2
    ;;
esac
