#!/usr/bin/env bash
# Starts dockerd when no engine answers, records its pid (and start time) in
# .containers/dockerd.pid for stop-engine.sh, and waits until it answers.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if engine_answers; then
  if [ -f "$DOCKERD_PID_FILE" ]; then
    say "engine: running (dockerd pid $(cut -d' ' -f1 "$DOCKERD_PID_FILE"), started by containers:prepare)"
  else
    say "engine: running (not started by us; containers:stop leaves it alone)"
  fi
  exit 0
fi
is_root || fail "no container engine answers, and only root can start dockerd: start it (e.g. 'sudo systemctl start docker')."
dockerd=$(command -v dockerd || echo /usr/sbin/dockerd)
[ -x "$dockerd" ] || fail "no dockerd: run infra/containers/install-engine.sh first"

mkdir -p "$STATE_DIR"
# Its own session, so it outlives this script and the terminal; no systemd here.
setsid "$dockerd" >>"$DOCKERD_LOG" 2>&1 </dev/null &
pid=$!
process_identity "$pid" >"$DOCKERD_PID_FILE"
say "engine: started dockerd (pid $pid, log $DOCKERD_LOG); 'npm run containers:stop' stops it"

for _ in $(seq 1 120); do
  engine_answers && exit 0
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$DOCKERD_PID_FILE"
    tail -n 20 "$DOCKERD_LOG" >&2
    fail "dockerd exited before answering (log above)"
  fi
  sleep 0.5
done
fail "dockerd (pid $pid) did not answer within 60 s; see $DOCKERD_LOG"
