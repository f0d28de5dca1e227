#!/usr/bin/env bash
# Makes `docker compose` work where the Docker CLI has no compose plugin but
# Debian's docker-compose 1.29 is installed (Debian bookworm has no compose v2
# package): installs docker-compose-plugin.sh as the CLI's `compose` plugin.
# A real compose v2 wherever the CLI finds it is left alone.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

clis=("$DOCKER")
# The docker first in PATH too, when it is another one: it is what people type.
first=$(command -v docker || true)
[ -n "$first" ] && [ "$(readlink -f "$first")" != "$(readlink -f "$(command -v "$DOCKER")")" ] && clis+=("$first")
missing=no
for cli in "${clis[@]}"; do
  "$cli" compose version >/dev/null 2>&1 || missing=yes
done
if [ "$missing" = no ]; then
  say "docker compose: $("$DOCKER" compose version 2>/dev/null | head -n 1)"
  exit 0
fi
[ -x /usr/bin/docker-compose ] || fail "no compose: install Docker Compose v2, or Debian's docker-compose"
if is_root; then dir=/usr/local/lib/docker/cli-plugins; else dir=$HOME/.docker/cli-plugins; fi
mkdir -p "$dir"
install -m 0755 "$(dirname "$0")/docker-compose-plugin.sh" "$dir/docker-compose"
say "docker compose: installed $dir/docker-compose, which runs Debian's docker-compose $(/usr/bin/docker-compose version --short) with BuildKit"
