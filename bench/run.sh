#!/usr/bin/env bash
# Benchmarks, kept out of the test suite. Each prints netspec beside its reference, measured in
# the same run on this machine. Check that nothing else is busy first (ps), and repeat.
#   bench/run.sh gemm [THREADS] [--json] [--isa NAME]
#                                    SGEMM GFLOP/s: netspec vs OpenBLAS on the reference CNN's
#                                    GEMMs (needs libopenblas-dev; default 1 thread; --json: one
#                                    object per shape; OPENBLAS_CORETYPE=... picks OpenBLAS's kernel)
#   bench/run.sh train [THREADS]     training images/s and GFLOP/s: netspec vs PyTorch on the
#                                    same models, one epoch of Fashion-MNIST (needs python3-torch)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-gemm}
threads=${2:-$(nproc)}
"$top/scripts/build.sh" release
build="$top/build/release"
case "$what" in
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
train)
    /usr/bin/python3 "$top/bench/bench_train.py" "$build/netspec" "$threads"
    ;;
*)
    echo "usage: bench/run.sh gemm|train [THREADS]" >&2
    exit 2
    ;;
esac
