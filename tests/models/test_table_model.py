"""A table's classes through the module files: the Transform graph's class
index and one-vs-rest weights, run_fn's softmax head and the exported
contract (class names, per-class probabilities), without a pipeline."""

import os
import random

import numpy as np
import pytest
import tensorflow as tf
from tfx.components.trainer import fn_args_utils
from tfx.components.util import tfxio_utils
from tfx.types import artifact_utils
from tfx.types import standard_artifacts

from helpers import table_data
from helpers import transform_util
from components.table_example_gen import rows as table_rows
import contract
from models import model as model_lib

_CONFIG = {'vocabulary_size': 300, 'vocabulary_min_frequency': 1,
           'num_oov_buckets': 1, 'ngram_max': 1, 'max_words': 60,
           'epochs': 4, 'batch_size': 16, 'embedding_dim': 8,
           'learning_rate': 0.05}
CLASSES = ['billing', 'bug', 'praise']


def _raw(table):
  return [{'text': r['text'].encode(), 'label': r['label'].encode()}
          for r in table]


def test_labels_become_indexes_and_weights_are_one_vs_rest(tmp_path):
  table = table_data.generated_rows(20)
  config = {**_CONFIG, contract.LABEL_CLASSES_KEY: CLASSES}
  transformed, output = transform_util.analyze_and_transform(
      _raw(table), config, str(tmp_path), transform_util.TABLE_FEATURE_SPEC)
  assert [row['label'] for row in transformed] == [
      CLASSES.index(r['label']) for r in table]
  # A cue word of one class weighs more than filler shared by all classes.
  layer = output.transform_features_layer()
  out = layer({'text': tf.constant(['refund', 'the'])})
  refund, the = (float(w[0]) for w in out[contract.TOKEN_WEIGHTS_KEY].numpy())
  assert refund > 1.0 and refund > the + 1.0
  assert contract.LABEL_KEY not in out  # serving needs the text only


def test_two_classes_weigh_as_imdb_does(tmp_path):
  """With two classes the weight is the signed ratio of the IMDB path."""
  table = table_data.generated_rows(15, classes=table_data.BINARY_CUES)
  config = {**_CONFIG, contract.LABEL_CLASSES_KEY: ['negative', 'positive']}
  as_table, _ = transform_util.analyze_and_transform(
      _raw(table), config, str(tmp_path / 'table'),
      transform_util.TABLE_FEATURE_SPEC)
  as_imdb, _ = transform_util.analyze_and_transform(
      [{'text': r['text'].encode(), 'label': int(r['label'] == 'positive'),
        'rating': 5} for r in table], _CONFIG, str(tmp_path / 'imdb'))
  for mine, theirs in zip(as_table, as_imdb):
    np.testing.assert_allclose(mine[contract.TOKEN_WEIGHTS_KEY],
                               theirs[contract.TOKEN_WEIGHTS_KEY], rtol=1e-5)
    assert mine['label'] == theirs['label']


def _write_split(uri, split, found):
  split_dir = os.path.join(uri, f'Split-{split}')
  os.makedirs(split_dir)
  with tf.io.TFRecordWriter(os.path.join(split_dir, 'data.gz'),
                            options='GZIP') as writer:
    for row in found:
      writer.write(row.to_example().SerializeToString())
  return os.path.join(split_dir, '*')


def _fn_args(tmp_path, table, classes, target=False):
  """run_fn's arguments for `table` (its last 20 rows the eval split), the
  Transform graph analyzed on the rest; with `target`, each row's score is
  a raw feature (`rating`) and the examples' target."""
  config = {**_CONFIG, contract.LABEL_CLASSES_KEY: classes}
  raw, spec = _raw(table), transform_util.TABLE_FEATURE_SPEC
  if target:
    raw = [dict(row, rating=r['score']) for row, r in zip(raw, table)]
    spec = {**spec, 'rating': tf.io.FixedLenFeature([], tf.float32)}
  parsed = [table_rows.Row('t', 'train', r['text'].encode(), r['label'],
                           target=r['score'] if target else None)
            for r in table]
  train, evals = parsed[:-20], parsed[-20:]
  transform_util.analyze_and_transform(
      raw[:-20], config, str(tmp_path / 'transform'), spec)
  examples = standard_artifacts.Examples()
  examples.uri = str(tmp_path / 'examples')
  examples.split_names = artifact_utils.encode_split_names(['train', 'eval'])
  return fn_args_utils.FnArgs(
      train_files=[_write_split(examples.uri, 'train', train)],
      eval_files=[_write_split(examples.uri, 'eval', evals)],
      transform_output=str(tmp_path / 'transform'),
      serving_model_dir=str(tmp_path / 'serving'),
      model_run_dir=str(tmp_path / 'logs'),
      custom_config=config,
      data_accessor=fn_args_utils.DataAccessor(
          tf_dataset_factory=tfxio_utils.get_tf_dataset_factory_from_artifact(
              [examples], []),
          record_batch_factory=None, data_view_decode_fn=None))


@pytest.fixture(scope='module')
def three_class_model(tmp_path_factory):
  tmp_path = tmp_path_factory.mktemp('three')
  table = table_data.generated_rows(40, seed=4)
  model_lib.run_fn(_fn_args(tmp_path, table, CLASSES))
  return str(tmp_path / 'serving'), table[-20:]


def test_serving_default_returns_class_names_and_probabilities(
    three_class_model):
  model_dir, held_out = three_class_model
  serve = tf.saved_model.load(model_dir).signatures[
      contract.SERVING_SIGNATURE]
  out = serve(text=tf.constant([r['text'] for r in held_out]))
  assert set(out) == {contract.LABEL_OUTPUT_KEY,
                      contract.PROBABILITIES_OUTPUT_KEY}  # no target: one head
  probabilities = out[contract.PROBABILITIES_OUTPUT_KEY].numpy()
  assert probabilities.shape == (20, 3)
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
  labels = [v.decode() for v in out[contract.LABEL_OUTPUT_KEY].numpy()]
  assert labels == [CLASSES[i] for i in probabilities.argmax(axis=1)]
  accuracy = np.mean([p == r['label'] for p, r in zip(labels, held_out)])
  assert accuracy >= 0.8, accuracy  # the cue words are learnable
  with open(os.path.join(model_dir, 'assets', contract.CLASSES_FILE)) as f:
    assert f.read().splitlines() == CLASSES


def test_transform_features_gives_tfma_the_class_index(three_class_model):
  model_dir, held_out = three_class_model
  loaded = tf.saved_model.load(model_dir)
  examples = [table_rows.Row('t', 'test', r['text'].encode(), r['label'])
              .to_example().SerializeToString() for r in held_out[:4]]
  transformed = loaded.signatures[contract.TRANSFORM_SIGNATURE](
      examples=tf.constant(examples))
  assert transformed[contract.LABEL_KEY].numpy().tolist() == [
      CLASSES.index(r['label']) for r in held_out[:4]]
  by_example = loaded.signatures[contract.EXAMPLES_SIGNATURE](
      examples=tf.constant(examples))
  by_text = loaded.signatures[contract.SERVING_SIGNATURE](
      text=tf.constant([r['text'] for r in held_out[:4]]))
  np.testing.assert_allclose(
      by_example[contract.PROBABILITIES_OUTPUT_KEY].numpy(),
      by_text[contract.PROBABILITIES_OUTPUT_KEY].numpy(), rtol=1e-5)


def test_two_table_classes_keep_the_binary_outputs(tmp_path):
  table = table_data.generated_rows(30, classes=table_data.BINARY_CUES,
                                    seed=2)
  model_lib.run_fn(_fn_args(tmp_path, table, ['negative', 'positive']))
  serve = tf.saved_model.load(str(tmp_path / 'serving')).signatures[
      contract.SERVING_SIGNATURE]
  out = serve(text=tf.constant(['superb and moving', 'awful and dull']))
  assert out[contract.LABEL_OUTPUT_KEY].numpy().tolist() == [
      b'positive', b'negative']
  np.testing.assert_allclose(
      out[contract.PROBABILITY_OUTPUT_KEY].numpy(),
      out[contract.PROBABILITIES_OUTPUT_KEY].numpy()[:, 1])


def test_a_target_column_adds_the_regression_head(tmp_path):
  table = table_data.generated_rows(30, seed=6, target=True)
  fn_args = _fn_args(tmp_path, table, CLASSES, target=True)
  model_lib.run_fn(fn_args)
  serve = tf.saved_model.load(fn_args.serving_model_dir).signatures[
      contract.SERVING_SIGNATURE]
  out = serve(text=tf.constant([r['text'] for r in table[-20:]]))
  assert set(out) == {contract.LABEL_OUTPUT_KEY,
                      contract.PROBABILITIES_OUTPUT_KEY,
                      contract.RATING_OUTPUT_KEY}
  # The target is learnt as it is (no 1-10 star scale): score ~ class * 3.
  predicted = out[contract.RATING_OUTPUT_KEY].numpy()
  truth = np.array([r['score'] for r in table[-20:]])
  assert np.mean(np.abs(predicted - truth)) < np.mean(np.abs(truth -
                                                            truth.mean()))
