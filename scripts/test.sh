#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian machine, then run them.
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v rsync >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "nassim: installing the rsync binary (the tests use it as the judge of the rsync model)"
        apt-get update -qq && apt-get install -y -qq rsync >/dev/null
    else
        echo "nassim: the tests need the real rsync binary; install it with: sudo apt-get install -y rsync" >&2
        exit 2
    fi
fi

source scripts/venv.sh
python -m pip install -q -e '.[test]'
python -m ruff check nassim tests benchmarks notebooks
python -m mypy
python -m pytest "$@"
