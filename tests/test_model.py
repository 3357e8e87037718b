"""The Keras model, its exported signatures and the files shipped with it."""

import json
import os
import random

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

import imdb_data
import transform_util
from components.model import contract
from components.model import model as model_lib
from components.model import settings

_CONFIG = {'vocabulary_size': 50, 'vocabulary_min_frequency': 1,
           'num_oov_buckets': 2, 'ngram_max': 2, 'max_words': 30}


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  """A briefly trained model exported with ServingModule, as run_fn does."""
  rng = random.Random(1)
  raw = [{'text': imdb_data.generated_review(rng, i % 2 == 1).encode(),
          'label': i % 2, 'rating': 8 if i % 2 else 2} for i in range(200)]
  data, tft_output = transform_util.analyze_and_transform(
      raw, _CONFIG, str(tmp_path_factory.mktemp('tft')))
  num_ids = (tft_output.vocabulary_size_by_name(contract.VOCABULARY_NAME)
             + _CONFIG['num_oov_buckets'] + 1)
  max_tokens = tft_output.transformed_feature_spec()[
      contract.TOKEN_IDS_KEY].shape[0]
  model = model_lib.build_model(num_ids, max_tokens, embedding_dim=8,
                                dropout=0.0, learning_rate=0.05)
  x = np.stack([row[contract.TOKEN_IDS_KEY] for row in data])
  y = np.array([row[contract.LABEL_KEY] for row in data], np.float32)
  model.fit(x, y, epochs=15, batch_size=32, verbose=0)
  export_dir = str(tmp_path_factory.mktemp('model') / '1')
  module = model_lib.ServingModule(model, tft_output)
  tf.saved_model.save(module, export_dir, signatures=module.signatures())
  return export_dir, num_ids, max_tokens


def test_build_model_shapes():
  model = model_lib.build_model(num_ids=10, max_tokens=7, embedding_dim=4,
                                dropout=0.1, learning_rate=0.01)
  assert model.input_shape == (None, 7)
  assert model.output_shape == (None, 1)
  out = model(tf.constant([[1, 2, 0, 0, 0, 0, 0]], tf.int64))
  assert 0.0 <= float(out[0, 0]) <= 1.0


def test_hyperparameters_override_and_keep_types():
  params = settings.hyperparameters({'epochs': '3', 'dropout': 0})
  assert params['epochs'] == 3 and isinstance(params['epochs'], int)
  assert params['dropout'] == 0.0 and isinstance(params['dropout'], float)
  assert params['batch_size'] == settings.DEFAULT_HYPERPARAMETERS['batch_size']


def test_serving_default_takes_raw_text_and_keeps_the_contract(exported):
  export_dir, _, _ = exported
  loaded = tf.saved_model.load(export_dir)
  serve = loaded.signatures[contract.SERVING_SIGNATURE]
  assert list(serve.structured_input_signature[1]) == [
      contract.SERVING_INPUT_KEY]
  assert set(serve.structured_outputs) == {contract.PROBABILITY_OUTPUT_KEY,
                                           contract.LABEL_OUTPUT_KEY}
  outputs = serve(text=tf.constant([
      'Wonderful, brilliant<br />film. Loved it!',
      'Awful. Boring, a waste; the worst.',
      'zzz unseen words only']))
  probability = outputs[contract.PROBABILITY_OUTPUT_KEY]
  label = outputs[contract.LABEL_OUTPUT_KEY]
  assert probability.dtype == tf.float32 and probability.shape == (3,)
  assert label.dtype == tf.string and label.shape == (3,)
  assert label.numpy().tolist()[:2] == [b'positive', b'negative']
  assert float(probability[0]) > 0.5 > float(probability[1])
  for p, l in zip(probability.numpy(), label.numpy()):
    assert l == (b'positive' if p >= 0.5 else b'negative')


def test_examples_signature_agrees_with_raw_text(exported):
  export_dir, _, _ = exported
  loaded = tf.saved_model.load(export_dir)
  texts = [b'Great and superb', b'dull mess']
  serialized = [tf.train.Example(features=tf.train.Features(feature={
      contract.TEXT_KEY: tf.train.Feature(
          bytes_list=tf.train.BytesList(value=[t])),
  })).SerializeToString() for t in texts]
  from_examples = loaded.signatures[contract.EXAMPLES_SIGNATURE](
      examples=tf.constant(serialized))
  from_text = loaded.signatures[contract.SERVING_SIGNATURE](
      text=tf.constant(texts))
  np.testing.assert_allclose(
      from_examples[contract.PROBABILITY_OUTPUT_KEY].numpy(),
      from_text[contract.PROBABILITY_OUTPUT_KEY].numpy(), rtol=1e-6)


def test_vocabulary_travels_inside_the_saved_model(exported):
  export_dir, _, _ = exported
  assert os.path.exists(os.path.join(export_dir, 'assets',
                                     contract.VOCABULARY_NAME))


def test_warmup_requests_are_prediction_logs_of_raw_text(exported, tmp_path):
  export_dir, _, _ = exported
  path = model_lib.write_warmup_requests(export_dir, ['a review', 'another'])
  assert path == os.path.join(export_dir, 'assets.extra', contract.WARMUP_FILE)
  records = list(tf.data.TFRecordDataset(path))
  assert len(records) == 1
  log = prediction_log_pb2.PredictionLog.FromString(records[0].numpy())
  request = log.predict_log.request
  assert request.model_spec.name == contract.MODEL_NAME
  assert request.model_spec.signature_name == contract.SERVING_SIGNATURE
  assert tf.make_ndarray(request.inputs[contract.SERVING_INPUT_KEY]).tolist() \
      == [b'a review', b'another']


def test_verification_samples_replay_against_the_model(exported):
  export_dir, _, _ = exported
  texts = ['Superb, loved it', 'terrible and dull', 'a film']
  path = model_lib.write_verification_samples(export_dir, texts)
  lines = [json.loads(line) for line in open(path)]
  assert [line['request']['instances'] for line in lines] == [
      [t] for t in texts]
  serve = tf.saved_model.load(export_dir).signatures[
      contract.SERVING_SIGNATURE]
  for line in lines:
    out = serve(text=tf.constant(line['request']['instances']))
    expected = line['response']['predictions'][0]
    assert expected[contract.LABEL_OUTPUT_KEY] == out[
        contract.LABEL_OUTPUT_KEY].numpy()[0].decode()
    assert expected[contract.PROBABILITY_OUTPUT_KEY] == pytest.approx(
        float(out[contract.PROBABILITY_OUTPUT_KEY][0]), abs=1e-6)


def test_read_raw_texts_reads_gzipped_examples(tmp_path):
  path = str(tmp_path / 'data.gz')
  with tf.io.TFRecordWriter(path, options='GZIP') as writer:
    for i in range(5):
      writer.write(imdb_data.reviews.Review(
          f'train/pos/{i}', 1, 9, f'review {i}'.encode()).to_example()
                   .SerializeToString())
  assert model_lib.read_raw_texts([str(tmp_path / '*.gz')], 3) == [
      'review 0', 'review 1', 'review 2']
