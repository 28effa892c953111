#!/usr/bin/env bash
# Installs the servers podium-local and the tests use, from Debian packages, when missing:
# PostgreSQL (initdb/pg_ctl), redis-server, nginx (for `route` resources), python3-venv and
# podman, runc, catatonit, busybox-static and mmdebstrap (podium-podman's containers),
# chromium with chromium-driver (the console's browser test), git (copier) and prometheus
# with promtool (podium-prometheus); podium-kubernetes' podman mode uses the same podman.
set -euo pipefail

need=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
{ [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ]; } || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
# workload templates (podium new / template update): copier runs git
command -v git >/dev/null 2>&1 || need+=(git)
# podium-podman's tests: containers (podman with runc; catatonit for --init), a static
# busybox (loads secret variables inside containers) and mmdebstrap (the test image's rootfs).
for tool in podman runc catatonit mmdebstrap; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/libexec/podman/$tool" ] || need+=("$tool")
done
[ -x /bin/busybox ] || need+=(busybox-static)
# podium serve's console is tested in a real browser (Selenium drives chromium).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || need+=(prometheus)
# Debian and Ubuntu ship venv/ensurepip separately from the interpreter.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "setup-system: please install: ${need[*]} (apt-get install -y ${need[*]})" >&2
  exit 1
fi
echo "setup-system: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the packaged services; Podium runs its own instances on free ports.
for service in postgresql redis-server nginx prometheus; do
  $sudo service "$service" stop >/dev/null 2>&1 || true
done
