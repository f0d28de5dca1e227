#!/usr/bin/env bash
# Installs Debian's container engine, compose and debootstrap when they are
# missing (as root, with apt-get), or says what to install. An engine that
# already answers (Docker Desktop, a remote DOCKER_HOST) needs no dockerd here.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

missing=()
command -v "$DOCKER" >/dev/null 2>&1 || missing+=(docker.io)
if ! command -v dockerd >/dev/null 2>&1 && [ ! -x /usr/sbin/dockerd ] && ! engine_answers; then
  missing+=(docker.io)
fi
if ! command -v docker-compose >/dev/null 2>&1 && ! "$DOCKER" compose version >/dev/null 2>&1; then
  missing+=(docker-compose)
fi
# Only for building base images where the upstream ones cannot be pulled; small.
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')

if [ ${#missing[@]} -eq 0 ]; then
  say "engine, compose and debootstrap: installed"
  exit 0
fi
if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
  fail "missing: ${missing[*]}. Install them (Debian/Ubuntu: 'sudo apt-get install ${missing[*]}'), or Docker Engine with its compose plugin."
fi
say "installing ${missing[*]} with apt-get"
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
say "installed ${missing[*]}"

# Where nothing stops package scripts from starting services (no policy-rc.d
# saying no), docker.io's starts dockerd itself. That one is ours too: recorded,
# so containers:stop stops it like one start-engine.sh started.
if [[ " ${missing[*]} " == *" docker.io "* ]] && [ ! -f "$DOCKERD_PID_FILE" ]; then
  for proc in /proc/[0-9]*; do
    [ "$(cat "$proc/comm" 2>/dev/null)" = dockerd ] || continue
    mkdir -p "$STATE_DIR"
    process_identity "${proc#/proc/}" >"$DOCKERD_PID_FILE"
    say "the docker.io package started dockerd (pid ${proc#/proc/}); 'npm run containers:stop' stops it"
    break
  done
fi
