"""preprocessing_fn and its helpers, through tf.Transform on a few strings."""

import os
import random
import re
import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from helpers import transform_util
import contract
from models import preprocessing
from models import term_vectors


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


def _reference_words(text: str):
  """The tokenization rules in plain Python: lower-case, tags out, `!` and
  `?` tokens of their own, anything but letters, digits, `!?'` separates
  words, apostrophes touching a separator or an end are dropped."""
  text = re.sub(r'<[^>]*>', ' ', text.lower())
  text = re.sub(r'([!?])', r' \1 ', text)
  text = ''.join(c if unicodedata.category(c)[0] in 'LN' or c in "!?'"
                 else ' ' for c in text)
  return [word.strip("'").encode() for word in text.split()
          if word.strip("'")]


def test_words_follow_the_rules_on_random_text():
  """Separators of every kind, in runs and next to apostrophes (the RE2
  patterns only match runs that are not plain spaces)."""
  rng = random.Random(7)
  alphabet = (list('abcXYZ019') + ["'"] * 4 + list('!?.,;"()-/') +
              [' '] * 6 + ['\t', '\n', '\u00a0', 'é', 'Ü', 'ß', '<br />',
                           '<', '>', '<i>'])
  texts = [''.join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
           for _ in range(3000)]
  assert _words(texts) == [_reference_words(t) for t in texts]


def test_ngrams_lists_unigrams_then_longer_ngrams():
  words = tf.ragged.constant([[b'not', b'good', b'at'], [b'ok']])
  assert preprocessing.ngrams(words, 2).to_list() == [
      [b'not', b'good', b'at', b'not good', b'good at'], [b'ok']]
  assert preprocessing.ngrams(words, 3).to_list()[0][-1] == b'not good at'


def test_length_bucket_uses_contract_boundaries():
  words = tf.ragged.constant([['w'] * 99, ['w'] * 100, ['w'] * 399,
                              ['w'] * 400], dtype=tf.string)
  assert preprocessing.length_bucket(words).numpy().tolist() == [
      name.encode() for name in contract.LENGTH_BUCKET_NAMES]


def test_unique_per_row_keeps_first_occurrences_in_order():
  ids = tf.ragged.constant([[5, 3, 5, 5, 0], [], [3, 3], [7]], dtype=tf.int64)
  assert preprocessing.unique_per_row(ids, 8).to_list() == [
      [5, 3, 0], [], [3], [7]]


def test_log_count_ratio_favours_the_class_that_uses_a_term():
  positive = tf.constant([9.0, 0.0, 3.0])
  negative = tf.constant([0.0, 9.0, 3.0])
  ratios = preprocessing.log_count_ratio(
      positive, negative, tf.reduce_sum(positive + 1.0),
      tf.reduce_sum(negative + 1.0), 1.0).numpy()
  assert ratios[0] == pytest.approx(-ratios[1]) and ratios[0] > 2
  assert ratios[2] == pytest.approx(0.0, abs=1e-6)


_RAW = [
    {'text': b'Good movie<br />good acting', 'label': 1, 'rating': 8},
    {'text': b'GOOD plot, bad ending.', 'label': 0, 'rating': 3},
    {'text': b'good', 'label': 1, 'rating': 9},
]


@pytest.fixture(scope='module')
def transformed(tmp_path_factory):
  config = {'vocabulary_size': 3, 'vocabulary_min_frequency': 1,
            'num_oov_buckets': 1, 'ngram_max': 1, 'max_words': 4}
  return transform_util.analyze_and_transform(
      _RAW, config, str(tmp_path_factory.mktemp('tft')))


def test_vocabulary_keeps_most_frequent_terms(transformed):
  _, output = transformed
  vocabulary = output.vocabulary_by_name(contract.VOCABULARY_NAME)
  assert vocabulary[0] == b'good'  # in all three reviews
  assert len(vocabulary) == 3


def test_ids_are_distinct_per_review_with_a_shared_oov_bucket(transformed):
  data, output = transformed
  vocabulary = output.vocabulary_by_name(contract.VOCABULARY_NAME)
  oov_id = len(vocabulary)  # the one OOV bucket comes after the vocabulary
  first = data[0][contract.TOKEN_IDS_KEY].tolist()
  # 'good movie good acting' -> good, movie, acting (max_words 4), deduplicated
  assert first[0] == vocabulary.index(b'good')
  assert len(first) == len(set(first)) == 3
  assert data[2][contract.TOKEN_IDS_KEY].tolist() == [vocabulary.index(b'good')]
  ids = [i for row in data for i in row[contract.TOKEN_IDS_KEY].tolist()]
  assert oov_id in ids  # 6 distinct words, 3 kept: the rest share the bucket
  assert max(ids) == oov_id


def test_token_weights_are_the_nb_ratios_of_train(transformed):
  data, output = transformed
  vocabulary = output.vocabulary_by_name(contract.VOCABULARY_NAME)
  # Document counts per id and class, computed here from the transformed ids.
  positive_counts = np.zeros(len(vocabulary) + 1)  # + the OOV bucket
  negative_counts = np.zeros(len(vocabulary) + 1)
  for row, raw in zip(data, _RAW):
    target = positive_counts if raw['label'] == 1 else negative_counts
    target[row[contract.TOKEN_IDS_KEY]] += 1
  expected = preprocessing.log_count_ratio(
      tf.constant(positive_counts, tf.float32),
      tf.constant(negative_counts, tf.float32),
      positive_counts.sum() + positive_counts.size,  # smoothing 1 per id
      negative_counts.sum() + negative_counts.size, 1.0).numpy()
  for row in data:
    for term_id, weight in zip(row[contract.TOKEN_IDS_KEY],
                               row[contract.TOKEN_WEIGHTS_KEY]):
      assert weight == pytest.approx(expected[term_id], rel=1e-5)
  good = row[contract.TOKEN_IDS_KEY][0]
  assert vocabulary[good] == b'good'
  # 'good' is in both positive reviews and the negative one: leans positive.
  assert row[contract.TOKEN_WEIGHTS_KEY][0] > 0


def test_serving_needs_only_the_text(transformed):
  _, output = transformed
  features = output.transform_raw_features(
      {contract.TEXT_KEY: tf.constant([b'good acting'])},
      drop_unused_features=True)
  assert set(features) >= {contract.TOKEN_IDS_KEY, contract.TOKEN_WEIGHTS_KEY}


def test_label_passes_through_and_length_bucket(transformed):
  data, _ = transformed
  assert [row[contract.LABEL_KEY] for row in data] == [1, 0, 1]
  assert data[0][contract.LENGTH_BUCKET_KEY] == b'0-99'


def test_hashing_needs_no_vocabulary_and_keeps_ids_in_range(tmp_path):
  config = {'tokenization': contract.HASHING, 'hash_buckets': 64,
            'ngram_max': 2, 'max_words': 10}
  data, output = transform_util.analyze_and_transform(
      _RAW, config, str(tmp_path))
  assert not os.path.exists(os.path.join(
      output.transform_savedmodel_dir, 'assets', contract.VOCABULARY_NAME))
  for row, raw in zip(data, _RAW):
    ids = row[contract.TOKEN_IDS_KEY].tolist()
    assert ids and all(0 <= i < 64 for i in ids)
    assert len(ids) == len(set(ids))
  # The same text hashes to the same ids in every model (no analysis).
  assert data[0][contract.TOKEN_IDS_KEY].tolist()[0] == int(
      tf.strings.to_hash_bucket_fast('good', 64))


def test_unknown_tokenization_is_refused():
  with pytest.raises(ValueError, match='tokenization must be one of'):
    preprocessing.preprocessing_fn(
        {'text': tf.constant([b'x']), 'label': tf.constant([1], tf.int64)},
        {'tokenization': 'bpe'})


def test_term_ratios_from_the_vocabulary_are_those_the_examples_carry(
    tmp_path):
  """models/term_vectors.py feeds each vocabulary term (bigrams too) to the
  graph as a review of its own; it must get the very ratio the graph
  attached to that id in the training examples."""
  raw = _RAW + [{'text': b"Don't miss it!  It's GREAT, really great.",
                 'label': 1, 'rating': 10},
                {'text': b"'Great'? No: it's not great at all.",
                 'label': 0, 'rating': 2}]
  config = {'vocabulary_size': 60, 'vocabulary_min_frequency': 1,
            'num_oov_buckets': 1, 'ngram_max': 2, 'max_words': 50}
  data, output = transform_util.analyze_and_transform(raw, config,
                                                      str(tmp_path))
  vocabulary = [term.decode() for term in
                output.vocabulary_by_name(contract.VOCABULARY_NAME)]
  assert "it's great" in vocabulary and '?' in vocabulary
  ratios = term_vectors.nb_ratios_by_id(output, vocabulary,
                                        len(vocabulary) + 1, batch_size=7)
  seen = {}
  for row in data:
    seen.update(zip(row[contract.TOKEN_IDS_KEY].tolist(),
                    row[contract.TOKEN_WEIGHTS_KEY].tolist()))
  assert sorted(seen) == list(range(len(vocabulary)))  # all terms, no OOV
  for term_id, weight in seen.items():
    assert ratios[term_id] == pytest.approx(weight, rel=1e-6), (
        vocabulary[term_id])
  assert ratios[len(vocabulary)] == 0.0  # the OOV bucket: no term
