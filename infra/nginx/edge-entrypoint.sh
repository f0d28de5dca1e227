#!/bin/sh
# The edge image's entrypoint, the same on the official nginx image and on
# Debian's nginx (which has no /docker-entrypoint.d): checks the NGINX_* limit
# variables (check-limits.sh, beside this; a bad one stops the container,
# naming it), fills them into the compose template in place of
# /etc/nginx/nginx.conf, then runs the command. Any command but nginx runs as
# it is. EDGE_NGINX_TEMPLATE and EDGE_NGINX_CONFIG move the two files (tests).
set -eu

case ${1:-} in
  nginx | nginx-debug) ;;
  *) exec "$@" ;;
esac

"$(dirname "$0")/check-limits.sh"

# Unset or empty: npm start's defaults (DEFAULT_NGINX_LIMITS in
# infra/local-stack/src/nginx-config.ts; e2e/test/compose-config.test.ts
# checks that these give exactly the committed nginx.compose.conf).
: "${NGINX_API_RATE:=50r/s}"
: "${NGINX_API_BURST:=200}"
: "${NGINX_API_CONNECTIONS_PER_ADDRESS:=256}"
: "${NGINX_WS_UPGRADE_RATE:=50r/s}"
: "${NGINX_WS_UPGRADE_BURST:=500}"
: "${NGINX_SOCKETS_PER_ADDRESS:=2000}"

template=${EDGE_NGINX_TEMPLATE:-/etc/nginx/nginx.conf.template}
config=${EDGE_NGINX_CONFIG:-/etc/nginx/nginx.conf}
# The values passed check-limits.sh (digits, `r/s`, `r/m`): nothing sed would read as syntax.
# Only these six names are filled; nginx's own $variables stay as they are.
sed -e "s|\${NGINX_API_RATE}|$NGINX_API_RATE|g" \
    -e "s|\${NGINX_API_BURST}|$NGINX_API_BURST|g" \
    -e "s|\${NGINX_API_CONNECTIONS_PER_ADDRESS}|$NGINX_API_CONNECTIONS_PER_ADDRESS|g" \
    -e "s|\${NGINX_WS_UPGRADE_RATE}|$NGINX_WS_UPGRADE_RATE|g" \
    -e "s|\${NGINX_WS_UPGRADE_BURST}|$NGINX_WS_UPGRADE_BURST|g" \
    -e "s|\${NGINX_SOCKETS_PER_ADDRESS}|$NGINX_SOCKETS_PER_ADDRESS|g" \
    "$template" >"$config.new"
mv "$config.new" "$config"
exec "$@"
