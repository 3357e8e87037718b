#!/usr/bin/env bash
# Re-resolves requirements.lock from pyproject.toml (Linux x86-64, Python 3.10).
set -euo pipefail
cd "$(dirname "$0")/.."
uv pip compile pyproject.toml --extra test --generate-hashes \
  --python-version 3.10 --python-platform x86_64-manylinux_2_28 \
  -o requirements.lock "$@"
