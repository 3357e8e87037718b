#!/usr/bin/env bash
# The pipeline run for schedulers: builds the venv if needed, then runs
# local_runner.py with these arguments and exits with ITS status:
#   0 finished (pushed or not), 1 a component failed, 2 bad settings or data,
#   3 another run holds the output directory.
# `make run` runs this too, but make reports every failure as 2; cron and
# other schedulers should call this script to see the real status.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
VENV="$VENV" scripts/ensure_venv.sh
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
exec "$VENV/bin/python" local_runner.py "$@"
