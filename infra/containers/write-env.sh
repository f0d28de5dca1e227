#!/usr/bin/env bash
# write-env.sh NODE_IMAGE REDIS_IMAGE NGINX_IMAGE [NAME=value…]
# Records the base images this machine uses:
# - .containers/images.env, for the tests (testcontainers' Redis, the compose
#   test): `NAME=value` lines, nothing else, rewritten each time: the three
#   images, then the extra settings given (TESTCONTAINERS_RYUK_DISABLED=true
#   where upstream images, Ryuk's among them, cannot be pulled);
# - the repository's .env, which compose reads: the three image lines set or
#   replaced, COMPOSE_PROJECT_NAME added when absent, every other line kept.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 3 ] || fail "usage: write-env.sh NODE_IMAGE REDIS_IMAGE NGINX_IMAGE [NAME=value…]"

images=$(printf 'NODE_IMAGE=%s\nREDIS_IMAGE=%s\nNGINX_IMAGE=%s\n' "$1" "$2" "$3")
shift 3
mkdir -p "$STATE_DIR"
{
  printf '%s\n' "$images"
  for setting in "$@"; do printf '%s\n' "$setting"; done
} >"$IMAGES_ENV.tmp"
mv "$IMAGES_ENV.tmp" "$IMAGES_ENV"

touch "$COMPOSE_ENV"
{
  grep -Ev '^[[:space:]]*(NODE_IMAGE|REDIS_IMAGE|NGINX_IMAGE)=' "$COMPOSE_ENV" || true
  # compose v1 has no top-level `name:`; without this the project is named after the folder.
  grep -Eq '^[[:space:]]*COMPOSE_PROJECT_NAME=' "$COMPOSE_ENV" || echo 'COMPOSE_PROJECT_NAME=parking-realtime'
  printf '%s\n' "$images"
} >"$COMPOSE_ENV.tmp"
mv "$COMPOSE_ENV.tmp" "$COMPOSE_ENV"
say "wrote $IMAGES_ENV and the image lines of $COMPOSE_ENV: $(echo $images)"
