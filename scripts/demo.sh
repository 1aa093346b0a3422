#!/usr/bin/env bash
# Render the default project into ./demo (or $1) and train its smoke model on CPU.
# Creates .venv first when it is missing (scripts/bootstrap.sh); the demo's own venv reuses
# its CPU torch, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/bootstrap.sh
exec .venv/bin/python scripts/local_project.py demo "${1:-demo}"
