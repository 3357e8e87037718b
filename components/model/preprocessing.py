"""Transform module file: every step from raw review text to model inputs.

Everything here is core TensorFlow (tf.strings, RE2 regular expressions) and
tf.Transform analyzers, so the graph is loadable by stock TensorFlow Serving:
no tensorflow_text ops, no py_func. The helpers are plain TF functions and are
unit-tested without a pipeline.
"""

from typing import Any, Dict, Optional, Tuple

import tensorflow as tf
import tensorflow_transform as tft

from components.model import contract
from components.model.settings import vocabulary_settings

# RE2 patterns, applied in order by `normalize_text`.
_MARKUP = r'<[^>]*>'  # IMDB reviews carry `<br />`; drop any tag
_KEPT_PUNCTUATION = r'([!?])'  # sentiment-bearing: kept as tokens of their own
_OTHER_CHARACTERS = r"[^\pL\pN!?']+"  # everything else separates words
_STRAY_APOSTROPHES = r"(^|\s)'+|'+(\s|$)"  # quotes, but not "don't"


def normalize_text(text: tf.Tensor) -> tf.Tensor:
  """Lower-cases, strips markup and splits punctuation off, element-wise."""
  text = tf.strings.lower(text, encoding='utf-8')
  text = tf.strings.regex_replace(text, _MARKUP, ' ')
  text = tf.strings.regex_replace(text, _KEPT_PUNCTUATION, r' \1 ')
  text = tf.strings.regex_replace(text, _OTHER_CHARACTERS, ' ')
  return tf.strings.regex_replace(text, _STRAY_APOSTROPHES, ' ')


def split_words(text: tf.Tensor) -> tf.RaggedTensor:
  """Normalized words of each review: [batch] -> ragged [batch, (words)]."""
  return tf.strings.split(tf.strings.strip(normalize_text(text)))


def ngrams(words: tf.RaggedTensor, ngram_max: int) -> tf.RaggedTensor:
  """Unigrams up to `ngram_max`-grams, joined by a space; unigrams first."""
  if ngram_max == 1:
    return words
  return tf.strings.ngrams(
      words, ngram_width=tuple(range(1, ngram_max + 1)), separator=' ')


def length_bucket(words: tf.RaggedTensor) -> tf.Tensor:
  """Bucket name of each review's length in words (for evaluation slices)."""
  num_words = tf.cast(words.row_lengths(), tf.int64)
  boundaries = tf.constant(contract.LENGTH_BUCKET_BOUNDARIES, tf.int64)
  index = tf.searchsorted(boundaries, num_words, side='right')
  return tf.gather(tf.constant(contract.LENGTH_BUCKET_NAMES), index)


def unique_per_row(ids: tf.RaggedTensor, num_ids: int) -> tf.RaggedTensor:
  """Drops repeated ids within each row, keeping first occurrences in order.

  The model reads a review as a set of n-grams (binarized, as NBSVM does):
  a word repeated ten times is evidence once. Vectorized over the batch by
  making every (row, id) pair one int64 key.
  """
  keys = ids.value_rowids() * num_ids + ids.values
  unique_keys, _ = tf.unique(keys)
  return tf.RaggedTensor.from_value_rowids(
      unique_keys % num_ids, unique_keys // num_ids, nrows=ids.nrows())


def term_ids(terms: tf.RaggedTensor, settings: Dict[str, Any]
             ) -> Tuple[tf.RaggedTensor, int]:
  """Maps n-grams to ids in [0, num_ids), by vocabulary or by hashing.

  A vocabulary (top-k most frequent n-grams of `train`, rarer ones share the
  OOV buckets) is computed by a tf.Transform analyzer and becomes an asset of
  the graph. Hashing needs no analysis and gives every model the same id
  space, so a model trained on one span can be warm-started on the next.
  Returns the ids and `num_ids`, a static upper bound of the id space.
  """
  if settings['tokenization'] == contract.HASHING:
    num_ids = settings['hash_buckets']
    return tf.strings.to_hash_bucket_fast(terms, num_ids), num_ids
  ids = tft.compute_and_apply_vocabulary(
      terms,
      top_k=settings['vocabulary_size'],
      frequency_threshold=settings['vocabulary_min_frequency'],
      num_oov_buckets=settings['num_oov_buckets'],
      vocab_filename=contract.VOCABULARY_NAME)
  # Vocabulary ids come first, then the OOV buckets; the vocabulary may come
  # out smaller than top_k, never larger.
  return ids, settings['vocabulary_size'] + settings['num_oov_buckets']


def documents_per_id(ids: tf.RaggedTensor, num_ids: int) -> tf.Tensor:
  """How many reviews of the batch contain each id: float32 [num_ids]."""
  return tf.math.unsorted_segment_sum(
      tf.ones_like(ids.values, tf.float32), ids.values, num_ids)


def log_count_ratio(positive_counts: tf.Tensor, negative_counts: tf.Tensor,
                    smoothing: float) -> tf.Tensor:
  """Naive-Bayes log-count ratio per id (Wang & Manning 2012): how much more
  often an n-gram occurs in positive than in negative reviews, smoothed."""
  positive = positive_counts + smoothing
  negative = negative_counts + smoothing
  return (tf.math.log(positive / tf.reduce_sum(positive))
          - tf.math.log(negative / tf.reduce_sum(negative)))


def nb_log_count_ratios(ids: tf.RaggedTensor, labels: tf.Tensor,
                        num_ids: int, smoothing: float) -> tf.Tensor:
  """tf.Transform analyzer: the log-count ratio of every id over `train`.

  Each batch contributes its per-id document counts by class; `tft.sum`
  adds them up over the dataset, so the ratios become a constant of the
  Transform graph and serving needs no labels.
  """
  positive_rows = tf.ragged.boolean_mask(ids, tf.equal(labels, 1))
  negative_rows = tf.ragged.boolean_mask(ids, tf.not_equal(labels, 1))
  counts = tf.stack([documents_per_id(positive_rows, num_ids),
                     documents_per_id(negative_rows, num_ids)])
  # Shape [1, 2, num_ids]: one partial sum per batch, summed over batches.
  totals = tft.sum(counts[tf.newaxis], reduce_instance_dims=False)
  return log_count_ratio(totals[0], totals[1], smoothing)


def preprocessing_fn(inputs: Dict[str, Any],
                     custom_config: Optional[Dict[str, Any]] = None
                     ) -> Dict[str, Any]:
  """tf.Transform entry point: raw features in, model features out.

  At serving time only `text` is fed; outputs that depend on the label or
  rating are pruned from the graph by tf.Transform (the log-count ratios are
  analyzer results, i.e. constants, by then).
  """
  settings = vocabulary_settings(custom_config)
  text = tf.reshape(inputs[contract.TEXT_KEY], [-1])
  words = split_words(text)
  kept_words = words[:, :settings['max_words']]
  ids, num_ids = term_ids(ngrams(kept_words, settings['ngram_max']), settings)
  ids = unique_per_row(ids, num_ids)
  labels = tf.reshape(inputs[contract.LABEL_KEY], [-1])
  ratios = nb_log_count_ratios(ids, labels, num_ids,
                               settings['nb_smoothing'])
  outputs = {
      contract.TOKEN_IDS_KEY: ids,
      contract.TOKEN_WEIGHTS_KEY: tf.gather(ratios, ids),
      contract.LENGTH_BUCKET_KEY: length_bucket(words),
  }
  for key in (contract.LABEL_KEY, contract.RATING_KEY):
    if key in inputs:
      outputs[key] = tf.reshape(inputs[key], [-1])
  return outputs
