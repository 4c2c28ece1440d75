#!/usr/bin/env bash
# Installs what netspec needs to build and test, when it is missing (Debian 12).
# usage: scripts/deps.sh [cross|fuzz]
#   cross  also what scripts/cross-check.sh needs: the aarch64 cross compiler and the arm64
#          libraries netspec links (dpkg multiarch), qemu-user-static, musl and clang; and
#          what fuzz needs (CI runs both)
#   fuzz   also clang with libFuzzer and its OpenMP (scripts/fuzz.sh)
set -euo pipefail
packages=(build-essential autoconf automake pkg-config libyaml-dev libstb-dev
          libcunit1-dev zlib1g-dev dataset-fashion-mnist strace)
# tests/test_schema checks the JSON Schema against netspec with a JSON Schema validator.
packages+=(python3-jsonschema python3-yaml)
fuzz_packages=(clang-14 clang libclang-rt-14-dev libomp-14-dev)
cross=no
case ${1:-} in
    "") ;;
    cross) cross=yes
           packages+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static musl-tools clang
                      libyaml-dev:arm64 zlib1g-dev:arm64 libstb-dev:arm64 "${fuzz_packages[@]}") ;;
    fuzz) packages+=("${fuzz_packages[@]}") ;;
    *) echo "usage: scripts/deps.sh [cross|fuzz]" >&2; exit 2 ;;
esac
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
update=no
if [ $cross = yes ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "netspec: adding the arm64 architecture to dpkg (multiarch) for the cross build" >&2
    $sudo dpkg --add-architecture arm64
    update=yes
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "netspec: installing ${missing[*]}" >&2
    update=yes
fi
if [ $update = yes ]; then
    $sudo apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
