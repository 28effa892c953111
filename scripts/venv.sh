#!/usr/bin/env bash
# Sourced by quickstart.sh and test-all.sh: makes (once) and activates the repository's virtual
# environment, so nothing is installed into the system interpreter. Debian and Ubuntu mark their
# system Python "externally managed" (PEP 668) and pip refuses to install there.
# PODIUM_VENV overrides where it lives (default: .venv at the repository root).
venv_dir="${PODIUM_VENV:-$(pwd)/.venv}"
if [ ! -x "$venv_dir/bin/python" ]; then
  python3 -m venv "$venv_dir"
fi
# shellcheck disable=SC1091
source "$venv_dir/bin/activate"
