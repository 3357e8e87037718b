#!/usr/bin/env bash
# Makes sure $AIRFLOW_VENV (default .venv-airflow) holds the Airflow
# environment's locked dependencies (dags/requirements.lock: Apache Airflow,
# TFX and the pipeline's own pins) and this project, for dags/. A venv of its
# own: Airflow's pins (flask 2, werkzeug<3) do not fit the main lock, and
# `tfx[airflow]` does not install here at all (see dags/requirements.in).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${AIRFLOW_VENV:-.venv-airflow} LOCK=dags/requirements.lock \
  INSTALL_PROJECT=1 exec scripts/ensure_venv.sh
