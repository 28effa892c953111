#!/usr/bin/env bash
# Sourced by quickstart.sh and test-all.sh: makes (once) and activates the repository's virtual
# environment, so nothing is installed into the system interpreter. Debian and Ubuntu mark their
# system Python "externally managed" (PEP 668) and pip refuses to install there.
# PODIUM_VENV overrides where it lives (default: .venv at the repository root).
# The system interpreter is preferred: when Podium runs as root, podium-local runs workloads as
# an unprivileged user, who must be able to execute the Python the example apps run with (an
# interpreter under /root, such as pyenv's, is closed to other users).
venv_dir="${PODIUM_VENV:-$(pwd)/.venv}"
base_python="${PODIUM_PYTHON:-python3}"
if [ -z "${PODIUM_PYTHON:-}" ] && [ -x /usr/bin/python3 ] \
  && /usr/bin/python3 -c 'import sys, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  base_python=/usr/bin/python3
fi
if [ ! -x "$venv_dir/bin/python" ]; then
  "$base_python" -m venv "$venv_dir"
fi
# shellcheck disable=SC1091
source "$venv_dir/bin/activate"
