#!/usr/bin/env bash
# `npm run test:compose`: prepares the machine (quick when done already), then
# runs e2e/test/compose/compose-stack.ts, which builds and starts
# docker-compose.yml as the compose project pr-compose-test and takes it down
# at the end; if the test itself is killed first, what it left is removed here.
# Ends with one line: `compose: N passed, M failed`.
# An engine this started stays up; `npm run containers:stop` stops it.
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || exit 1
fi
bash infra/containers/prepare.sh || exit 1
. infra/containers/lib.sh

export COMPOSE_TEST_PROJECT=pr-compose-test
log=$(mktemp)
# One file, past tap's default 300 s: a cold build takes minutes.
(cd e2e && npx tap --timeout=1800 test/compose/compose-stack.ts) 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

label="label=com.docker.compose.project=$COMPOSE_TEST_PROJECT"
left=$("$DOCKER" ps -aq --filter "$label")
if [ -n "$left" ]; then
  say "removing what the compose test left behind"
  "$DOCKER" rm -f -v $left >/dev/null
  "$DOCKER" network ls -q --filter "$label" | xargs -r "$DOCKER" network rm >/dev/null
  "$DOCKER" volume ls -q --filter "$label" | xargs -r "$DOCKER" volume rm >/dev/null
fi

bash infra/scripts/tap-summary.sh compose "$log"
ran=$?
rm -f "$log"
[ "$ran" -eq 0 ] || { echo "the compose test ran no test" >&2; exit 1; }
exit "$status"
