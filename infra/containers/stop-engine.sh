#!/usr/bin/env bash
# `npm run containers:stop`: stops the dockerd that containers:prepare started,
# and only that one (the pid and start time it recorded); any other engine is
# left alone. dockerd stops its containers as it shuts down.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ ! -f "$DOCKERD_PID_FILE" ]; then
  say "no dockerd started by containers:prepare; nothing to stop"
  exit 0
fi
read -r pid started <"$DOCKERD_PID_FILE"
if [ "$(process_identity "$pid" 2>/dev/null)" != "$pid $started" ]; then
  say "the dockerd containers:prepare started (pid $pid) is gone already"
  rm -f "$DOCKERD_PID_FILE"
  exit 0
fi
say "stopping dockerd (pid $pid)"
kill -TERM "$pid"
# dockerd gives each container its stop timeout (10 s by default) before killing it.
for _ in $(seq 1 120); do
  if [ "$(process_identity "$pid" 2>/dev/null)" != "$pid $started" ]; then
    rm -f "$DOCKERD_PID_FILE"
    say "dockerd stopped"
    exit 0
  fi
  sleep 0.5
done
fail "dockerd (pid $pid) still runs 60 s after SIGTERM; see $DOCKERD_LOG"
