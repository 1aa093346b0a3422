#!/usr/bin/env bash
# Run the template's tests: create .venv first when it is missing (scripts/bootstrap.sh), then
# pytest with any arguments given, e.g. `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
