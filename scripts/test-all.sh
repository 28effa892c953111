#!/usr/bin/env bash
# The one command that sets up and runs every test: system servers, Python packages
# (tox in the virtual environment .venv, one tox environment per package), lint, types, docs and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
source scripts/venv.sh
python -m pip install --quiet --disable-pip-version-check "tox>=4.11"
exec python -m tox run -e lint,type,core,local,aws,postgres,opa,openbao,podman,kubernetes,prometheus,e2e,serve,docs "$@"
