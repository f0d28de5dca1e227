#!/usr/bin/env bash
# `npm test`: every check and test, from a fresh clone. Installs what it needs:
# redis-server (each suite starts its own, never the machine's) and npm packages.
set -uo pipefail
cd "$(dirname "$0")/../.."

# nginx fronts the stack in the e2e tests; Chromium drives the demo page.
bash infra/scripts/ensure-system-deps.sh nginx chromium || exit 1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || exit 1
fi

# tap rebuilds itself for our plugin set on first use; do it once here, since
# two suites starting together would both rebuild it and trip over each other.
(cd shared/protocol && npx tap build >/dev/null) || exit 1

log=$(mktemp)
npx turbo run lint typecheck build test --concurrency=2 --continue --output-logs=full 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# One closing line for all packages, summed from each tap run's summary.
bash infra/scripts/tap-summary.sh tests "$log"
ran=$?
rm -f "$log"
if [ "$ran" -ne 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
