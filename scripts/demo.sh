#!/usr/bin/env bash
# Install nassim and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
python -m pip install -q -e .
nassim demo "$@"
