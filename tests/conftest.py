"""Shared fixtures. TF_USE_LEGACY_KERAS must be set before TensorFlow loads."""

import os

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

import pipeline_run  # pylint: disable=g-import-not-at-top,wrong-import-position


@pytest.fixture(scope='session')
def pushed_run(tmp_path_factory):
  """One small real pipeline run, as `make run` does it, that blesses and
  pushes a version. The run report and the local model server are tested on
  what it leaves behind."""
  return pipeline_run.run_small_pipeline(tmp_path_factory.mktemp('pushed_run'))
