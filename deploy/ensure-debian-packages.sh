#!/usr/bin/env bash
# Install the Debian packages named on the command line that are not installed yet.
# As root: apt-get update + apt-get install (non-interactive). Otherwise: say what is missing
# and how to install it, and fail. Nothing happens when everything is already there.
set -euo pipefail

missing=()
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "berth: missing packages: ${missing[*]} (this is not a Debian system; install them" \
        "with your package manager)" >&2
    exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "berth: these Debian packages are missing: ${missing[*]}" >&2
    echo "berth: install them as root, then run make again:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "berth: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# No recommends: docker-compose would pull in the whole Docker engine.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "berth: installed ${missing[*]}"
