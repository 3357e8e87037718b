"""preprocessing_fn and its helpers, through tf.Transform on a few strings."""

import pytest
import tensorflow as tf

import transform_util
from components.model import contract
from components.model import preprocessing


def _words(texts):
  return preprocessing.split_words(tf.constant(texts)).to_list()


def test_markup_is_removed_and_text_lower_cased():
  assert _words(['Great<br /><br />MOVIE']) == [[b'great', b'movie']]
  assert _words(['<i>Fine</i> acting']) == [[b'fine', b'acting']]


def test_punctuation_is_split_off_or_dropped():
  assert _words(['Awful!!! Why?']) == [
      [b'awful', b'!', b'!', b'!', b'why', b'?']]
  assert _words(['"Don\'t", she said... (really)']) == [
      [b"don't", b'she', b'said', b'really']]


def test_non_ascii_letters_are_kept_and_lower_cased():
  assert _words(['CAFÉ Ünique']) == [['café'.encode(), 'ünique'.encode()]]


def test_ngrams_lists_unigrams_then_bigrams():
  words = tf.ragged.constant([[b'not', b'good', b'at'], [b'ok']])
  assert preprocessing.ngrams(words, 2).to_list() == [
      [b'not', b'good', b'at', b'not good', b'good at'], [b'ok']]
  assert preprocessing.max_tokens(3, 2) == 5


def test_length_bucket_uses_contract_boundaries():
  words = tf.ragged.constant([['w'] * 99, ['w'] * 100, ['w'] * 399,
                              ['w'] * 400], dtype=tf.string)
  assert preprocessing.length_bucket(words).numpy().tolist() == [
      name.encode() for name in contract.LENGTH_BUCKET_NAMES]


def test_pad_ids_reserves_zero_and_truncates():
  ids = tf.ragged.constant([[0, 4, 2], [7]], dtype=tf.int64)
  assert preprocessing.pad_ids(ids, 2).numpy().tolist() == [[1, 5], [8, 0]]


@pytest.fixture(scope='module')
def transformed(tmp_path_factory):
  raw = [
      {'text': b'Good movie<br />good acting', 'label': 1, 'rating': 8},
      {'text': b'GOOD plot, bad ending.', 'label': 0, 'rating': 3},
      {'text': b'good', 'label': 1, 'rating': 9},
  ]
  config = {'vocabulary_size': 3, 'vocabulary_min_frequency': 1,
            'num_oov_buckets': 1, 'ngram_max': 1, 'max_words': 4}
  return transform_util.analyze_and_transform(
      raw, config, str(tmp_path_factory.mktemp('tft')))


def test_vocabulary_keeps_most_frequent_terms(transformed):
  _, output = transformed
  vocabulary = output.vocabulary_by_name(contract.VOCABULARY_NAME)
  assert vocabulary[0] == b'good'  # 4 occurrences
  assert len(vocabulary) == 3


def test_padding_and_oov_ids(transformed):
  data, output = transformed
  vocabulary = output.vocabulary_by_name(contract.VOCABULARY_NAME)
  oov_id = len(vocabulary) + 1  # ids are shifted by one, 0 is padding
  first = data[0][contract.TOKEN_IDS_KEY].tolist()
  assert len(first) == 4  # max_words with unigrams only
  assert first[0] == vocabulary.index(b'good') + 1
  third = data[2][contract.TOKEN_IDS_KEY].tolist()
  assert third == [vocabulary.index(b'good') + 1, 0, 0, 0]
  ids = [i for row in data for i in row[contract.TOKEN_IDS_KEY].tolist()]
  assert oov_id in ids  # 5 distinct words, 3 kept: the rest share the bucket
  assert max(ids) == oov_id


def test_label_passes_through_and_length_bucket(transformed):
  data, _ = transformed
  assert [row[contract.LABEL_KEY] for row in data] == [1, 0, 1]
  assert data[0][contract.LENGTH_BUCKET_KEY] == b'0-99'
