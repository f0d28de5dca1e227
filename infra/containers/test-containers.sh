#!/usr/bin/env bash
# `npm run test:containers`: the core suites (shared/testing and the three
# services) on testcontainers' Redis, as a project with a container engine
# runs them: prepares the machine first (quick when done already), then runs
# them with TEST_REDIS=container. On a machine whose upstream images cannot be
# pulled, the Redis image is the one containers:prepare built, and Ryuk is
# off (its image cannot be pulled either): .containers/images.env says both,
# and each suite removes its containers itself. Ends with one line:
# `containers: N passed, M failed`. An engine this started stays up;
# `npm run containers:stop` stops it.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash infra/containers/prepare.sh || exit 1
. infra/containers/lib.sh

export TEST_REDIS=container
log=$(mktemp)
npx turbo run test --concurrency=1 --output-logs=full \
  --filter=./shared/testing --filter=@parking-realtime/auth-token \
  --filter=@parking-realtime/notifier --filter=@parking-realtime/event-ingest 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# A suite killed before its teardown leaves its Redis behind: testcontainers labels every container it starts.
left=$("$DOCKER" ps -aq --filter label=org.testcontainers)
if [ -n "$left" ]; then
  say "removing Redis containers the suites left behind"
  "$DOCKER" rm -f -v $left >/dev/null
fi

bash infra/scripts/tap-summary.sh containers "$log"
ran=$?
rm -f "$log"
[ "$ran" -eq 0 ] || { echo "no container suite ran" >&2; exit 1; }
exit "$status"
