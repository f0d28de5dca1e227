# Sourced by the scripts beside it: where things are, and how they speak.
# shellcheck shell=bash

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Machine-local state, gitignored: the pid of a dockerd we started, its log,
# and images.env (the base images this machine uses).
STATE_DIR="$REPO_ROOT/.containers"
DOCKERD_PID_FILE="$STATE_DIR/dockerd.pid"
DOCKERD_LOG="$STATE_DIR/dockerd.log"
IMAGES_ENV="$STATE_DIR/images.env"
COMPOSE_ENV="$REPO_ROOT/.env"

# The upstream base images: the defaults of infra/Dockerfile and docker-compose.yml.
# shared/testing's container Redis reads UPSTREAM_REDIS_IMAGE from here: keep it NAME=value.
UPSTREAM_NODE_IMAGE=node:22-bookworm-slim
UPSTREAM_REDIS_IMAGE=redis:8.0.1-alpine
UPSTREAM_NGINX_IMAGE=nginx:1.28-alpine

# Debian's client when it is there: another docker CLI earlier in PATH may have
# no buildx, and then cannot build at all (/work/shared/CONTAINERS.md).
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi

say() { printf 'containers: %s\n' "$*"; }
fail() { printf 'containers: %s\n' "$*" >&2; exit 1; }

engine_answers() { "$DOCKER" info >/dev/null 2>&1; }

is_root() { [ "$(id -u)" = 0 ]; }

# `pid starttime` of a live process (starttime tells it from a later one with the same pid).
process_identity() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # Fields after the command name, which sits in parentheses and may hold spaces.
  set -- "$1" ${stat##*) }
  printf '%s %s\n' "$1" "${21}"
}
