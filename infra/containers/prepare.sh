#!/usr/bin/env bash
# `npm run containers:prepare`: makes this machine ready for
# `docker compose up --build` and for the tests that use containers, one step
# per script, each saying what it did and skipping what is done already:
#   install-engine.sh          Debian's docker.io, docker-compose, debootstrap (root, when missing)
#   start-engine.sh            dockerd, when no engine answers (stop-engine.sh stops it)
#   install-compose-plugin.sh  `docker compose` where only Debian's docker-compose exists
#   base-images.sh             the upstream base images, or local ones where they cannot be pulled;
#                              recorded in .containers/images.env and .env
set -euo pipefail
here=$(dirname "$0")
started=$SECONDS
bash "$here/install-engine.sh"
bash "$here/start-engine.sh"
bash "$here/install-compose-plugin.sh"
bash "$here/base-images.sh"
printf 'containers: ready in %d s. Next: docker compose up --build --scale notifier=3\n' $((SECONDS - started))
