#!/bin/sh
# nginx's per-address limits in compose come from NGINX_* variables (the
# names `npm start` reads too). The edge image's entrypoint
# (edge-entrypoint.sh, beside this) runs this before it fills them into the
# config: a bad value stops the container here, naming the variable, with the
# ranges `npm start` applies (nginxLimitsEnv in
# infra/local-stack/src/nginx-config.ts; e2e/test/compose-config.test.ts
# checks that both agree), on plain decimal numbers as nginx reads them.
# An unset or empty variable is left to the default.
set -eu

bad=0
check() {
  name=$1 pattern=$2 meaning=$3
  eval "value=\${$name-}"
  [ -z "$value" ] && return 0
  case $value in *'
'*) value_ok=no ;; *) value_ok=yes ;; esac
  if [ "$value_ok" = no ] || ! printf '%s\n' "$value" | grep -Eqx "$pattern"; then
    echo "Invalid environment: $name must be $meaning (got \"$value\")" >&2
    bad=1
  fi
}

rate='[1-9][0-9]{0,8}r/[sm]'
count='0*([0-9]{1,6}|1000000)'
positive='0*([1-9][0-9]{0,5}|1000000)'
check NGINX_API_RATE "$rate" 'a rate such as 50r/s or 30r/m'
check NGINX_API_BURST "$count" 'an integer from 0 to 1000000'
check NGINX_API_CONNECTIONS_PER_ADDRESS "$positive" 'an integer from 1 to 1000000'
check NGINX_WS_UPGRADE_RATE "$rate" 'a rate such as 50r/s or 30r/m'
check NGINX_WS_UPGRADE_BURST "$count" 'an integer from 0 to 1000000'
check NGINX_SOCKETS_PER_ADDRESS "$positive" 'an integer from 1 to 1000000'
exit "$bad"
