#!/usr/bin/env bash
# Install nassim and run the main job: the live test bed's Phase 3 validation on the simulator.
# Usage: bash scripts/run.sh [SCENARIO.yaml] [nassim run options, e.g. --json]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
python -m pip install -q -e .
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    scenario=$1
    shift
else
    scenario=sim/scenarios/phase3-validation.yaml
fi
nassim run "$scenario" "$@"
