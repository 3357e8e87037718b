#!/usr/bin/env bash
# Makes sure $SERVING_VENV (default .venv-serving) holds the local model
# server's locked dependencies (serving/requirements.lock: KServe and
# TensorFlow). A venv of its own: KServe does not install beside TFX
# (tensorflow-data-validation pins pandas<2). The server runs from the source
# tree (python -m serving.model_server), so the project is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SERVING_VENV:-.venv-serving} LOCK=serving/requirements.lock \
  INSTALL_PROJECT=0 exec scripts/ensure_venv.sh
