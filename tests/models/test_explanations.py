"""The `explain` signature: exact per-n-gram contributions to the logit."""

import numpy as np
import pytest
import tensorflow as tf

from helpers import small_model
import contract
from models import explanations
from models import preprocessing
from models.settings import vocabulary_settings

REVIEWS = [
    'Wonderful, brilliant<br />film. Loved it! zzz qqq unseen words',
    'Awful awful awful. Boring, a waste; the worst.',
    'A film.',
    'great',
    'zzz qqq great',
    '',
    # Longer than max_words (30): n-grams past the cut are not the model's.
    ' '.join(['superb'] * 5 + [f'word{i}' for i in range(40)] + ['awful']),
]
_K = contract.NUM_EXPLAINED_TERMS


def _ngrams(text: str, settings) -> set:
  """The review's n-grams as the Transform forms them."""
  words = preprocessing.split_words(tf.constant([text]))
  grams = preprocessing.ngrams(words[:, :settings['max_words']],
                               settings['ngram_max'])
  return set(grams.values.numpy().tolist())


@pytest.fixture(scope='module')
def outputs(explained_model):
  loaded = tf.saved_model.load(explained_model)
  text = tf.constant(REVIEWS)
  explained = loaded.signatures[contract.EXPLAIN_SIGNATURE](text=text)
  served = loaded.signatures[contract.SERVING_SIGNATURE](text=text)
  return ({k: v.numpy() for k, v in explained.items()},
          {k: v.numpy() for k, v in served.items()})


def test_explain_takes_raw_text_and_has_the_contracts_outputs(
    explained_model, outputs):
  signature = tf.saved_model.load(explained_model).signatures[
      contract.EXPLAIN_SIGNATURE]
  assert list(signature.structured_input_signature[1]) == [
      contract.SERVING_INPUT_KEY]
  explained, _ = outputs
  n = len(REVIEWS)
  shapes = {key: value.shape for key, value in explained.items()}
  assert shapes == {
      contract.EXPLAINED_TERM_OUTPUT_KEY: (n, _K),
      contract.CONTRIBUTION_OUTPUT_KEY: (n, _K),
      contract.TERM_NGRAMS_OUTPUT_KEY: (n, _K),
      contract.BIAS_OUTPUT_KEY: (n,),
      contract.LOGIT_OUTPUT_KEY: (n,),
      contract.CONTRIBUTION_TOTAL_OUTPUT_KEY: (n,),
      contract.PROBABILITY_OUTPUT_KEY: (n,),
      contract.LABEL_OUTPUT_KEY: (n,),
  }


def test_bias_plus_contributions_is_the_logit_of_serving_default(outputs):
  explained, served = outputs
  probability = served[contract.PROBABILITY_OUTPUT_KEY].astype(np.float64)
  # Briefly trained: the probabilities are not rounded to 0 or 1.
  assert np.all((probability > 1e-4) & (probability < 1 - 1e-4)), probability
  served_logit = np.log(probability / (1 - probability))
  bias = explained[contract.BIAS_OUTPUT_KEY]
  total = explained[contract.CONTRIBUTION_TOTAL_OUTPUT_KEY]
  np.testing.assert_allclose(bias + total, served_logit, atol=2e-3)
  np.testing.assert_allclose(explained[contract.LOGIT_OUTPUT_KEY],
                             served_logit, atol=2e-3)
  np.testing.assert_allclose(explained[contract.PROBABILITY_OUTPUT_KEY],
                             probability, atol=1e-6)
  assert (explained[contract.LABEL_OUTPUT_KEY].tolist()
          == served[contract.LABEL_OUTPUT_KEY].tolist())
  assert len(set(bias.tolist())) == 1
  # The empty review has no n-grams: its logit is the bias.
  assert total[REVIEWS.index('')] == 0
  assert not any(explained[contract.EXPLAINED_TERM_OUTPUT_KEY][
      REVIEWS.index('')])


def test_the_top_terms_are_the_reviews_distinct_ngrams_largest_first(
    outputs):
  explained, _ = outputs
  settings = vocabulary_settings(small_model.EXPLAINED_CONFIG)
  terms = explained[contract.EXPLAINED_TERM_OUTPUT_KEY]
  contributions = explained[contract.CONTRIBUTION_OUTPUT_KEY]
  counts = explained[contract.TERM_NGRAMS_OUTPUT_KEY]
  for review, row_terms, row_contributions, row_counts in zip(
      REVIEWS, terms, contributions, counts):
    ngrams = _ngrams(review, settings)
    named = [t for t in row_terms.tolist() if t]
    assert set(named) <= ngrams, review
    assert len(named) == len(set(named)), review  # repeated n-grams once
    padding = row_terms == b''
    # Padding only after the review's own terms.
    assert not np.any(np.diff(padding.astype(int)) < 0), review
    assert np.all(row_contributions[padding] == 0)
    assert np.all(row_counts[padding] == 0)
    assert np.all(row_counts[~padding] >= 1)
    magnitudes = np.abs(row_contributions[~padding])
    assert np.all(np.diff(magnitudes) <= 0), review
    if padding.any():
      # Fewer ids than k, so all are shown: they stand for every distinct
      # n-gram of the review (within max_words) and sum to the total.
      assert row_counts.sum() == len(ngrams), review
      assert row_contributions.sum() == pytest.approx(
          explained[contract.CONTRIBUTION_TOTAL_OUTPUT_KEY][
              REVIEWS.index(review)], abs=1e-5)
  short = REVIEWS.index('A film.')
  assert set(terms[short].tolist()) - {b''} == {b'a', b'film', b'a film'}
  # A one-word review: that word is the whole of the logit beside the bias.
  single = REVIEWS.index('great')
  assert terms[single].tolist()[0] == b'great'
  assert contributions[single][0] == pytest.approx(
      explained[contract.LOGIT_OUTPUT_KEY][single]
      - explained[contract.BIAS_OUTPUT_KEY][single], abs=1e-5)
  # Past max_words nothing counts (52 distinct n-grams in the first 30
  # words, all shown: 'superb', 'superb superb' and the OOV buckets).
  assert b'awful' not in terms[-1].tolist() and b'' in terms[-1].tolist()


def test_ngrams_sharing_an_oov_bucket_share_its_contribution(
    explained_model, outputs):
  explained, _ = outputs
  with open(f'{explained_model}/assets/{contract.VOCABULARY_NAME}',
            'rb') as f:
    vocabulary = {line.rstrip(b'\n') for line in f}
  row = REVIEWS.index('zzz qqq great')
  terms = explained[contract.EXPLAINED_TERM_OUTPUT_KEY][row].tolist()
  counts = explained[contract.TERM_NGRAMS_OUTPUT_KEY][row].tolist()
  # zzz, qqq, 'zzz qqq', 'qqq great' are out of the vocabulary: two OOV
  # buckets hold the four, each named after its first n-gram.
  assert b'great' in vocabulary and counts[terms.index(b'great')] == 1
  oov = [(t, c) for t, c in zip(terms, counts) if t and t not in vocabulary]
  assert 1 <= len(oov) <= 2 and sum(c for _, c in oov) == 4
  assert oov[0][0] in (b'zzz', b'qqq', b'zzz qqq', b'qqq great')


def _hashed_ids(texts, settings):
  """The Transform's ids of hashed n-grams (preprocessing_fn's steps)."""
  words = preprocessing.split_words(tf.constant(texts))
  grams = preprocessing.ngrams(words[:, :settings['max_words']],
                               settings['ngram_max'])
  ids, num_ids = preprocessing.term_ids(grams, settings)
  return preprocessing.unique_per_row(ids, num_ids)


def test_hashed_ids_are_named_by_their_ngrams_collisions_counted():
  # 7 buckets: collisions are certain among a review's n-grams.
  settings = vocabulary_settings({'tokenization': contract.HASHING,
                                  'hash_buckets': 7, 'ngram_max': 2,
                                  'max_words': 6})
  texts = ['a b c d e f g h', 'x x x', '', 'one']
  token_ids = _hashed_ids(texts, settings)
  names, counts = explanations.NgramNamer(settings, None)(
      tf.constant(texts), token_ids)
  for text, row_ids, row_names, row_counts in zip(
      texts, token_ids.to_list(), names.to_list(), counts.to_list()):
    ngrams = _ngrams(text, settings)
    assert len(row_names) == len(row_ids)
    assert set(row_names) <= ngrams and b'' not in row_names
    # Each name hashes to the id it names; the counts add up to the
    # review's distinct n-grams.
    assert preprocessing.hashed_ids(
        tf.constant(row_names, tf.string), 7).numpy().tolist() == row_ids
    assert sum(row_counts) == len(ngrams)
  assert names.to_list()[1] == [b'x', b'x x']
  assert max(counts.to_list()[0]) > 1


def test_an_id_of_no_ngram_of_the_text_is_named_empty():
  settings = vocabulary_settings({'tokenization': contract.HASHING,
                                  'hash_buckets': 1000})
  token_ids = _hashed_ids(['good film'], settings)
  wrong = tf.ragged.constant([token_ids.to_list()[0] + [999 if 999 not in
                              token_ids.to_list()[0] else 998]], tf.int64)
  names, counts = explanations.NgramNamer(settings, None)(
      tf.constant(['good film']), wrong)
  assert names.to_list()[0][-1] == b'' and counts.to_list()[0][-1] == 0
  assert b'' not in names.to_list()[0][:-1]


def test_top_terms_pads_and_orders_by_magnitude():
  names = tf.ragged.constant([[b'a', b'b', b'c'], []])
  contributions = tf.ragged.constant([[0.5, -2.0, 1.0], []])
  counts = tf.ragged.constant([[1, 1, 3], []])
  terms, values, ngram_counts = explanations.top_terms(
      names, contributions, counts, 4)
  assert terms.numpy().tolist() == [[b'b', b'c', b'a', b''], [b''] * 4]
  assert values.numpy().tolist() == [[-2.0, 1.0, 0.5, 0.0], [0.0] * 4]
  assert ngram_counts.numpy().tolist() == [[1, 3, 1, 0], [0] * 4]
  terms, values, _ = explanations.top_terms(names, contributions, counts, 2)
  assert terms.numpy().tolist() == [[b'b', b'c'], [b'', b'']]
