#!/bin/sh
# `docker compose` on a machine whose only compose is Debian's docker-compose
# 1.29: a Docker CLI plugin (install-compose-plugin.sh puts it where the CLI
# looks) that runs it, with Debian's docker client first in PATH (another one
# may lack buildx) and BuildKit on, which infra/Dockerfile is written for.
if [ "${1:-}" = docker-cli-plugin-metadata ]; then
  version=$(/usr/bin/docker-compose version --short 2>/dev/null || echo 1.29.2)
  printf '{"SchemaVersion":"0.1.0","Vendor":"parking-realtime","Version":"%s","ShortDescription":"Debian docker-compose %s as docker compose (npm run containers:prepare)"}\n' "$version" "$version"
  exit 0
fi
[ "${1:-}" = compose ] && shift
PATH=/usr/bin:$PATH
DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-1}
COMPOSE_DOCKER_CLI_BUILD=${COMPOSE_DOCKER_CLI_BUILD:-1}
export PATH DOCKER_BUILDKIT COMPOSE_DOCKER_CLI_BUILD
exec /usr/bin/docker-compose "$@"
