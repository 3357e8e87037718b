#!/usr/bin/env bash
# Runs the Airflow CLI of $AIRFLOW_VENV (make airflow-venv) on this project's
# DAGs folder, e.g.
#   scripts/airflow.sh db migrate
#   scripts/airflow.sh dags test imdb_sentiment
#   scripts/airflow.sh scheduler    # and, in another shell: ... webserver
# Each setting below is only a default: the environment's own value wins.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${AIRFLOW_VENV:-$ROOT/.venv-airflow}
VENV=$(cd "$(dirname "$VENV")" && pwd)/$(basename "$VENV")
if [[ ! -x "$VENV/bin/airflow" ]]; then
  echo "error: no Airflow in $VENV; make airflow-venv builds it" >&2
  exit 1
fi

# Airflow's config, SQLite DB and task logs. Not inside the DAGs folder:
# Airflow would parse its files as DAGs.
export AIRFLOW_HOME=${AIRFLOW_HOME:-$ROOT/outputs/airflow/home}
export AIRFLOW__CORE__DAGS_FOLDER=${AIRFLOW__CORE__DAGS_FOLDER:-$ROOT/dags}
case "$(realpath -m "$AIRFLOW_HOME")/" in
  "$(realpath -m "$AIRFLOW__CORE__DAGS_FOLDER")"/*)
    echo "error: AIRFLOW_HOME ($AIRFLOW_HOME) is inside the DAGs folder" \
      "($AIRFLOW__CORE__DAGS_FOLDER)" >&2
    exit 1;;
esac
export AIRFLOW__CORE__LOAD_EXAMPLES=${AIRFLOW__CORE__LOAD_EXAMPLES:-False}
# Parsing the DAG file imports TFX and TensorFlow and packages the module
# files. Measured on 2 idle cores: 8.3 s with the venv's bytecode compiled
# (scripts/ensure_venv.sh compiles it at install), 25 s without. A busy
# machine takes far longer (Airflow's default gives up after 30 s), so allow
# 300 s, and re-parse every 10 minutes rather than every 30 s.
export AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT=${AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT:-300}
export AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT=${AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT:-600}
export AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL=${AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL:-600}
# tf.keras must be Keras 2 (tf_keras) in every task (the DAG file sets it too,
# but only for processes that load it before TensorFlow).
export TF_USE_LEGACY_KERAS=${TF_USE_LEGACY_KERAS:-1}
# The executors start tasks as `airflow tasks run ...`, found on PATH.
export PATH=$VENV/bin:$PATH
exec "$VENV/bin/airflow" "$@"
