#!/usr/bin/env bash
# Installs what netspec needs to build and test, when it is missing (Debian 12).
set -euo pipefail
packages=(build-essential autoconf automake pkg-config libyaml-dev libstb-dev
          libcunit1-dev zlib1g-dev dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "netspec: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
