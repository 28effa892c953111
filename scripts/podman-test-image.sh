#!/usr/bin/env bash
# Builds the images podium-podman's tests and benchmark run, when they are missing:
#   base: Debian bookworm with python3, psycopg and redis (mmdebstrap rootfs, podman import);
#   shop: the base plus examples/shop/app (podman build), what the shop's containers run.
# Each is tagged with a digest of what makes it (the recipe; the app's files), so a present
# image is reused; the base rootfs tarball is also cached in $PODIUM_TEST_CACHE
# (default ~/.cache/podium-tests) to survive a wiped image store. No registry is used.
# Prints "base=<image>" and "shop=<image>"; the shop image is also tagged localhost/podium-shop:dev.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${PODIUM_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podium-tests}
mkdir -p "$cache"
# Podman on these machines needs runc and low ulimits (see podium-podman's docs).
if [ -z "${CONTAINERS_CONF:-}" ]; then
  export CONTAINERS_CONF="$cache/containers.conf"
  printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"
fi

suite=bookworm
packages=python3,python3-psycopg,python3-redis
recipe="mmdebstrap --variant=apt --include=$packages $suite (docs, man pages and locales excluded)"
base_tag=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
base="localhost/podium-test-python:$base_tag"

if ! podman image exists "$base"; then
  tarball="$cache/python-$base_tag.tar"
  if [ ! -s "$tarball" ]; then
    echo "podman-test-image: building the $suite rootfs (a few minutes, once)" >&2
    mmdebstrap --quiet --format=tar --variant=apt --include="$packages" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      "$suite" "$tarball.partial"
    mv "$tarball.partial" "$tarball"
  fi
  podman import --quiet "$tarball" "$base" >/dev/null
fi

app=examples/shop/app
shop_tag=$( (echo "$base"; cd "$app" && find . -type f ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
shop="localhost/podium-test-shop:$shop_tag"
if ! podman image exists "$shop"; then
  context=$(mktemp -d)
  trap 'rm -rf "$context"' EXIT
  cp -r "$app" "$context/app"
  find "$context" -name __pycache__ -prune -exec rm -rf {} +
  printf 'FROM %s\nCOPY app /srv/shop/app\nWORKDIR /srv/shop\nCMD ["python3", "-u", "app/web.py"]\n' "$base" >"$context/Containerfile"
  podman build --quiet --pull=never -t "$shop" -f "$context/Containerfile" "$context" >/dev/null
fi
# The stable name examples/shop/podium.containers.toml maps the shop's Score image to.
podman tag "$shop" localhost/podium-shop:dev
echo "base=$base"
echo "shop=$shop"
