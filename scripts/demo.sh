#!/usr/bin/env bash
# Installs what is missing, builds netspec and runs the main job on the default spec.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh" release
bin="$top/build/release/netspec"
spec=${1:-$top/specs/fashion_mlp.yaml}
"$bin" check "$spec"
