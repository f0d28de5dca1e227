#!/usr/bin/env bash
# Chooses the base images for this machine and records them for compose and the
# tests. Where the upstream images can be pulled (or are there already): those.
# Where not: local ones built from Debian packages and this machine's node,
# tagged under the project's own names, never under upstream ones:
#   parking-realtime/base-debian:bookworm      debootstrap --variant=minbase, imported
#   parking-realtime/base-node:<node>-bookworm the machine's node + npm, user node (1000), its CA bundle
#   parking-realtime/base-redis:bookworm       Debian's redis-server and redis-cli
#   parking-realtime/base-nginx:bookworm       Debian's nginx and wget
# An image that exists already is kept, so a second run takes seconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
# Scratch folders (a rootfs, a build context), removed however the script ends.
scratch=()
trap 'rm -rf "${scratch[@]}"' EXIT

have_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

upstream_usable() {
  local image missing=()
  for image in "$UPSTREAM_NODE_IMAGE" "$UPSTREAM_REDIS_IMAGE" "$UPSTREAM_NGINX_IMAGE"; do
    have_image "$image" || missing+=("$image")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  # One small pull tells whether the registry answers; compose pulls the rest when it needs them.
  say "trying to pull $UPSTREAM_REDIS_IMAGE (60 s at most)"
  timeout 60 "$DOCKER" pull -q "$UPSTREAM_REDIS_IMAGE" >/dev/null 2>&1
}

build_debian() {
  local image=parking-realtime/base-debian:bookworm
  if have_image "$image"; then say "$image: there already"; return; fi
  is_root || fail "building $image needs root (debootstrap)"
  local sources mirror rootfs started=$SECONDS
  sources=$(bash "$HERE/debian-sources.sh") || fail "the machine's apt configuration names no Debian bookworm mirror"
  mirror=$(awk '$3 == "bookworm" { print $2; exit }' <<<"$sources")
  rootfs=$(mktemp -d /var/tmp/parking-realtime-rootfs.XXXXXX)
  scratch+=("$rootfs")
  say "$image: debootstrap --variant=minbase bookworm (the machine's apt mirror)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$STATE_DIR/debootstrap.log" 2>&1 ||
    { tail -n 20 "$STATE_DIR/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
  printf '%s\n' "$sources" >"$rootfs/etc/apt/sources.list"
  # No services start inside an image build (as in Debian's official images).
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod +x "$rootfs/usr/sbin/policy-rc.d"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | "$DOCKER" import - "$image" >/dev/null
  say "$image: imported ($((SECONDS - started)) s)"
}

# build_from <image> <Dockerfile> <context dir>: on top of base-debian.
build_from() {
  local image=$1 dockerfile=$2 context=$3 started=$SECONDS
  say "$image: building"
  DOCKER_BUILDKIT=1 "$DOCKER" build -q -f "$dockerfile" --build-arg DEBIAN_IMAGE=parking-realtime/base-debian:bookworm \
    -t "$image" "$context" >"$STATE_DIR/build-$(basename "$dockerfile" .Dockerfile).log" 2>&1 ||
    { tail -n 30 "$STATE_DIR/build-$(basename "$dockerfile" .Dockerfile).log" >&2; fail "building $image failed (log above)"; }
  say "$image: built ($((SECONDS - started)) s)"
}

build_node() {
  local node version npm_dir ca context
  node=$(command -v node) || fail "no node on this machine to copy into the node base image"
  node=$(readlink -f "$node")
  version=$("$node" --version)
  local image="parking-realtime/base-node:${version#v}-bookworm"
  NODE_IMAGE=$image
  if have_image "$image"; then say "$image: there already"; return; fi
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  [ -f "$npm_dir/package.json" ] || fail "cannot find npm's folder (from $(command -v npm))"
  ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
  [ -f "$ca" ] || fail "no CA bundle at $ca (set NODE_EXTRA_CA_CERTS to one)"
  context=$(mktemp -d /var/tmp/parking-realtime-node.XXXXXX)
  scratch+=("$context")
  cp "$node" "$context/node"
  cp -a "$npm_dir" "$context/npm"
  cp "$ca" "$context/ca-certificates.crt"
  build_from "$image" "$HERE/base/node.Dockerfile" "$context"
}

build_simple() {
  local image=$1 name=$2
  if have_image "$image"; then say "$image: there already"; return; fi
  build_from "$image" "$HERE/base/$name.Dockerfile" "$HERE/base"
}

# The images recorded by an earlier run, when all of them are still there: kept
# (delete .containers/images.env to choose again).
recorded_images_present() {
  [ -f "$IMAGES_ENV" ] || return 1
  local name image
  for name in NODE_IMAGE REDIS_IMAGE NGINX_IMAGE; do
    image=$(sed -n "s/^$name=//p" "$IMAGES_ENV")
    [ -n "$image" ] && have_image "$image" || return 1
  done
}

mkdir -p "$STATE_DIR"
if recorded_images_present; then
  say "base images: as recorded in $IMAGES_ENV, all present ($(sed -n 's/^[A-Z_]*_IMAGE=//p' "$IMAGES_ENV" | xargs))"
  exit 0
fi
settings=()
if upstream_usable; then
  NODE_IMAGE=$UPSTREAM_NODE_IMAGE REDIS_IMAGE=$UPSTREAM_REDIS_IMAGE NGINX_IMAGE=$UPSTREAM_NGINX_IMAGE
  say "base images: the upstream ones ($NODE_IMAGE, $REDIS_IMAGE, $NGINX_IMAGE)"
else
  # testcontainers' reaper (Ryuk) is an image of its own, which cannot be pulled either.
  settings+=(TESTCONTAINERS_RYUK_DISABLED=true)
  say "base images: the upstream ones cannot be pulled here; using local ones built from Debian packages"
  build_debian
  build_node
  REDIS_IMAGE=parking-realtime/base-redis:bookworm
  NGINX_IMAGE=parking-realtime/base-nginx:bookworm
  build_simple "$REDIS_IMAGE" redis
  build_simple "$NGINX_IMAGE" nginx
fi
bash "$HERE/write-env.sh" "$NODE_IMAGE" "$REDIS_IMAGE" "$NGINX_IMAGE" "${settings[@]}"
