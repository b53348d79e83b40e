#!/usr/bin/env bash
# Builds the documentation into build/docs from scratch (-E: every page re-read, so no warning
# hides in a cached page), with warnings as errors. Installs nothing: run it
# with a Python that has blasnet and the docs extra (pip install ".[docs]"); PYTHON selects
# another interpreter, e.g. PYTHON=build/venv/bin/python bash docs/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
"${PYTHON:-python3}" -m sphinx -E -W --keep-going -b html docs build/docs "$@"
