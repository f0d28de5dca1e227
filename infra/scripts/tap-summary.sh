#!/usr/bin/env bash
# tap-summary.sh <label> <log>: the closing line of `npm test`, `npm run
# test:compose` and `npm run test:containers`, `<label>: N passed, M failed`,
# summed over every tap run's `# { total: T, pass: P, fail: F }` line in <log>
# (anywhere on a line: turbo puts its package name in front). .ci/run adds up
# those exact lines. Exits 1 when no test ran.
set -uo pipefail
label=$1
log=$2

read -r total pass < <(
  grep -Eo '# \{ total: [0-9]+, pass: [0-9]+' "$log" |
    awk -F'[^0-9]+' '{ t += $2; p += $3 } END { print t+0, p+0 }'
)
echo "$label: $pass passed, $((total - pass)) failed"
[ "$total" -gt 0 ]
