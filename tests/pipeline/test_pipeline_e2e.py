"""The whole pipeline with LocalDagRunner, as a user runs it.

On the session's run on a generated corpus (runs anywhere; see conftest.py),
then through the TFX CLI a second time on the same data, and on a slice of
the real reviews when ../shared/data/aclImdb_dev.tar.gz is present.
"""

import glob
import json
import os
import re
import sys

import numpy as np
import pytest
import tensorflow as tf

from helpers import imdb_data
from helpers import pipeline_run
import contract
from contract import evaluation
from contract import lineage
from pipeline import configs as config_lib
from runs import summary

pytestmark = pytest.mark.e2e


def _env(data, output_dir, **extra):
  env = dict(os.environ, IMDB_DATA=data, OUTPUT_DIR=output_dir, **extra)
  env['PATH'] = pipeline_run.BIN + os.pathsep + env.get('PATH', '')
  return env


def _versions(serving_dir):
  return sorted(int(v) for v in os.listdir(serving_dir) if v.isdigit())


# The sentiment head's accuracy, as the evaluation names it.
_ACCURACY = evaluation.metric_name(contract.PROBABILITY_OUTPUT_KEY, '',
                                   'binary_accuracy')


def _latest_artifact_uri(config, type_name):
  store = lineage.sqlite_store(config.metadata_path)
  artifacts = store.get_artifacts_by_type(type_name)
  return max(artifacts, key=lambda a: a.id).uri


def _test_split(config, split='test'):
  """(texts, labels) of a split ExampleGen wrote (by default `test`)."""
  uri = _latest_artifact_uri(config, 'Examples')
  files = glob.glob(os.path.join(uri, f'Split-{split}', '*.gz'))
  texts, labels = [], []
  for record in tf.data.TFRecordDataset(files, compression_type='GZIP'):
    example = tf.train.Example.FromString(record.numpy())
    texts.append(example.features.feature['text'].bytes_list.value[0])
    labels.append(example.features.feature['label'].int64_list.value[0])
  return texts, np.array(labels)


def _serving_accuracy(model_dir, texts, labels):
  serve = tf.saved_model.load(model_dir).signatures[contract.SERVING_SIGNATURE]
  predicted = []
  for start in range(0, len(texts), 256):
    out = serve(text=tf.constant(texts[start:start + 256]))
    predicted.extend(out[contract.LABEL_OUTPUT_KEY].numpy().tolist())
  return float(np.mean(
      (np.array(predicted) == b'positive').astype(int) == labels))


def test_run_pushes_one_integer_version_with_its_assets(pushed_run):
  config, stdout = pushed_run.config, pushed_run.stdout
  versions = _versions(config.serving_dir)
  assert len(versions) == 1
  model_dir = os.path.join(config.serving_dir, str(versions[0]))
  assert f'Pushed model: {model_dir}' in stdout
  assert 'binary_accuracy' in stdout
  for path in ('saved_model.pb', 'variables',
               f'assets/{contract.VOCABULARY_NAME}',
               f'assets.extra/{contract.WARMUP_FILE}',
               f'assets.extra/{contract.VERIFICATION_FILE}'):
    assert os.path.exists(os.path.join(model_dir, path)), path
  with open(os.path.join(model_dir, 'assets.extra',
                         contract.VERIFICATION_FILE)) as f:
    samples = [json.loads(line) for line in f]
  eval_texts, _ = _test_split(config, 'eval')
  assert len(samples) == min(contract.NUM_VERIFICATION_SAMPLES,
                             len(eval_texts))
  assert {s['request']['instances'][0].encode() for s in samples} <= set(
      eval_texts)


def test_outputs_stay_under_the_output_directory(pushed_run):
  config = pushed_run.config
  for path in (config.pipeline_root, config.metadata_path, config.serving_dir):
    assert path.startswith(config.output_dir + os.sep)
    assert os.path.exists(path)
  assert not os.path.exists(os.path.join(imdb_data.PROJECT_ROOT, 'outputs',
                                         'pipeline_root', 'never'))


def test_pushed_model_answers_raw_text_with_tensorflow_alone(pushed_run):
  config, env = pushed_run.config, pushed_run.env
  model_dir = os.path.join(config.serving_dir,
                           str(_versions(config.serving_dir)[-1]))
  script = os.path.join(imdb_data.PROJECT_ROOT, 'tests', 'helpers',
                        'served_model_check.py')
  report = json.loads(pipeline_run.run_command(
      [sys.executable, script, model_dir], env,
      str(config.output_dir)).strip().splitlines()[-1])
  assert report['tfx_modules_loaded'] == []
  assert contract.SERVING_SIGNATURE in report['signatures']
  assert contract.EXAMPLES_SIGNATURE in report['signatures']
  assert contract.SIMILAR_TERMS_SIGNATURE in report['signatures']
  assert report['outputs'] == {
      contract.PROBABILITY_OUTPUT_KEY: ['float32', [2]],
      contract.LABEL_OUTPUT_KEY: ['string', [2]],
      contract.RATING_OUTPUT_KEY: ['float32', [2]]}
  assert report['labels'] == ['positive', 'negative']
  assert report['verification_samples'] > 0
  assert report['verification_mismatches'] == 0


def test_evaluator_accuracy_equals_serving_default_accuracy(pushed_run):
  config = pushed_run.config
  evaluation_uri = _latest_artifact_uri(config, 'ModelEvaluation')
  tfma_accuracy = evaluation.overall_metrics(evaluation_uri)[_ACCURACY]
  texts, labels = _test_split(config)
  model_dir = os.path.join(config.serving_dir,
                           str(_versions(config.serving_dir)[-1]))
  assert len(texts) == 100
  assert tfma_accuracy == pytest.approx(
      _serving_accuracy(model_dir, texts, labels), abs=1e-9)
  assert tfma_accuracy > 0.8  # the generated reviews are easy to separate


def test_second_run_through_the_tfx_cli_is_cached_and_pushes_nothing(
    pushed_run, cli_rerun):
  """Nothing executes: the baseline resolver never gives the Evaluator the
  candidate itself (the first run's model, from the cached Trainer), so its
  inputs are the first run's, and so are the Pusher's: nothing is pushed."""
  config = pushed_run.config
  before, stdout = cli_rerun
  assert len(before) == 1  # the first run pushed one version
  assert _versions(config.serving_dir) == before
  run = summary.latest_run(config.metadata_path, config.pipeline_name)
  states = {name: state for name, state, _ in run.components}
  for component in ('ImdbExampleGen', 'StatisticsGen', 'ExampleValidator',
                    'ValidationGate', 'Transform', 'Trainer', 'Evaluator',
                    'Pusher'):
    assert states[component] == 'cached', (component, states)
  assert not run.pushed
  # Its report takes the artifact-only sections from the first run's report
  # (the same artifacts) instead of computing them again, and says so.
  report_path = re.search(r'^Report: (.+)$', stdout, re.M).group(1)
  first_report = re.search(r'^Report: (.+)$', pushed_run.stdout, re.M).group(1)
  with open(report_path, encoding='utf-8') as f:
    page = f.read()
  first_run_dir = os.path.basename(os.path.dirname(first_report))
  assert f'href="../{first_run_dir}/report.html"' in page
  assert 'reused rather than computed again' in page


@pytest.mark.realdata
@pytest.mark.skipif(not imdb_data.has_shared_archive(),
                    reason='../shared/data/aclImdb_dev.tar.gz is absent')
def test_real_reviews_slice_end_to_end(tmp_path):
  """A slice of the real data, as the first span of a data root of spans
  (what a scheduled retraining reads)."""
  files = imdb_data.real_corpus({'train': 1500, 'test': 300})
  data_root = str(tmp_path / 'data')
  imdb_data.write_tree(data_root, files, top='span-1')
  output_dir = str(tmp_path / 'outputs')
  env = _env(data_root, output_dir)
  stdout = pipeline_run.run_runner(env, str(tmp_path), '--epochs', '6')
  config = config_lib.from_args([], environ=env)
  versions = _versions(config.serving_dir)
  assert len(versions) == 1, stdout
  model_dir = os.path.join(config.serving_dir, str(versions[0]))
  texts, labels = _test_split(config)
  assert len(texts) == 600
  accuracy = _serving_accuracy(model_dir, texts, labels)
  tfma_accuracy = evaluation.overall_metrics(
      _latest_artifact_uri(config, 'ModelEvaluation'))[_ACCURACY]
  assert tfma_accuracy == pytest.approx(accuracy, abs=1e-9)
  assert accuracy > 0.75, accuracy  # chance is 0.5
  assert 'Data: span 1 ingested; trained on span(s) 1' in stdout
  with open(os.path.join(model_dir, 'assets.extra',
                         contract.RELEASE_FILE)) as f:
    release = json.load(f)
  assert release['spans'] == [1]
  assert release['metrics'][_ACCURACY] == pytest.approx(
      accuracy, abs=1e-9)
  print(f'real-data slice: test accuracy {accuracy:.4f} on {len(texts)}')
