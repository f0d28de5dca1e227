#!/bin/sh
# As the official redis image: options alone mean redis-server with them, and
# protected mode is off (other containers and published ports reach Redis
# from non-loopback addresses; the network is what protects it), unless the
# command sets it.
set -e
case ${1:-} in -*) set -- redis-server "$@" ;; esac
if [ "${1:-}" = redis-server ]; then
  case " $* " in
    *" --protected-mode "*) ;;
    *) shift; set -- redis-server "$@" --protected-mode no ;;
  esac
fi
exec "$@"
