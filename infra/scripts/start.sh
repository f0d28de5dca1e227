#!/usr/bin/env bash
# `npm start`: the local stack, installing what it needs first.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash infra/scripts/ensure-system-deps.sh nginx
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# The demo page nginx serves at /.
[ -f clients/demo/dist/index.html ] || npx turbo run build --filter=@parking-realtime/demo --output-logs=errors-only
exec node --conditions=pr-source --import tsx infra/local-stack/src/start.ts
