"""contract.evaluation on a real TFMA output, computed without a model:
the predictions are features of the examples (TFMA's `prediction_key`)."""

import json
import os
import shutil

import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma

from contract import evaluation

# (label, candidate's prediction, baseline's prediction, slice)
_EXAMPLES = [(1, 0.9, 0.4, b'short'), (0, 0.2, 0.3, b'short'),
             (1, 0.4, 0.8, b'long'), (0, 0.6, 0.1, b'long')]


def _example(label, prediction, baseline, bucket):
  feature = tf.train.Feature
  return tf.train.Example(features=tf.train.Features(feature={
      'label': feature(int64_list=tf.train.Int64List(value=[label])),
      'prediction': feature(float_list=tf.train.FloatList(value=[prediction])),
      'baseline_prediction': feature(
          float_list=tf.train.FloatList(value=[baseline])),
      'bucket': feature(bytes_list=tf.train.BytesList(value=[bucket])),
  })).SerializeToString()


def _set_model_locations(evaluation_uri, locations):
  """Names the models as TFX's Evaluator does (it evaluates SavedModels;
  TFMA alone, without models, records one unnamed location)."""
  path = os.path.join(evaluation_uri, 'eval_config.json')
  with open(path) as f:
    run = json.load(f)
  run['modelLocations'] = locations
  with open(path, 'w') as f:
    json.dump(run, f)


@pytest.fixture(scope='module')
def evaluation_uri(tmp_path_factory):
  root = tmp_path_factory.mktemp('evaluation')
  data = str(root / 'examples.tfrecord')
  with tf.io.TFRecordWriter(data) as writer:
    for example in _EXAMPLES:
      writer.write(_example(*example))
  config = tfma.EvalConfig(
      model_specs=[
          tfma.ModelSpec(name=evaluation.CANDIDATE, label_key='label',
                         prediction_key='prediction'),
          tfma.ModelSpec(name=evaluation.BASELINE, label_key='label',
                         prediction_key='baseline_prediction',
                         is_baseline=True)],
      slicing_specs=[tfma.SlicingSpec(),
                     tfma.SlicingSpec(feature_keys=['bucket'])],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          tfma.MetricConfig(class_name='ExampleCount'),
          tfma.MetricConfig(class_name='BinaryAccuracy')])])
  output = str(root / 'evaluation')
  tfma.run_model_analysis(eval_config=config, data_location=data,
                          output_path=output)
  _set_model_locations(output, {evaluation.CANDIDATE: '/models/2',
                                evaluation.BASELINE: '/models/1'})
  return output


def test_each_model_has_its_own_metrics_and_no_diffs(evaluation_uri):
  """TFMA also records the candidate's `binary_accuracy_diff`: left out."""
  assert sorted(evaluation.model_names(evaluation_uri)) == sorted(
      [evaluation.CANDIDATE, evaluation.BASELINE])
  # Thresholds at 0.5: the candidate gets 2 of 4 right, the baseline 3.
  assert evaluation.overall_metrics(evaluation_uri) == {
      'example_count': 4.0, 'binary_accuracy': 0.5}
  assert evaluation.overall_metrics(
      evaluation_uri, evaluation.BASELINE)['binary_accuracy'] == 0.75


def test_metrics_by_slice(evaluation_uri):
  by_slice = evaluation.evaluation_metrics(evaluation_uri)
  assert set(by_slice) == {(), (('bucket', 'short'),), (('bucket', 'long'),)}
  assert by_slice[(('bucket', 'short'),)]['binary_accuracy'] == 1.0
  assert by_slice[(('bucket', 'long'),)]['binary_accuracy'] == 0.0


def test_an_absent_model_has_no_metrics(evaluation_uri, tmp_path):
  alone = str(tmp_path / 'candidate_alone')
  shutil.copytree(evaluation_uri, alone)
  _set_model_locations(alone, {evaluation.CANDIDATE: '/models/2'})
  assert evaluation.load_evaluation(alone, evaluation.BASELINE) is None
  assert evaluation.overall_metrics(alone, evaluation.BASELINE) == {}
  assert evaluation.overall_metrics(alone)['binary_accuracy'] == 0.5


def test_metric_names_carry_output_and_sub_key_only_when_there_are_any():
  assert evaluation.metric_name('', '', 'auc') == 'auc'
  assert evaluation.metric_name('rating', '', 'mean_absolute_error') == (
      'rating/mean_absolute_error')
  assert evaluation.metric_name('probability', 'classId:1', 'recall') == (
      'probability/classId:1/recall')
