"""Fixtures of the serving tests: the tiny models (serving_support.py), a
serving directory of them, the model server's venv."""

import os
import shutil
import subprocess

import pytest

from helpers import imdb_data
import contract
from serving_support import SERVING_VENV, TINY_VERSIONS, write_tiny_model


@pytest.fixture(scope='session')
def tiny_models(tmp_path_factory):
  """{version: SavedModel directory} of the tiny models, written once."""
  root = tmp_path_factory.mktemp('tiny_models')
  models = {}
  for version, probability in TINY_VERSIONS.items():
    models[version] = str(root / 'staging' / str(version))
    write_tiny_model(models[version], probability)
  return models


@pytest.fixture
def serving_dir(tmp_path, tiny_models):
  """<tmp>/serving/imdb_sentiment holding tiny version 1 only; push(v)
  adds another (a copy of a tiny model, renamed into place as the Pusher
  does)."""
  directory = tmp_path / 'serving' / contract.MODEL_NAME
  directory.mkdir(parents=True)
  shutil.copytree(tiny_models[1], directory / '1')
  return directory


@pytest.fixture(scope='session')
def serving_python():
  """The model server's venv, built from serving/requirements.lock as
  `make serve` builds it (nothing to do when it is up to date)."""
  subprocess.run([os.path.join(imdb_data.PROJECT_ROOT, 'scripts',
                               'ensure_serving_venv.sh')],
                 env=dict(os.environ, SERVING_VENV=SERVING_VENV),
                 check=True, timeout=1200)
  return os.path.join(SERVING_VENV, 'bin', 'python')


