"""Kubeflow Pipelines: compile, submit and schedule the same pipeline.

Names and paths shared by the compiler, the client and the manifests; pure
Python, so the client starts without importing TFX.
"""

import os

import contract
from pipeline.configs import PROJECT_ROOT

PIPELINE_FILE = f'{contract.MODEL_NAME}_pipeline.yaml'
DEFAULT_PIPELINE_DIR = os.path.join(PROJECT_ROOT, 'outputs', 'kubeflow')


def kubernetes_name(name: str) -> str:
  """KFP pipeline and Kubernetes object names allow [a-z0-9-] only."""
  return name.replace('_', '-')
