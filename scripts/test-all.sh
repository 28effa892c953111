#!/usr/bin/env bash
# The one command that sets up and runs every test: system servers, Python packages
# (through tox, one environment per package), lint, types, docs and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
python3 -m pip install --quiet --disable-pip-version-check "tox>=4.11"
exec python3 -m tox run -e lint,type,core,local,aws,postgres,e2e,docs "$@"
