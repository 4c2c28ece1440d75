#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz (build/fuzz: clang, ASan+UBSan, LeakSanitizer)
# and runs them: first a replay of every checked-in input (tests/fuzz/corpus/HARNESS and
# tests/fuzz/regressions/HARNESS, each run once), then, unless --replay, each harness fuzzes
# for SECONDS starting from those inputs and the corpus it grew in earlier runs
# (build/fuzz/fuzz-work/HARNESS/corpus). A crash, leak, timeout or broken contract is saved
# as build/fuzz/fuzz-work/HARNESS/crash-* (or leak-*, timeout-*, oom-*) and fails the run;
# tests/fuzz/README.md says how to turn it into a regression input.
# Every timed run appends "harness seconds executions cpu_seconds" to
# build/fuzz/fuzz-work/stats.tsv, the record tests/fuzz/README.md sums up.
#
# usage: scripts/fuzz.sh [--replay | --seconds N] [--parallel 1|2] [HARNESS...]
#   --replay      only run the checked-in inputs once each (seconds, no fuzzing)
#   --seconds N   fuzz each harness for N seconds (default 60; `make fuzz` passes FUZZ_SECONDS)
#   --parallel P  harnesses at a time (default 1; the machine has few cores to share)
#   HARNESS       fuzz_spec, fuzz_idx, fuzz_image, fuzz_csv, fuzz_model, fuzz_emit_names
#                 (default: all)
# Needs clang with libFuzzer (scripts/deps.sh installs clang-14, libclang-rt-14-dev,
# libomp-14-dev); exits 2 saying so when they are missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
harnesses_all=(fuzz_spec fuzz_idx fuzz_image fuzz_csv fuzz_model fuzz_emit_names)
seconds=60
replay_only=no
parallel=1
harnesses=()
while [ $# -gt 0 ]; do
    case $1 in
        --replay) replay_only=yes ;;
        --seconds) seconds=${2:?--seconds needs a number}; shift ;;
        --parallel) parallel=${2:?--parallel needs 1 or 2}; shift ;;
        fuzz_*) harnesses+=("$1") ;;
        *) echo "usage: scripts/fuzz.sh [--replay | --seconds N] [--parallel 1|2] [HARNESS...]" >&2; exit 2 ;;
    esac
    shift
done
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${harnesses_all[@]}")
case $seconds in ''|*[!0-9]*) echo "fuzz: --seconds needs a whole number, got '$seconds'" >&2; exit 2 ;; esac
case $parallel in 1|2) ;; *) echo "fuzz: --parallel takes 1 or 2, got '$parallel'" >&2; exit 2 ;; esac

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! command -v clang >/dev/null || ! clang -fsanitize=fuzzer,address "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
    echo "################################################################################" >&2
    echo "fuzz: clang with libFuzzer is MISSING: nothing was fuzzed." >&2
    echo "fuzz: install it with scripts/deps.sh (clang-14 libclang-rt-14-dev libomp-14-dev)." >&2
    [ -s "$probe/err" ] && head -n 3 "$probe/err" >&2
    echo "################################################################################" >&2
    exit 2
fi

echo "== fuzz build (build/fuzz: clang, libFuzzer, ASan+UBSan)"
"$top/scripts/build.sh" fuzz
build=$top/build/fuzz
work=$build/fuzz-work
mkdir -p "$work"
# The harnesses write their input files under TMPDIR, rewritten on every execution: on a
# tmpfs (/dev/shm) that costs a third of what it costs on disk, so fuzz_spec runs 3x as fast.
# A crash's files are rebuilt from its saved input, so nothing there needs to outlive the run.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    files=$(mktemp -d /dev/shm/netspec-fuzz.XXXXXX)
else
    files=$(mktemp -d "$work/tmp.XXXXXX")
fi
trap 'rm -rf "$probe" "$files"' EXIT
export TMPDIR=$files
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# OpenMP's idle threads would only add noise beside the other harness.
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive

# Limits per harness. The readers still allocate what some headers declare before checking
# it against the file (tests/fuzz/README.md, "Known"); the harnesses skip such inputs, and
# these limits turn anything they miss into a reported out-of-memory, not a swapping machine.
harness_options() {
    local opts=(-rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=20 -max_len=16384)
    case $1 in
        fuzz_image) opts+=(-max_len=65536) ;;
    esac
    local dict=$top/tests/fuzz/$1.dict
    [ -f "$dict" ] && opts+=("-dict=$dict")
    echo "${opts[@]}"
}

checked_in() {
    local h=$1
    find "$top/tests/fuzz/corpus/$h" "$top/tests/fuzz/regressions/$h" -type f 2>/dev/null | sort
}

status=0
echo "== fuzz replay (every checked-in input once)"
for h in "${harnesses[@]}"; do
    mapfile -t inputs < <(checked_in "$h")
    if [ ${#inputs[@]} -eq 0 ]; then
        echo "fuzz: $h has no checked-in inputs (tests/fuzz/corpus/$h)" >&2
        status=1
        continue
    fi
    log=$work/$h.replay.log
    mkdir -p "$work/$h"
    # shellcheck disable=SC2046
    if nice -n 19 "$build/tests/fuzz/$h" $(harness_options "$h") -artifact_prefix="$work/$h/" \
            "${inputs[@]}" >"$log" 2>&1; then
        echo "  $h: ${#inputs[@]} inputs ok"
    else
        echo "  $h: FAILED replaying its inputs (log: $log)"
        tail -n 40 "$log"
        status=1
    fi
done
[ $replay_only = yes ] && exit $status

fuzz_one() {
    local h=$1 dir=$work/$1
    mkdir -p "$dir/corpus"
    local log=$dir/fuzz.log
    local started=$SECONDS rc=0 times
    local TIMEFORMAT='%U %S'
    # The grown corpus comes first: libFuzzer writes new inputs into the first directory.
    # shellcheck disable=SC2046
    { times=$( { time nice -n 19 "$build/tests/fuzz/$h" $(harness_options "$h") -max_total_time="$seconds" \
        -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus" "$top/tests/fuzz/corpus/$h" \
        $( [ -d "$top/tests/fuzz/regressions/$h" ] && echo "$top/tests/fuzz/regressions/$h" ) \
        >"$log" 2>&1; } 2>&1 ); } || rc=$?
    local execs cpu
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cpu=$(echo "$times" | tail -n 1 | awk '{printf "%.1f", $1 + $2}')
    printf '%s\t%s\t%s\t%s\n' "$h" "$((SECONDS - started))" "${execs:-0}" "$cpu" >>"$work/stats.tsv"
    if [ $rc -eq 0 ]; then
        printf '  %-16s %10s executions in %4ss (%s s CPU)\n' "$h" "${execs:-?}" "$((SECONDS - started))" "$cpu"
    else
        printf '  %-16s FOUND A PROBLEM after %ss (log: %s)\n' "$h" "$((SECONDS - started))" "$log"
        grep -E "^(==[0-9]+==ERROR|SUMMARY|fuzz: contract)|Test unit written to|artifact_prefix" "$log" | head -n 8
        return 1
    fi
}

echo "== fuzz for ${seconds}s per harness ($parallel at a time)"
pids=()
for h in "${harnesses[@]}"; do
    fuzz_one "$h" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$parallel" ]; then
        wait "${pids[0]}" || status=1
        pids=("${pids[@]:1}")
    fi
done
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
[ $status -eq 0 ] || echo "fuzz: problems found; see tests/fuzz/README.md for turning an input into a regression" >&2
exit $status
