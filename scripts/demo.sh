#!/usr/bin/env bash
# Installs what is missing, builds netspec and runs the main job: check the default spec,
# train it, evaluate the trained run on the test set, emit the C classifier and compile it.
# usage: scripts/demo.sh [SPEC]   (default specs/fashion_mlp.yaml)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh" release
bin="$top/build/release/netspec"
spec=${1:-$top/specs/fashion_mlp.yaml}
name=$(basename "$spec" .yaml)
run="$top/runs/$name-$(date +%Y%m%d-%H%M%S)"
"$bin" check "$spec"
"$bin" train "$spec" -o "$run"
"$bin" eval "$run"
# The standalone C classifier: weights embedded, no malloc, same answers as the runtime.
"$bin" emit "$run" -o "$run/c" --prefix classifier --main
cc -std=c99 -O2 -ffp-contract=off -o "$run/c/classifier" "$run/c/classifier.c" "$run/c/classifier_main.c" -lm
echo "the run is in $run (metrics.csv, curves.svg, manifest.json, model.nsm)"
echo "the C classifier is $run/c/classifier.[ch]; compiled: $run/c/classifier IMAGE.pgm..."
