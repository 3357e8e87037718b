"""The tests' analysis helper (helpers/transform_util.py): an analysis made
again in the same process is a copy of the first, and only then."""

import os
import random

import numpy as np

from helpers import imdb_data
from helpers import transform_util
import contract

_CONFIG = {'vocabulary_size': 50, 'vocabulary_min_frequency': 1,
           'num_oov_buckets': 1, 'ngram_max': 2, 'max_words': 20}


def _raw(seed):
  rng = random.Random(seed)
  return [{'text': imdb_data.generated_review(rng, i % 2 == 1).encode(),
           'label': i % 2, 'rating': 8 if i % 2 else 2} for i in range(12)]


def _key(raw, config):
  return transform_util._analysis_key(  # pylint: disable=protected-access
      raw, config, transform_util.RAW_FEATURE_SPEC)


def test_training_settings_share_an_analysis_and_the_rest_do_not():
  raw = _raw(1)
  key = _key(raw, _CONFIG)
  assert _key(raw, {**_CONFIG, 'epochs': 9, 'embedding_dim': 4,
                    'pretrained_embeddings': '/x/vectors.txt'}) == key
  assert _key(raw, {**_CONFIG, 'ngram_max': 1}) != key
  assert _key(raw, {**_CONFIG, contract.LABEL_CLASSES_KEY: ['a', 'b']}) != key
  assert _key(_raw(2), _CONFIG) != key
  assert _key(raw[:-1], _CONFIG) != key


def test_the_same_analysis_again_is_a_full_copy_with_the_same_rows(tmp_path):
  raw = _raw(3)
  first_rows, _ = transform_util.analyze_and_transform(
      raw, _CONFIG, str(tmp_path / 'first'))
  analyses = dict(transform_util._ANALYSES)  # pylint: disable=protected-access
  # A test may remove its own output: the kept copy is not that directory.
  os.rename(tmp_path / 'first', tmp_path / 'moved')
  again_rows, again = transform_util.analyze_and_transform(
      raw, {**_CONFIG, 'epochs': 2}, str(tmp_path / 'again'))
  # pylint: disable-next=protected-access
  assert transform_util._ANALYSES == analyses
  assert again.transform_savedmodel_dir.startswith(str(tmp_path / 'again'))
  vocabulary = os.path.join('transform_fn', 'assets', contract.VOCABULARY_NAME)
  with open(tmp_path / 'moved' / vocabulary, 'rb') as f:
    assert again.vocabulary_by_name(contract.VOCABULARY_NAME) == (
        f.read().splitlines())
  assert again.raw_feature_spec() == transform_util.RAW_FEATURE_SPEC
  assert len(again_rows) == len(first_rows) == len(raw)
  for mine, theirs in zip(again_rows, first_rows):
    assert mine.keys() == theirs.keys()
    for name in mine:
      assert np.array_equal(mine[name], theirs[name]), name
