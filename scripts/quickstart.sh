#!/usr/bin/env bash
# The one command that installs Podium and podium-local (into the virtual environment .venv) and deploys the example shop
# (a web app + a worker + PostgreSQL + Redis) on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
source scripts/venv.sh
python -m pip install --quiet --disable-pip-version-check -e . -e plugins/local
cd examples/shop
podium up
echo
echo "Podium is installed in $VIRTUAL_ENV; to use it in this shell: source $VIRTUAL_ENV/bin/activate"
