"""The exported signatures and the files shipped with the model."""

import importlib.util
import json
import os
import random

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from helpers import imdb_data
from helpers import small_model
from helpers import transform_util
import contract
from models import model as model_lib
from models import model_interface
from models import serving_export


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
  vocabulary = tft_output.vocabulary_by_name(contract.VOCABULARY_NAME)
  num_ids = len(vocabulary) + _CONFIG['num_oov_buckets']
  model = model_lib.build_model(num_ids, embedding_dim=8, token_dropout=0.0,
                                learning_rate=0.05, rating_loss_weight=0.5)
  small_model.fit(model, data, epochs=15)
  ratios = np.zeros(num_ids, np.float32)
  for row in data:
    ratios[row[contract.TOKEN_IDS_KEY]] = row[contract.TOKEN_WEIGHTS_KEY]
  export_dir = str(tmp_path_factory.mktemp('model') / '1')
  module = serving_export.ServingModule(
      model, tft_output,
      tft_output.vocabulary_file_by_name(contract.VOCABULARY_NAME),
      ratios[:len(vocabulary)])
  tf.saved_model.save(module, export_dir, signatures=module.signatures())
  return export_dir, vocabulary, module


def test_serving_default_takes_raw_text_and_keeps_the_contract(exported):
  export_dir, *_ = exported
  loaded = tf.saved_model.load(export_dir)
  serve = loaded.signatures[contract.SERVING_SIGNATURE]
  assert list(serve.structured_input_signature[1]) == [
      contract.SERVING_INPUT_KEY]
  assert set(serve.structured_outputs) == {contract.PROBABILITY_OUTPUT_KEY,
                                           contract.LABEL_OUTPUT_KEY,
                                           contract.RATING_OUTPUT_KEY}
  outputs = serve(text=tf.constant([
      'Wonderful, brilliant<br />film. Loved it!',
      'Awful. Boring, a waste; the worst.',
      'zzz unseen words only']))
  probability = outputs[contract.PROBABILITY_OUTPUT_KEY]
  label = outputs[contract.LABEL_OUTPUT_KEY]
  rating = outputs[contract.RATING_OUTPUT_KEY]
  assert probability.dtype == tf.float32 and probability.shape == (3,)
  assert label.dtype == tf.string and label.shape == (3,)
  assert label.numpy().tolist()[:2] == [b'positive', b'negative']
  assert float(probability[0]) > 0.5 > float(probability[1])
  for p, l in zip(probability.numpy(), label.numpy()):
    assert l == (b'positive' if p >= 0.5 else b'negative')
  # The rating head learnt 8 stars for positive and 2 for negative reviews.
  assert rating.dtype == tf.float32 and rating.shape == (3,)
  assert all(contract.MIN_RATING <= r <= contract.MAX_RATING
             for r in rating.numpy())
  assert float(rating[0]) > 5.5 > float(rating[1])


def test_similar_terms_names_vocabulary_terms(exported):
  export_dir, vocabulary, _ = exported
  similar = tf.saved_model.load(export_dir).signatures[
      contract.SIMILAR_TERMS_SIGNATURE]
  out = similar(text=tf.constant(['Wonderful, brilliant film. Loved it!',
                                  'Awful, boring, the worst.']))
  terms = out[contract.SIMILAR_TERM_OUTPUT_KEY].numpy()
  scores = out[contract.SIMILARITY_OUTPUT_KEY].numpy()
  assert terms.shape == scores.shape == (2, contract.NUM_SIMILAR_TERMS)
  assert all(term in vocabulary for term in terms.ravel())
  assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
  assert np.all(np.abs(scores) <= 1 + 1e-5)  # cosine similarities
  # Nearest to a positive review: positive words, and vice versa.
  positive_words = {w.encode() for w in imdb_data.POSITIVE_WORDS}
  negative_words = {w.encode() for w in imdb_data.NEGATIVE_WORDS}
  assert terms[0][0] in positive_words and terms[1][0] in negative_words


def test_examples_signature_agrees_with_raw_text(exported):
  export_dir, *_ = exported
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
  export_dir, *_ = exported
  assert os.path.exists(os.path.join(export_dir, 'assets',
                                     contract.VOCABULARY_NAME))


def test_warmup_requests_are_prediction_logs_of_raw_text(exported, tmp_path):
  export_dir, *_ = exported
  path = serving_export.write_warmup_requests(export_dir,
                                              ['a review', 'another'])
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
  export_dir, _, module = exported
  texts = ['Superb, loved it', 'terrible and dull', 'a film']
  path = serving_export.write_verification_samples(export_dir, texts)
  with open(path) as f:
    from_loaded = f.read()
  # What run_fn does: the exporting module's own function, not reloaded.
  serving_export.write_verification_samples(export_dir, texts,
                                            module.serve_text)
  with open(path) as f:
    assert f.read() == from_loaded
  lines = [json.loads(line) for line in from_loaded.splitlines()]
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


def test_exported_model_carries_no_optimizer_state(exported):
  export_dir, *_ = exported
  names = [name for name, _ in tf.train.list_variables(
      os.path.join(export_dir, 'variables', 'variables'))]
  assert any('embeddings' in name for name in names)
  assert not [name for name in names if 'optimizer' in name.lower()]


def test_serving_benchmark_times_the_saved_model(exported):
  """benchmarks/serving.py on a small exported model (figures, not targets)."""
  spec = importlib.util.spec_from_file_location(
      'serving_benchmark',
      os.path.join(imdb_data.PROJECT_ROOT, 'benchmarks', 'serving.py'))
  serving = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(serving)
  export_dir, *_ = exported
  figures = serving.measure(export_dir, [b'a great film', b'dull mess'],
                            single_requests=30, batch_size=8, batches=3)
  assert figures['batch1_requests'] == 30
  assert 0 < figures['batch1_latency_p50_ms'] <= figures[
      'batch1_latency_p99_ms']
  assert figures['batch8_reviews_per_second'] > 0
  assert figures['concurrent_streams'] == (os.cpu_count() or 1)
  assert figures['batch8_concurrent_reviews_per_second'] > 0
