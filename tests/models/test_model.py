"""The Keras model, its exported signatures and the files shipped with it."""

import importlib.util
import json
import os
import random

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from helpers import imdb_data
from helpers import transform_util
import contract
from models import model as model_lib
from models import settings

_CONFIG = {'vocabulary_size': 50, 'vocabulary_min_frequency': 1,
           'num_oov_buckets': 2, 'ngram_max': 2, 'max_words': 30}


def _fit(model, data, epochs):
  features = {key: tf.ragged.constant([row[key] for row in data])
              for key in model_lib.MODEL_INPUT_KEYS}
  targets = {
      contract.PROBABILITY_OUTPUT_KEY:
          np.array([row[contract.LABEL_KEY] for row in data], np.float32),
      'rating_scaled': model_lib.scale_rating(
          np.array([row[contract.RATING_KEY] for row in data])),
  }
  dataset = tf.data.Dataset.from_tensor_slices((features, targets)).batch(32)
  return model.fit(dataset, epochs=epochs, verbose=0)


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
  _fit(model, data, epochs=15)
  ratios = np.zeros(num_ids, np.float32)
  for row in data:
    ratios[row[contract.TOKEN_IDS_KEY]] = row[contract.TOKEN_WEIGHTS_KEY]
  export_dir = str(tmp_path_factory.mktemp('model') / '1')
  module = model_lib.ServingModule(
      model, tft_output,
      tft_output.vocabulary_file_by_name(contract.VOCABULARY_NAME),
      ratios[:len(vocabulary)])
  tf.saved_model.save(module, export_dir, signatures=module.signatures())
  return export_dir, vocabulary


def test_build_model_takes_ragged_ids_and_has_two_heads():
  model = model_lib.build_model(num_ids=10, embedding_dim=4,
                                token_dropout=0.1, learning_rate=0.01,
                                rating_loss_weight=0.2)
  out = model({
      contract.TOKEN_IDS_KEY: tf.ragged.constant([[1, 2], [3]], tf.int64),
      contract.TOKEN_WEIGHTS_KEY: tf.ragged.constant([[0.5, -1.0], [2.0]]),
  })
  probability = out[contract.PROBABILITY_OUTPUT_KEY]
  assert probability.shape == (2, 1)
  assert all(0.0 <= float(p) <= 1.0 for p in probability[:, 0])
  assert out['rating_scaled'].shape == (2, 1)


def test_nb_embedding_bag_is_the_ratio_weighted_sum_over_sqrt_n():
  layer = model_lib.NaiveBayesEmbeddingBag(
      3, 2, token_dropout=0.0,
      embeddings_initializer=tf.keras.initializers.Constant(
          [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
  out = layer(tf.ragged.constant([[0, 1], [2]], tf.int64),
              tf.ragged.constant([[2.0, -1.0], [3.0]]))
  np.testing.assert_allclose(out.numpy(), [[2 / np.sqrt(3), -1 / np.sqrt(3)],
                                           [3 / np.sqrt(2), 3 / np.sqrt(2)]],
                             rtol=1e-6)


def test_rating_scaling_round_trips_and_clips():
  ratings = tf.constant([1, 4, 7, 10])
  np.testing.assert_allclose(
      model_lib.unscale_rating(model_lib.scale_rating(ratings)).numpy(),
      [1, 4, 7, 10], rtol=1e-6)
  assert model_lib.unscale_rating(tf.constant([5.0, -5.0])).numpy().tolist() \
      == [10.0, 1.0]


def test_hyperparameters_override_and_keep_types():
  params = settings.hyperparameters({'epochs': '3', 'token_dropout': 0,
                                     'train_pretrained_embeddings': 'false'})
  assert params['epochs'] == 3 and isinstance(params['epochs'], int)
  assert params['token_dropout'] == 0.0
  assert isinstance(params['token_dropout'], float)
  assert params['train_pretrained_embeddings'] is False
  assert params['batch_size'] == settings.DEFAULT_HYPERPARAMETERS['batch_size']
  with pytest.raises(ValueError, match="not a boolean: 'maybe'"):
    settings.hyperparameters({'train_pretrained_embeddings': 'maybe'})


def test_serving_default_takes_raw_text_and_keeps_the_contract(exported):
  export_dir, _ = exported
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
  export_dir, vocabulary = exported
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
  export_dir, _ = exported
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
  export_dir, _ = exported
  assert os.path.exists(os.path.join(export_dir, 'assets',
                                     contract.VOCABULARY_NAME))


def test_warmup_requests_are_prediction_logs_of_raw_text(exported, tmp_path):
  export_dir, _ = exported
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
  export_dir, _ = exported
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


def _write_vectors(path, lines):
  path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
  return str(path)


def test_read_word_vectors_reads_glove_and_word2vec_text(tmp_path):
  glove = _write_vectors(tmp_path / 'glove.txt',
                         ['good 0.1 0.2', 'bad -0.1 -0.2'])
  word2vec = _write_vectors(tmp_path / 'w2v.txt',
                            ['2 2', 'good 0.1 0.2', 'bad -0.1 -0.2'])
  for path in (glove, word2vec):
    vectors = model_lib.read_word_vectors(path)
    assert sorted(vectors) == ['bad', 'good']
    np.testing.assert_allclose(vectors['good'], [0.1, 0.2])


@pytest.mark.parametrize('lines, problem', [
    (['good 0.1 0.2', 'bad 0.3'], r'bad.txt:2: 1 values, earlier lines have 2'),
    (['good 0.1 x'], r"bad.txt:1: vector of 'good' is not numeric"),
    (['lonely'], r'bad.txt:1: expected a word and a vector'),
])
def test_bad_word_vector_files_are_named_with_the_line(tmp_path, lines,
                                                        problem):
  path = _write_vectors(tmp_path / 'bad.txt', lines)
  with pytest.raises(ValueError, match=problem):
    model_lib.read_word_vectors(path)


def test_pretrained_matrix_is_in_vocabulary_order_with_a_fixed_oov_vector():
  vectors = {'good': np.array([1.0, 0.0], np.float32),
             'bad': np.array([0.0, 1.0], np.float32)}
  vocabulary = ['bad', 'good movie', 'good']
  matrix, found = model_lib.pretrained_embedding_matrix(
      vocabulary, num_ids=5, vectors=vectors, seed=0)
  assert matrix.shape == (5, 2) and found == 2
  np.testing.assert_array_equal(matrix[0], [0.0, 1.0])
  np.testing.assert_array_equal(matrix[2], [1.0, 0.0])
  assert np.all(np.abs(matrix[1]) <= 0.05)  # not in the file: small random
  # Both OOV buckets get the same fixed vector: the mean of the file's.
  np.testing.assert_array_equal(matrix[3], [0.5, 0.5])
  np.testing.assert_array_equal(matrix[4], [0.5, 0.5])
  again, _ = model_lib.pretrained_embedding_matrix(vocabulary, 5, vectors, 0)
  np.testing.assert_array_equal(matrix, again)  # deterministic


def test_projector_files_pair_vectors_with_terms(tmp_path):
  vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
  model_lib.write_projector_files(str(tmp_path), vectors,
                                  ['great', 'not\tgood', 'bad'], limit=2)
  rows = (tmp_path / 'projector' / 'vectors.tsv').read_text().splitlines()
  terms = (tmp_path / 'projector' / 'metadata.tsv').read_text().splitlines()
  assert rows == ['0.00000\t1.00000', '2.00000\t3.00000']
  assert terms == ['great', 'not good']
  config = (tmp_path / 'projector_config.pbtxt').read_text()
  assert 'tensor_path: "projector/vectors.tsv"' in config


def test_exported_model_carries_no_optimizer_state(exported):
  export_dir, _ = exported
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
  export_dir, _ = exported
  figures = serving.measure(export_dir, [b'a great film', b'dull mess'],
                            single_requests=30, batch_size=8, batches=3)
  assert figures['batch1_requests'] == 30
  assert 0 < figures['batch1_latency_p50_ms'] <= figures[
      'batch1_latency_p99_ms']
  assert figures['batch8_reviews_per_second'] > 0
