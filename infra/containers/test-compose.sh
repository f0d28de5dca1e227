#!/usr/bin/env bash
# `npm run test:compose`: prepares the machine (quick when done already), then
# runs e2e/test/compose/compose-stack.ts, which builds and starts
# docker-compose.yml under a project of its own and takes it down at the end.
# An engine this started stays up; `npm run containers:stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash infra/containers/prepare.sh
cd e2e
# One file, past tap's default 300 s: a cold build takes minutes.
exec npx tap --timeout=1800 test/compose/compose-stack.ts
