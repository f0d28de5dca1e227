#!/usr/bin/env bash
# Installs the system programs the stack and the tests run as real processes
# (redis-server; nginx when asked), with apt-get when root on Debian/Ubuntu,
# or says exactly what to install.
set -euo pipefail

want=(redis-server)
for extra in "$@"; do want+=("$extra"); done

missing=()
for program in "${want[@]}"; do
  command -v "$program" >/dev/null 2>&1 || [ -x "/usr/sbin/$program" ] || missing+=("$program")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} with apt-get…" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "Missing: ${missing[*]}. Install them, e.g. 'sudo apt-get install ${missing[*]}' (Debian/Ubuntu) or 'brew install ${missing[*]}' (macOS)." >&2
  exit 1
fi
