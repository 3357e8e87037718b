"""Shared fixtures."""

import os
import shutil

# First: tf.keras is Keras 2 in the tests and the processes they start.
import orchestration  # pylint: disable=unused-import

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

from helpers import small_model  # pylint: disable=g-import-not-at-top,wrong-import-position
from helpers import pipeline_run  # pylint: disable=g-import-not-at-top,wrong-import-position
from contract import serving_directory  # pylint: disable=g-import-not-at-top,wrong-import-position
from pipeline import configs as config_lib  # pylint: disable=g-import-not-at-top,wrong-import-position


# The session's fixtures that cost a pipeline run or a trained model: the
# modules using one of them share a worker, so that it is made once.
_SHARED_SESSION_FIXTURES = ('pushed_run', 'explained_model')


# Before xdist's own hook, which reads the groups into the test ids.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
  """Groups for `pytest -n 2 --dist loadgroup` (pytest-xdist; `make test`):
  a group runs on one worker. A module is one group (its module-scoped
  fixtures are runs or venvs made once); the modules using one of the
  session's `_SHARED_SESSION_FIXTURES` are one group per fixture (the first
  a module uses, in that order), so that it is made once."""
  group_of_module = {}
  for fixture in _SHARED_SESSION_FIXTURES:
    for item in items:
      if fixture in item.fixturenames:
        group_of_module.setdefault(item.module.__name__, fixture)
  for item in items:
    module = item.module.__name__
    item.add_marker(pytest.mark.xdist_group(
        group_of_module.get(module, module)))


@pytest.fixture(scope='session')
def pushed_run(tmp_path_factory):
  """One small real pipeline run, as `make run` does it, that blesses and
  pushes a version. The run report and the local model server are tested on
  what it leaves behind."""
  return pipeline_run.run_small_pipeline(tmp_path_factory.mktemp('pushed_run'))


@pytest.fixture(scope='session')
def cli_rerun(pushed_run, tmp_path_factory):
  """`pushed_run` again on the same data, through the TFX CLI (`tfx pipeline
  create` then `tfx run create`, local engine): every component cached (the
  Evaluator's baseline is never the candidate itself), nothing pushed.
  Returns (served versions before it, its stdout). Tests of the first run read only what that run
  printed and wrote under its own run directory, which this one leaves
  alone."""
  before = serving_directory.available_versions(pushed_run.config.serving_dir)
  stdout = pipeline_run.rerun_through_tfx_cli(
      pushed_run, str(tmp_path_factory.mktemp('tfx_local')))
  return before, stdout


@pytest.fixture(scope='session')
def baseline_run(pushed_run, tmp_path_factory):
  """A copy of `pushed_run`'s output directory, run again there with another
  seed: a new model, evaluated against the first run's blessed one (the
  baseline). The copy keeps `pushed_run`'s own directory as it was."""
  root = tmp_path_factory.mktemp('baseline_run')
  shutil.copytree(pushed_run.config.output_dir, root / 'outputs')
  env = dict(pushed_run.env, OUTPUT_DIR=str(root / 'outputs'))
  stdout = pipeline_run.run_runner(env, str(root), '--seed', '7')
  return pipeline_run.PipelineRun(config_lib.from_args([], environ=env), env,
                                  str(root), stdout)


@pytest.fixture(scope='session')
def explained_model(tmp_path_factory):
  """A small exported model with every signature, `explain` included
  (helpers/small_model.py): no pipeline, a minute or so."""
  return small_model.export_small_model(
      str(tmp_path_factory.mktemp('explained_model')),
      small_model.EXPLAINED_CONFIG, epochs=2, learning_rate=0.01)
