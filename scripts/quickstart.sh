#!/usr/bin/env bash
# The one command that installs Podium and podium-local and deploys the example shop
# (a web app + a worker + PostgreSQL + Redis) on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
python3 -m pip install --quiet --disable-pip-version-check -e . -e plugins/local
cd examples/shop
python3 -m podium up
