"""A three-class CSV of the users' own, through the whole pipeline as `make
run` runs it: quoted commas, quotes and line breaks inside the texts, a
byte-order mark and empty lines; to a pushed version whose serving_default
answers class names and per-class probabilities, with TFMA's multi-class
metrics in the summary and the report."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from helpers import pipeline_run
from helpers import table_data
import contract
from contract import evaluation
from contract import lineage
from pipeline import configs as config_lib

pytestmark = pytest.mark.e2e
CLASSES = ['billing', 'bug', 'praise']


@pytest.fixture(scope='module')
def table_run(tmp_path_factory):
  root = tmp_path_factory.mktemp('table_run')
  rows = table_data.generated_rows(70, seed=8)
  path = table_data.write_csv(str(root / 'tickets.csv'), rows, bom=True,
                              blank_lines=True)
  env = dict(os.environ, IMDB_DATA=path, OUTPUT_DIR=str(root / 'outputs'))
  env.pop('VERBOSE', None)
  env['PATH'] = pipeline_run.BIN + os.pathsep + env.get('PATH', '')
  stdout = pipeline_run.run_runner(env, str(root))
  return pipeline_run.PipelineRun(config_lib.from_args([], environ=env), env,
                                  str(root), stdout), rows


def _model_dir(config):
  versions = sorted(v for v in os.listdir(config.serving_dir) if v.isdigit())
  assert len(versions) == 1
  return os.path.join(config.serving_dir, versions[0])


def test_the_pushed_model_answers_class_names_and_probabilities(table_run):
  run, rows = table_run
  model_dir = _model_dir(run.config)
  assert f'Pushed model: {model_dir}' in run.stdout
  serve = tf.saved_model.load(model_dir).signatures[
      contract.SERVING_SIGNATURE]
  texts = [r['text'] for r in rows[:30]]
  out = serve(text=tf.constant(texts))
  probabilities = out[contract.PROBABILITIES_OUTPUT_KEY].numpy()
  assert probabilities.shape == (30, 3)
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
  labels = [v.decode() for v in out[contract.LABEL_OUTPUT_KEY].numpy()]
  assert set(labels) <= set(CLASSES)
  assert np.mean([p == r['label'] for p, r in zip(labels, rows)]) > 0.8
  with open(os.path.join(model_dir, 'assets', contract.CLASSES_FILE)) as f:
    assert f.read().splitlines() == CLASSES
  with open(os.path.join(model_dir, 'assets.extra',
                         contract.VERIFICATION_FILE)) as f:
    sample = json.loads(f.readline())
  answer = sample['response']['predictions'][0]
  assert answer[contract.LABEL_OUTPUT_KEY] in CLASSES
  assert len(answer[contract.PROBABILITIES_OUTPUT_KEY]) == 3


def test_tfma_measured_the_multi_class_metrics(table_run):
  run, _ = table_run
  store = lineage.sqlite_store(run.config.metadata_path)
  [artifact] = store.get_artifacts_by_type('ModelEvaluation')
  metrics = evaluation.overall_metrics(artifact.uri)
  accuracy = metrics['probabilities/sparse_categorical_accuracy']
  assert accuracy > 0.8
  f1_scores = []
  for class_id in range(3):
    prefix = f'probabilities/classId:{class_id} topK:1/'
    assert 0 <= metrics[prefix + 'precision'] <= 1
    assert 0 <= metrics[prefix + 'recall'] <= 1
    f1_scores.append(metrics[prefix + 'f1_score'])
  assert metrics['probabilities/macro_f1_score'] == pytest.approx(
      sum(f1_scores) / 3)
  for name in ('probabilities/sparse_categorical_accuracy',
               'probabilities/macro_f1_score',
               'probabilities/classId:2 topK:1/recall'):
    assert name in run.stdout
  assert 'Blessed: yes' in run.stdout


def test_the_report_shows_the_classes(table_run):
  run, _ = table_run
  with open(os.path.join(run.config.output_dir, 'report.html')) as f:
    report = f.read()
  assert 'sparse_categorical_accuracy' in report
  assert 'macro_f1_score' in report
  for name in CLASSES:
    assert name in report
