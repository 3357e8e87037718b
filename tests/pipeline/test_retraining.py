"""Scheduled retraining, played as a user's scheduler plays it: new spans land
in a data root and the same command runs after each.

Span 1 -> version 1. Span 2 -> version 2, warm-started from version 1 (hashing
keeps the two compatible). Span 3 has a broken label distribution -> the run
fails before training and the serving directory is left exactly as it was.
Then a rollback serves version 1 through models.config.
"""

import json
import os
import subprocess
import sys

import ml_metadata as mlmd
import pytest
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata

from helpers import imdb_data
from helpers import pipeline_run
import contract
from pipeline import configs as config_lib
from serving import releases
from contract import serving_directory

pytestmark = pytest.mark.e2e

# Hashing: every model shares one id space, so version 2 can start from
# version 1's weights (a vocabulary would change with span 2's reviews).
_SETTINGS = ['--tokenization', 'hashing', '--hash-buckets', '16384',
             '--epochs', '3']


def _add_span(data_root, span, files):
  imdb_data.write_tree(str(data_root), files, top=f'span-{span}')


def _run(history, *extra):
  """The scheduler's command; (exit status, stdout, stderr)."""
  result = subprocess.run(
      [sys.executable, pipeline_run.RUNNER, *_SETTINGS, *extra],
      env=history['env'], cwd=history['cwd'], capture_output=True, text=True,
      timeout=1500)
  return result.returncode, result.stdout, result.stderr


def _ok(history, *extra):
  code, stdout, stderr = _run(history, *extra)
  assert code == 0, f'{stdout[-3000:]}\n{stderr[-5000:]}'
  return stdout


def _release(config, version):
  with open(os.path.join(config.serving_dir, str(version), 'assets.extra',
                         contract.RELEASE_FILE)) as f:
    return json.load(f)


def _tree(directory):
  """Every path with its size and modification time: 'exactly as it was'."""
  listing = {}
  for root, _, names in os.walk(directory):
    for name in names:
      path = os.path.join(root, name)
      stat = os.stat(path)
      listing[os.path.relpath(path, directory)] = (stat.st_size,
                                                   stat.st_mtime_ns)
  return listing


@pytest.fixture(scope='module')
def history(tmp_path_factory):
  root = tmp_path_factory.mktemp('retraining')
  data_root = root / 'reviews'
  data_root.mkdir()
  env = dict(os.environ, IMDB_DATA=str(data_root),
             OUTPUT_DIR=str(root / 'outputs'))
  env.pop('VERBOSE', None)
  env['PATH'] = pipeline_run.BIN + os.pathsep + env.get('PATH', '')
  state = {'data_root': data_root, 'env': env, 'cwd': str(root),
           'config': config_lib.from_args(_SETTINGS, environ=env)}

  _add_span(data_root, 1, imdb_data.generated_corpus(
      {'train': 120, 'test': 40}, seed=11))
  state['round1'] = _ok(state)
  state['versions1'] = serving_directory.available_versions(state['config'].serving_dir)

  _add_span(data_root, 2, imdb_data.generated_corpus(
      {'train': 120, 'test': 40}, seed=12))
  state['round2'] = _ok(state)
  state['versions2'] = serving_directory.available_versions(state['config'].serving_dir)
  return state


def test_span_1_pushes_version_1_trained_from_scratch(history):
  assert len(history['versions1']) == 1
  stdout = history['round1']
  assert 'Data: span 1 ingested; trained on span(s) 1' in stdout
  assert ('Warm start: no, trained from scratch (no blessed model trained on '
          'other examples)') in stdout
  release = _release(history['config'], history['versions1'][0])
  assert release['spans'] == [1]
  assert release['version'] == history['versions1'][0]
  assert 0.8 <= release['metrics']['probability/binary_accuracy'] <= 1


def test_span_2_pushes_version_2_warm_started_from_version_1(history):
  [first] = history['versions1']
  assert history['versions2'][0] == first and len(history['versions2']) == 2
  second = history['versions2'][1]
  stdout = history['round2']
  assert 'Data: span 2 ingested; trained on span(s) 2' in stdout
  assert 'Warm start: from ' in stdout, stdout
  release = _release(history['config'], second)
  assert release['spans'] == [2]
  # Judged against version 1 on span 2's test split.
  assert release['baseline_metrics']['probability/binary_accuracy'] > 0.5
  with open(os.path.join(history['config'].serving_dir, str(second),
                         'assets.extra', contract.TRAINING_FILE)) as f:
    training = json.load(f)
  assert training['warm_started_from'].endswith('Format-Serving')
  assert training['tokenization']['tokenization'] == 'hashing'


def test_a_drifted_span_3_stops_before_training_and_changes_nothing(history):
  config = history['config']
  before = _tree(os.path.dirname(config.serving_dir))
  only_positive = {name: text for name, text in imdb_data.generated_corpus(
      {'train': 120, 'test': 40}, seed=13).items() if '/pos/' in name}
  _add_span(history['data_root'], 3, only_positive)

  code, stdout, stderr = _run(history)
  assert code == 1, stdout[-2000:]
  output = stdout + stderr
  assert 'ValidationGate failed' in output
  assert ('DistributionValidator (drift from the previous span) found '
          'anomalies') in output
  assert 'share of positive reviews moved by more than 0.1' in output
  assert _tree(os.path.dirname(config.serving_dir)) == before
  assert serving_directory.available_versions(config.serving_dir) == history[
      'versions2']

  # The reason is in ML Metadata too, on the failed gate's execution.
  store = mlmd.MetadataStore(
      metadata.sqlite_metadata_connection_config(config.metadata_path))
  gate = max(store.get_executions_by_context(
      store.get_context_by_type_and_name(
          'node', f'{config.pipeline_name}.ValidationGate').id),
             key=lambda execution: execution.id)
  assert gate.last_known_state == metadata_store_pb2.Execution.FAILED
  recorded = str(gate.custom_properties)
  assert 'share of positive reviews' in recorded, recorded


def test_rollback_serves_version_1_through_models_config(history, capsys):
  config = history['config']
  [first, second] = history['versions2']
  assert releases.main(['--output-dir', config.output_dir, 'rollback',
                        str(first)]) == 0
  config_path = serving_directory.default_model_config_path(config.serving_dir)
  policy = serving_directory.read_version_policy(config_path)
  assert list(policy.model_version_policy.specific.versions) == [first]
  assert releases.served(config.serving_dir, config_path) == [first]
  assert serving_directory.available_versions(config.serving_dir) == [first, second]
  capsys.readouterr()
  releases.main(['--output-dir', config.output_dir, 'list'])
  assert f'Served: {first} (pinned by' in capsys.readouterr().out
