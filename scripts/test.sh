#!/usr/bin/env bash
# Run the template's tests: create .venv first when it is missing (scripts/bootstrap.sh), then
# pytest with any arguments given, e.g. `bash scripts/test.sh -m "not slow"`.
# Tests run in two worker processes (pytest-xdist), each test file in one of them, so a file's
# rendered and installed projects are built once; `-n 0` runs everything in one process, and
# TEST_WORKERS sets another number.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --dist loadfile "$@"
