"""run_fn as the Trainer calls it, on a few generated reviews (no pipeline)."""

import math
import os
import random

import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.trainer import fn_args_utils
from tfx.components.util import tfxio_utils
from tfx.types import artifact_utils
from tfx.types import standard_artifacts

from helpers import imdb_data
from helpers import transform_util
import contract
from models import model as model_lib
from models import model_interface
from models import warm_start

_CONFIG = {'vocabulary_size': 200, 'vocabulary_min_frequency': 1,
           'num_oov_buckets': 1, 'ngram_max': 2, 'max_words': 40,
           'epochs': 3, 'batch_size': 16, 'embedding_dim': 8}


def _write_split(uri, split, reviews):
  split_dir = os.path.join(uri, f'Split-{split}')
  os.makedirs(split_dir)
  with tf.io.TFRecordWriter(os.path.join(split_dir, 'data.gz'),
                            options='GZIP') as writer:
    for review in reviews:
      writer.write(review.to_example().SerializeToString())
  return os.path.join(split_dir, '*')


def _fn_args(tmp_path, train_steps, config=None):
  config = config or _CONFIG
  rng = random.Random(5)
  reviews = [imdb_data.reviews.Review(
      f'train/x/{i}', i % 2, 9 if i % 2 else 2,
      imdb_data.generated_review(rng, i % 2 == 1).encode()) for i in range(120)]
  transform_util.analyze_and_transform(
      [{'text': r.text, 'label': r.label, 'rating': r.rating}
       for r in reviews[:100]], config, str(tmp_path / 'transform'))
  examples = standard_artifacts.Examples()
  examples.uri = str(tmp_path / 'examples')
  examples.split_names = artifact_utils.encode_split_names(['train', 'eval'])
  train = _write_split(examples.uri, 'train', reviews[:100])
  evals = _write_split(examples.uri, 'eval', reviews[100:])
  return fn_args_utils.FnArgs(
      train_files=[train], eval_files=[evals], train_steps=train_steps,
      transform_output=str(tmp_path / 'transform'),
      serving_model_dir=str(tmp_path / 'serving'),
      model_run_dir=str(tmp_path / 'logs'),
      custom_config=config,
      data_accessor=fn_args_utils.DataAccessor(
          tf_dataset_factory=tfxio_utils.get_tf_dataset_factory_from_artifact(
              [examples], []),
          record_batch_factory=None, data_view_decode_fn=None))


@pytest.fixture()
def fit_calls(monkeypatch):
  """Records the arguments of each Model.fit, then trains for real."""
  calls = []
  original = tf.keras.Model.fit

  def recording_fit(self, *args, **kwargs):
    history = original(self, *args, **kwargs)
    calls.append((kwargs, history))
    return history

  monkeypatch.setattr(tf.keras.Model, 'fit', recording_fit)
  return calls


@pytest.mark.parametrize('train_steps', [None, 10])
def test_run_fn_trains_and_exports_the_contract(tmp_path, fit_calls,
                                                train_steps):
  model_lib.run_fn(_fn_args(tmp_path, train_steps))
  [(kwargs, history)] = fit_calls
  assert kwargs['epochs'] == _CONFIG['epochs']
  if train_steps:
    # A step budget is spread over the epochs.
    assert kwargs['steps_per_epoch'] == math.ceil(
        train_steps / _CONFIG['epochs'])
  else:
    assert kwargs['steps_per_epoch'] is None  # one pass over train per epoch
  assert 1 <= len(history.history['loss']) <= _CONFIG['epochs']
  serving = str(tmp_path / 'serving')
  for path in ('saved_model.pb', f'assets/{contract.VOCABULARY_NAME}',
               f'assets.extra/{contract.WARMUP_FILE}',
               f'assets.extra/{contract.VERIFICATION_FILE}'):
    assert os.path.exists(os.path.join(serving, path)), path
  with open(os.path.join(serving, 'assets.extra',
                         contract.VERIFICATION_FILE)) as f:
    assert len(f.readlines()) == 20  # every eval review, fewer than 32
  # Term vectors for TensorBoard's projector, beside the training logs.
  logs = str(tmp_path / 'logs')
  with open(os.path.join(logs, 'projector', 'metadata.tsv')) as f:
    terms = f.read().splitlines()
  with open(os.path.join(logs, 'projector', 'vectors.tsv')) as f:
    vectors = f.read().splitlines()
  assert len(terms) == len(vectors) > 0
  assert all(len(row.split('\t')) == _CONFIG['embedding_dim']
             for row in vectors)
  assert os.path.exists(os.path.join(logs, 'projector_config.pbtxt'))
  assert contract.EXPLAIN_SIGNATURE in tf.saved_model.load(serving).signatures


def test_a_pass_longer_than_a_check_is_cut_into_checks(tmp_path, fit_calls):
  # 100 training reviews, a check every 30: four checks a pass, at most
  # two passes; early stopping may stop only once the first pass is whole.
  config = {**_CONFIG, 'epochs': 2, 'examples_per_check': 30,
            'early_stopping_patience': 1}
  model_lib.run_fn(_fn_args(tmp_path, None, config))
  [(kwargs, history)] = fit_calls
  assert kwargs['epochs'] == 8
  assert kwargs['steps_per_epoch'] == 2  # 7 steps of 16 a pass, in 4 checks
  assert 4 <= len(history.history['loss']) <= 8
  assert os.path.exists(str(tmp_path / 'serving' / 'saved_model.pb'))


def test_check_schedule():
  schedule = model_lib.check_schedule
  # A pass within a check: one check an epoch, as Keras does by default.
  assert schedule(22_544, 64, 4, 25_000, None) == (4, None, 0)
  assert schedule(22_544, 64, 4, 0, None) == (4, None, 0)
  # Eight times the data: 8 checks a pass of 2,750 steps, monitored from
  # the end of the first pass (the 8th check, index 7).
  assert schedule(176_000, 64, 4, 25_000, None) == (32, 344, 7)
  # A step budget is spread over the epochs, whatever the data.
  assert schedule(176_000, 64, 4, 25_000, 1000) == (4, 250, 0)


def test_run_fn_with_hashing_exports_no_vocabulary_nor_similar_terms(
    tmp_path, fit_calls):
  config = {**_CONFIG, 'tokenization': contract.HASHING, 'hash_buckets': 512}
  model_lib.run_fn(_fn_args(tmp_path, None, config))
  serving = str(tmp_path / 'serving')
  assert not os.path.exists(
      os.path.join(serving, 'assets', contract.VOCABULARY_NAME))
  loaded = tf.saved_model.load(serving)
  assert contract.SIMILAR_TERMS_SIGNATURE not in loaded.signatures
  out = loaded.signatures[contract.SERVING_SIGNATURE](
      text=tf.constant(['a great film']))
  assert out[contract.PROBABILITY_OUTPUT_KEY].shape == (1,)
  # Hashed ids have no names, so `explain` names them from the text.
  explained = loaded.signatures[contract.EXPLAIN_SIGNATURE](
      text=tf.constant(['a great film']))
  terms = set(explained[contract.EXPLAINED_TERM_OUTPUT_KEY].numpy()[0])
  assert terms - {b''} == {b'a', b'great', b'film', b'a great',
                           b'great film'}
  assert float(explained[contract.BIAS_OUTPUT_KEY][0] + explained[
      contract.CONTRIBUTION_TOTAL_OUTPUT_KEY][0]) == pytest.approx(
          float(explained[contract.LOGIT_OUTPUT_KEY][0]), abs=1e-5)
  assert float(explained[contract.PROBABILITY_OUTPUT_KEY][0]) == (
      pytest.approx(float(out[contract.PROBABILITY_OUTPUT_KEY][0])))


def test_run_fn_starts_from_pretrained_vectors_and_can_freeze_them(
    tmp_path, fit_calls, monkeypatch):
  vectors_file = tmp_path / 'vectors.txt'
  vectors_file.write_text(''.join(
      f'{word} {" ".join(["0.25"] * 4)}\n'
      for word in imdb_data.POSITIVE_WORDS + imdb_data.NEGATIVE_WORDS))
  config = {**_CONFIG, 'pretrained_embeddings': str(vectors_file),
            'train_pretrained_embeddings': False}
  built = []
  original = model_lib.build_model

  def recording_build_model(*args, **kwargs):
    built.append(original(*args, **kwargs))
    return built[-1]

  monkeypatch.setattr(model_lib, 'build_model', recording_build_model)
  model_lib.run_fn(_fn_args(tmp_path, None, config))
  [model] = built
  layer = model.get_layer(model_interface.EMBEDDING_LAYER)
  # The dimension follows the file; frozen vectors are still the file's.
  assert layer.embeddings.shape[1] == 4 and not layer.trainable_weights
  vocabulary = [t.decode() for t in tft.TFTransformOutput(
      str(tmp_path / 'transform')).vocabulary_by_name(contract.VOCABULARY_NAME)]
  cue_words = imdb_data.POSITIVE_WORDS + imdb_data.NEGATIVE_WORDS
  found = [i for i, term in enumerate(vocabulary) if term in cue_words]
  assert found
  for term_id in found:
    assert layer.embeddings.numpy()[term_id].tolist() == [0.25] * 4


def test_run_fn_warm_starts_from_a_compatible_base_model(tmp_path,
                                                         monkeypatch):
  config = {**_CONFIG, 'tokenization': contract.HASHING, 'hash_buckets': 512}
  model_lib.run_fn(_fn_args(tmp_path / 'first', None, config))
  base_dir = str(tmp_path / 'first' / 'serving')
  base_embeddings = {v.name: v.numpy() for v in tf.saved_model.load(
      base_dir).model.variables}[
          f'{model_interface.EMBEDDING_LAYER}/embeddings:0']

  starting_embeddings = []
  original_fit = tf.keras.Model.fit

  def fit_recording_start(self, *args, **kwargs):
    starting_embeddings.append(
        self.get_layer(model_interface.EMBEDDING_LAYER).embeddings.numpy())
    return original_fit(self, *args, **kwargs)

  monkeypatch.setattr(tf.keras.Model, 'fit', fit_recording_start)
  fn_args = _fn_args(tmp_path / 'second', None, config)
  fn_args.base_model = base_dir
  model_lib.run_fn(fn_args)
  assert (starting_embeddings[0] == base_embeddings).all()
  record = warm_start.read_training_record(str(tmp_path / 'second' / 'serving'))
  assert record['warm_started_from'] == base_dir

  # Off (--no-warm-start): the base model is not even read.
  assert warm_start.warm_start(None, base_dir, record, enabled=False) == {
      'warm_started_from': None, 'reason': 'warm start is off'}
