#!/usr/bin/env bash
# The exactness proof across machines, C libraries and compilers (the arithmetic contract in
# src/kernels/kernels.h): netspec is built natively and cross-built for aarch64 (run under
# qemu-aarch64-static), the small CNN of tests/specs/cross_cnn.yaml is trained on a few hundred
# Fashion-MNIST images on both, and the comparisons below must show no difference at all:
#
#   model.nsm            aarch64 training == x86-64 training, byte for byte
#   runtime outputs      the aarch64 runtime == the x86-64 runtime (auto ISA), and the x86-64
#                        runtime with --isa portable / avx2 / avx512 == auto: logits and
#                        probabilities of 2,000 test images, float bits
#   emitted C            `netspec emit` of the x86-64 model, compiled with each compiler below
#                        and run on the same 2,000 images == the x86-64 runtime's float bits
#
# The drivers that print those bits are tests/exact_runtime.c (links libnetspec) and
# tests/exact_emitted.c (compiled with the emitted C); both print tests/exact_io.h's format.
# Prints a table and exits 1 when anything differs (or a tool is missing), naming the first
# difference. Work files are left in build/cross-check. Needs Debian's cross toolchain, qemu,
# musl and clang: scripts/deps.sh cross installs them (this script calls it).
#
# usage: scripts/cross-check.sh [--no-deps]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
start=$SECONDS
[ "${1:-}" = --no-deps ] || scripts/deps.sh cross

work=$top/build/cross-check
native=$top/build/release
cross=$top/build/aarch64
triplet=aarch64-linux-gnu
sysroot=/usr/$triplet
fashion=/usr/share/datasets/fashion-mnist
inputs_count=2000
# Waiting OpenMP threads sleep instead of spinning: the machine may be busy with other work.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# Called directly (binfmt may not be registered). -L gives the cross toolchain's loader; the
# library path keeps its libc, libm and libgomp with it (the multiarch libc6:arm64 that the
# :arm64 dev packages pull in may be another build), the other libraries come from multiarch.
qemu=(qemu-aarch64-static -L "$sysroot" -E "LD_LIBRARY_PATH=$sysroot/lib")

say() { printf '== %s (%ds)\n' "$*" $((SECONDS - start)); }
die() { echo "cross-check: $*" >&2; exit 1; }

# ---- the table ----

rows=()
differences=0
not_run=0
# row NAME RESULT DETAIL: RESULT is same, DIFFERS, or FAILED / MISSING (the comparison could
# not run).
row() {
    rows+=("$1"$'\t'"$2"$'\t'"$3")
    case $2 in
        same) ;;
        DIFFERS) differences=$((differences + 1)) ;;
        *) not_run=$((not_run + 1)) ;;
    esac
    printf '   %-44s %s\n' "$1" "$2"
    [ -z "$3" ] || printf '   %s\n' "$3"
}

print_table() {
    echo
    echo "cross-check summary ($((SECONDS - start)) s)"
    printf '%-46s %-8s %s\n' "comparison" "result" "first difference"
    printf '%-46s %-8s %s\n' "----------" "------" "----------------"
    local r name result detail
    for r in "${rows[@]}"; do
        IFS=$'\t' read -r name result detail <<<"$r"
        printf '%-46s %-8s %s\n' "$name" "$result" "${detail:--}"
    done
}

# ---- data ----

# idx_cut SRC.gz DST COUNT: the first COUNT samples of a (gzip-compressed) IDX file as an
# uncompressed IDX file: the same magic and sample dimensions, COUNT as the first dimension.
idx_cut() {
    local src=$1 dst=$2 count=$3 ndim header i sample=1 out=""
    local -a b new
    # head and tail stop reading early; the writer's SIGPIPE is expected, the size is checked.
    read -ra b <<<"$( (set +o pipefail; gzip -dc "$src" | od -An -tu1 -N 16 -v) | tr '\n' ' ')"
    if [ ${#b[@]} -lt 8 ] || [ "${b[0]}${b[1]}${b[2]}" != 008 ]; then
        die "$src is not an IDX ubyte file"
    fi
    ndim=${b[3]}
    header=$((4 + 4 * ndim))
    for ((i = 1; i < ndim; i++)); do
        sample=$((sample * (b[4 + 4 * i] << 24 | b[5 + 4 * i] << 16 | b[6 + 4 * i] << 8 | b[7 + 4 * i])))
    done
    new=("${b[@]:0:4}" $((count >> 24 & 255)) $((count >> 16 & 255)) $((count >> 8 & 255)) $((count & 255))
         "${b[@]:8:header-8}")
    for i in "${new[@]}"; do out+="\\0$(printf %03o "$i")"; done
    printf '%b' "$out" >"$dst"
    (set +o pipefail; gzip -dc "$src" | tail -c +$((header + 1)) | head -c $((count * sample)) >>"$dst")
    [ "$(stat -c %s "$dst")" -eq $((header + count * sample)) ] || die "$src holds fewer than $count samples"
}

# ---- what differs, in words ----

# u32 / u64 little-endian at a byte offset of a file.
u32_at() { od -An -tu4 -j "$2" -N 4 "$1" | tr -d ' '; }
u64_at() { od -An -tu8 -j "$2" -N 8 "$1" | tr -d ' '; }

# nsm_tensor FILE FLOAT: which tensor of the flat parameter buffer holds float number FLOAT,
# from the META section (u64 seed, u64 floats, u32 count, then per tensor u32 node, u32 index,
# u64 floats, u8 trainable and three u16-length strings: node, op, tensor).
nsm_tensor() {
    local file=$1 want=$2 pos=$((16 + 16 + 16)) count t floats len base=0 node tensor
    count=$(u32_at "$file" $pos)
    pos=$((pos + 4))
    for ((t = 0; t < count; t++)); do
        floats=$(u64_at "$file" $((pos + 8)))
        pos=$((pos + 17))
        len=$(od -An -tu2 -j $pos -N 2 "$file" | tr -d ' ')
        node=$(dd if="$file" bs=1 skip=$((pos + 2)) count="$len" 2>/dev/null)
        pos=$((pos + 2 + len))
        len=$(od -An -tu2 -j $pos -N 2 "$file" | tr -d ' ')
        pos=$((pos + 2 + len))
        len=$(od -An -tu2 -j $pos -N 2 "$file" | tr -d ' ')
        tensor=$(dd if="$file" bs=1 skip=$((pos + 2)) count="$len" 2>/dev/null)
        pos=$((pos + 2 + len))
        if [ "$want" -lt $((base + floats)) ]; then
            echo "${node}.${tensor}[$((want - base))]"
            return
        fi
        base=$((base + floats))
    done
    echo "past the tensors"
}

# nsm_where FILE OFFSET (0-based): sets nsm_where to the model.nsm section holding that byte
# and, in the float sections (WGHT; OPTM's m and v), the float's index; nsm_float_at to that
# float's offset, or -1 (src/train/checkpoint.h has the layout).
nsm_where() {
    local file=$1 at=$2 pos=16 size tag payload off m
    size=$(stat -c %s "$file")
    nsm_where="the trailing CRC"
    nsm_float_at=-1
    while [ $((pos + 16)) -le "$size" ]; do
        tag=$(dd if="$file" bs=1 skip="$pos" count=4 2>/dev/null | tr -c '[:upper:]' '?')
        payload=$(u64_at "$file" $((pos + 8)))
        if [ "$at" -lt $((pos + 16 + payload)) ]; then
            off=$((at - pos - 16))
            nsm_where="section $tag, byte $off of $payload"
            if [ "$off" -lt 0 ]; then
                nsm_where="the header of section $tag"
            elif [ "$tag" = WGHT ]; then
                nsm_where="weights (WGHT) float $((off / 4)) of $((payload / 4)), $(nsm_tensor "$file" $((off / 4)))"
                nsm_float_at=$((pos + 16 + off - off % 4))
            elif [ "$tag" = OPTM ] && [ "$off" -ge 28 ]; then
                # u32 type, u64 steps, u64 m floats, u64 v floats, then m and v
                m=$(u64_at "$file" $((pos + 16 + 12)))
                off=$((off - 28))
                if [ $off -lt $((4 * m)) ]; then
                    nsm_where="optimizer (OPTM) m float $((off / 4)) of $m"
                else
                    nsm_where="optimizer (OPTM) v float $((off / 4 - m)) of $m"
                fi
                nsm_float_at=$((pos + 16 + 28 + off - off % 4))
            fi
            return
        fi
        pos=$((pos + 16 + payload))
    done
}

# compare_nsm NAME REFERENCE OTHER [NOTE]: NOTE is added to a difference's description.
compare_nsm() {
    local name=$1 ref=$2 other=$3 note=${4:-} at diffs where
    if cmp -s "$ref" "$other"; then
        row "$name" same ""
        return
    fi
    if [ "$(stat -c %s "$ref")" != "$(stat -c %s "$other")" ]; then
        row "$name" DIFFERS "sizes $(stat -c %s "$ref") and $(stat -c %s "$other") bytes$note"
        return
    fi
    # "REF OTHER differ: byte N, line M", N counted from 1
    at=$(cmp "$ref" "$other" || true)
    at=${at#*differ: byte }
    at=$((${at%%,*} - 1))
    diffs=$(cmp -l "$ref" "$other" | wc -l || true)
    nsm_where "$ref" "$at"
    where=$nsm_where
    if [ "$nsm_float_at" -ge 0 ]; then
        where="$where: $(printf '%08x' "$(u32_at "$ref" "$nsm_float_at")") vs"
        where="$where $(printf '%08x' "$(u32_at "$other" "$nsm_float_at")")"
    fi
    row "$name" DIFFERS "byte offset $at of $(stat -c %s "$ref") ($where); $diffs bytes differ$note"
}

# compare_outputs NAME REFERENCE OTHER: two exact_io.h outputs, by their float bits and
# classes (the %.9g texts are for people: two C libraries might print them differently).
compare_outputs() {
    local name=$1 ref=$2 other=$3 detail
    if [ ! -s "$other" ]; then
        row "$name" FAILED "no output (see build/cross-check/$(basename "$other").err)"
        return
    fi
    # Pasted: sample kind index bits value | sample kind index bits value; class lines have 3
    # fields each. The last line: the first differing float's two bit patterns, for the ulps.
    detail=$(paste -d ' ' "$ref" "$other" | awk '
        function differ(what) { if (!first) first = what }
        $2 == "class" {
            total["class"]++
            if ($4 != $1 || $5 != "class") { shape = NR; exit }
            if ($3 != $6) { bad["class"]++; differ("sample " $1 " class " $3 " vs " $6) }
            next
        }
        {
            total[$2]++
            if ($1 != $6 || $2 != $7 || $3 != $8) { shape = NR; exit }
            if ($4 != $9) {
                bad[$2]++
                if (!first) bits = $4 " " $9
                differ("sample " $1 " " ($2 == "z" ? "logit " : "probability ") $3 ": " $4 " (" $5 ") vs " $9 " (" $10 ")")
            }
        }
        END {
            if (shape) { print "the outputs do not line up (line " shape ")"; exit }
            if (!first) { print "same"; exit }
            printf "%s; logits differ in %d of %d, probabilities in %d of %d, classes in %d of %d\n",
                first, bad["z"], total["z"], bad["p"], total["p"], bad["class"], total["class"]
            print bits
        }')
    if [ "$detail" = same ]; then
        row "$name" same ""
        return
    fi
    local text bits
    text=$(head -n 1 <<<"$detail")
    bits=$(sed -n 2p <<<"$detail")
    if [ -n "$bits" ]; then
        # The distance in units in the last place, for floats of the same sign.
        local mine=$((16#${bits% *})) theirs=$((16#${bits#* }))
        if [ $((mine >> 31)) -eq $((theirs >> 31)) ]; then
            local d=$((mine - theirs))
            text="${text/; /, ${d#-} ulp apart; }"
        fi
    fi
    row "$name" DIFFERS "$text"
}

# run_to OUT COMMAND...: stdout to OUT, stderr to OUT.err; an empty OUT when it fails.
run_to() {
    local out=$1
    shift
    "$@" >"$out" 2>"$out.err" || { echo "   failed: $* (exit $?); $out.err:" >&2; tail -n 5 "$out.err" >&2; : >"$out"; }
}

have() { command -v "$1" >/dev/null 2>&1; }

# ---- builds ----

say "native build (build/release)"
scripts/build.sh release
make -C "$native" -j2 tests/exact_runtime >/dev/null

missing=()
for tool in "$triplet-gcc" qemu-aarch64-static musl-gcc clang; do
    have "$tool" || missing+=("$tool")
done
[ -d "$sysroot/lib" ] || missing+=("$sysroot (libc6-dev-arm64-cross)")
[ -f /usr/lib/$triplet/pkgconfig/yaml-0.1.pc ] || missing+=("libyaml-dev:arm64")
[ -f /usr/lib/$triplet/pkgconfig/zlib.pc ] || missing+=("zlib1g-dev:arm64")
[ -f /usr/lib/$triplet/pkgconfig/stb.pc ] || missing+=("libstb-dev:arm64")
if [ ${#missing[@]} -gt 0 ]; then
    echo "cross-check: MISSING ${missing[*]}: the proof cannot run (scripts/deps.sh cross installs them)" >&2
    row "tools" MISSING "${missing[*]}"
fi

have_cross=no
if have "$triplet-gcc" && [ -f /usr/lib/$triplet/pkgconfig/yaml-0.1.pc ]; then
    say "aarch64 cross build (build/aarch64: netspec and tests/exact_runtime only)"
    mkdir -p "$cross"
    # Only the binaries are built: CUnit is not needed for the target.
    if [ ! -f "$cross/Makefile" ] || [ configure -nt "$cross/config.status" ]; then
        (cd "$cross" && PKG_CONFIG=pkg-config PKG_CONFIG_PATH="" \
            PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig \
            "$top/configure" --host=$triplet --enable-werror >configure.out 2>&1) ||
            { cat "$cross/configure.out"; die "configure --host=$triplet failed"; }
    fi
    make -C "$cross" -j2 netspec tests/exact_runtime >"$cross/make.out" 2>&1 ||
        { tail -n 40 "$cross/make.out"; die "the aarch64 build failed (build/aarch64/make.out)"; }
    have_cross=yes
fi
have_qemu=no
[ $have_cross = yes ] && have qemu-aarch64-static && have_qemu=yes

# ---- data and training ----

say "data: 512 training, 128 test and $inputs_count input images of Fashion-MNIST"
rm -rf "$work"
mkdir -p "$work"
[ -f "$fashion/train-images-idx3-ubyte.gz" ] || die "no Fashion-MNIST in $fashion (dataset-fashion-mnist)"
idx_cut "$fashion/train-images-idx3-ubyte.gz" "$work/cross-train-images.idx" 512
idx_cut "$fashion/train-labels-idx1-ubyte.gz" "$work/cross-train-labels.idx" 512
idx_cut "$fashion/t10k-images-idx3-ubyte.gz" "$work/cross-test-images.idx" 128
idx_cut "$fashion/t10k-labels-idx1-ubyte.gz" "$work/cross-test-labels.idx" 128
idx_cut "$fashion/t10k-images-idx3-ubyte.gz" "$work/inputs.idx" "$inputs_count"
cp tests/specs/cross_cnn.yaml "$work/"
cd "$work"

# The aarch64 jobs are slow under qemu (about 25x): they run in the background while the
# native side and the x86-64 compilers work.
if [ $have_qemu = yes ]; then
    say "training on aarch64 (qemu, in the background)"
    (status=0
     "${qemu[@]}" "$cross/netspec" train cross_cnn.yaml -o run-aarch64 --threads 1 >train-aarch64.out 2>&1 || status=$?
     echo $status >train-aarch64.status) &
    qemu_train=$!
fi

say "training on x86-64"
"$native/netspec" train cross_cnn.yaml -o run-x86_64 --threads 1 >train-x86_64.out 2>&1 ||
    { cat train-x86_64.out; die "native training failed"; }
run_to ref.txt "$native/tests/exact_runtime" run-x86_64 inputs.idx "$inputs_count"
[ -s ref.txt ] || die "the x86-64 runtime printed nothing: no reference"

if [ $have_qemu = yes ]; then
    say "runtime outputs on aarch64 (qemu, in the background)"
    (run_to runtime-aarch64.txt "${qemu[@]}" "$cross/tests/exact_runtime" run-x86_64 inputs.idx "$inputs_count" --threads 1) &
    qemu_runtime=$!
fi

say "runtime outputs on x86-64 with each ISA"
for isa in portable avx2 avx512; do
    rc=0
    "$native/tests/exact_runtime" run-x86_64 inputs.idx "$inputs_count" --isa $isa >"runtime-$isa.txt" \
        2>"runtime-$isa.txt.err" || rc=$?
    if [ $rc -eq 77 ]; then
        echo "   SKIPPED --isa $isa: this CPU (or build) cannot run it; that kernel path is NOT proven here" >&2
        rows+=("runtime x86-64 --isa $isa == auto"$'\t'"skipped"$'\t'"this CPU or build cannot run $isa")
        continue
    fi
    [ $rc -eq 0 ] || { cat "runtime-$isa.txt.err" >&2; : >"runtime-$isa.txt"; }
    compare_outputs "runtime x86-64 --isa $isa == auto" ref.txt "runtime-$isa.txt"
done

say "emitting the x86-64 model as C"
"$native/netspec" emit run-x86_64 -o emitted --prefix net >emit.out 2>&1 || { cat emit.out; die "emit failed"; }

# emitted_build NAME RUN_PREFIX COMPILER FLAGS...
emitted_build() {
    local name=$1 runner=$2 exe
    shift 2
    exe=emitted-$(tr -c 'a-zA-Z0-9_\n-' '_' <<<"$name" | tr -s _)
    if ! have "$1"; then
        row "emitted C: $name" MISSING "$1 is not installed (scripts/deps.sh cross)"
        return
    fi
    if ! "$@" -I emitted -I "$top/tests" "$top/tests/exact_emitted.c" emitted/net.c -lm -o "$exe" >"$exe.cc.out" 2>&1; then
        row "emitted C: $name" FAILED "does not compile: $(head -n 1 "$exe.cc.out")"
        return
    fi
    # shellcheck disable=SC2086
    run_to "$exe.txt" $runner "./$exe" inputs.idx "$inputs_count"
    compare_outputs "emitted C: $name" ref.txt "$exe.txt"
}

say "emitted C with each compiler"
emitted_build "cc -std=c99 -O2 -ffp-contract=off" "" cc -std=c99 -O2 -ffp-contract=off
emitted_build "gcc -O2 -march=native" "" gcc -O2 -march=native
emitted_build "clang -O2" "" clang -O2
emitted_build "musl-gcc -O2 (static)" "" musl-gcc -O2 -static
if [ $have_qemu = yes ]; then
    emitted_build "$triplet-gcc -O2 (qemu)" "${qemu[*]}" "$triplet-gcc" -O2
else
    row "emitted C: $triplet-gcc -O2 (qemu)" MISSING "no aarch64 build or no qemu-aarch64-static"
fi

if [ $have_qemu = yes ]; then
    say "waiting for the aarch64 jobs"
    wait "$qemu_runtime" || true
    compare_outputs "runtime aarch64 (qemu) == x86-64" ref.txt runtime-aarch64.txt
    wait "$qemu_train" || true
    if [ "$(cat train-aarch64.status 2>/dev/null)" != 0 ] || [ ! -f run-aarch64/model.nsm ]; then
        tail -n 5 train-aarch64.out >&2
        row "model.nsm aarch64 (qemu) == x86-64" FAILED "training on aarch64 failed (build/cross-check/train-aarch64.out)"
    else
        # Where training parted: the first epoch whose losses, accuracies or rate differ.
        parted=$(paste -d, <(cut -d, -f1-6 run-x86_64/metrics.csv) <(cut -d, -f1-6 run-aarch64/metrics.csv) |
            awk -F, 'NR == 1 { split($0, name, ",") }
                     NR > 1 { for (i = 2; i <= 6; i++) if ($i != $(i + 6)) {
                                  print "; metrics.csv first differs at epoch " $1 ", " name[i] " " $i " vs " $(i + 6); exit } }')
        compare_nsm "model.nsm aarch64 (qemu) == x86-64" run-x86_64/model.nsm run-aarch64/model.nsm "$parted"
    fi
else
    row "runtime aarch64 (qemu) == x86-64" MISSING "no aarch64 build or no qemu-aarch64-static"
    row "model.nsm aarch64 (qemu) == x86-64" MISSING "no aarch64 build or no qemu-aarch64-static"
fi

print_table
if [ $differences -gt 0 ]; then
    echo "cross-check: $differences comparison(s) show a difference: the arithmetic contract does not hold (work files in build/cross-check)" >&2
fi
if [ $not_run -gt 0 ]; then
    echo "cross-check: $not_run comparison(s) could not run: nothing is proven for them" >&2
fi
[ $differences -eq 0 ] && [ $not_run -eq 0 ] || exit 1
echo "cross-check: every build gives the same bits"
