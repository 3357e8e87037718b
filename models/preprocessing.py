"""Transform module file: every step from raw review text to model inputs.

Everything here is core TensorFlow (tf.strings, RE2 regular expressions) and
tf.Transform analyzers, so the graph is loadable by stock TensorFlow Serving:
no tensorflow_text ops, no py_func. The helpers are plain TF functions and are
unit-tested without a pipeline.
"""

from typing import Any, Dict, Optional, Sequence, Tuple

import tensorflow as tf
import tensorflow_transform as tft

import contract
from models import vocabulary
from models.settings import label_classes
from models.settings import vocabulary_settings

# RE2 patterns, applied in order by `normalize_text`: two passes over each
# review (each pass over a batch of 256 reviews costs 2-4 ms at serving
# time; five passes were a fifth of a request).
_KEPT_PUNCTUATION = r'([!?])'  # sentiment-bearing: kept as tokens of their own
# Then everything that separates words, replaced by a space in one pass:
# - markup (IMDB reviews carry `<br />`; any tag, from `<` to the next `>`),
#   or a `<` that closes no tag;
# - runs of anything but letters, digits, `!?'`, `<` and the plain space;
# - together with the apostrophes on either side of those: quotes, not the
#   one in "don't";
# - apostrophes next to a plain space, or at either end of the review.
# The plain space is left out of the separators: spaces stay as they are, and
# the pattern matches only where there is something else, instead of at
# every space. A match that takes a space takes the quotes after it too
# (`'+ '*`), or `x' 'y` would keep its second quote. The words are those of
# five passes, one a rule (on every review of the dev archive too);
# tests/models/test_preprocessing.py checks them against the rules written
# in plain Python, on random text.
_SEPARATORS = (r"'*(?:<[^>]*>|[^\pL\pN!?' <]+|<)'*"
               r"|'+ '*| '+|^'+|'+$")


def normalize_text(text: tf.Tensor) -> tf.Tensor:
  """Lower-cases, strips markup and splits punctuation off, element-wise."""
  text = tf.strings.lower(text, encoding='utf-8')
  text = tf.strings.regex_replace(text, _KEPT_PUNCTUATION, r' \1 ')
  return tf.strings.regex_replace(text, _SEPARATORS, ' ')


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
  # The rows come out sorted, as they went in: no need for the validating
  # ops, which are most of the ragged constructor's graph.
  return tf.RaggedTensor.from_value_rowids(
      unique_keys % num_ids, unique_keys // num_ids, nrows=ids.nrows(),
      validate=False)


def hashed_ids(terms, hash_buckets: int):
  """The hashing tokenization's id of each n-gram (the serving signatures
  that name n-grams hash them with this very function)."""
  return tf.strings.to_hash_bucket_fast(terms, hash_buckets)


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
    return hashed_ids(terms, num_ids), num_ids
  ids = vocabulary.compute_and_apply_vocabulary(
      terms,
      top_k=settings['vocabulary_size'],
      frequency_threshold=settings['vocabulary_min_frequency'],
      num_oov_buckets=settings['num_oov_buckets'],
      vocab_filename=contract.VOCABULARY_NAME)
  # Vocabulary ids come first, then the OOV buckets; the vocabulary may come
  # out smaller than top_k, never larger.
  return ids, settings['vocabulary_size'] + settings['num_oov_buckets']


def log_count_ratio(positive_counts: tf.Tensor, negative_counts: tf.Tensor,
                    positive_norm: tf.Tensor, negative_norm: tf.Tensor,
                    smoothing: float) -> tf.Tensor:
  """Naive-Bayes log-count ratio (Wang & Manning 2012): how much more often
  an n-gram occurs in positive than in negative reviews, smoothed.

  `*_counts` are the document counts of the n-grams wanted; `*_norm` the
  smoothed totals over the whole id space, sum(counts + smoothing).
  """
  return (tf.math.log((positive_counts + smoothing) / positive_norm)
          - tf.math.log((negative_counts + smoothing) / negative_norm))


def nb_log_count_ratios(ids: tf.RaggedTensor, labels: tf.Tensor,
                        num_ids: int, smoothing: float) -> tf.RaggedTensor:
  """tf.Transform analyzers: the log-count ratio over `train` of each id.

  Each batch contributes its per-id document counts by class; `tft.sum`
  adds them up over the dataset, so the counts become constants of the
  Transform graph and serving needs no labels. The ratio is then computed
  for the review's ids only: at serving time a request costs a few gathers,
  not a pass over the whole id space.
  """
  # Per id, its reviews of each class: one flat segment sum over the (review,
  # id) pairs each, the class read off the pair's review. No per-class copy
  # of the ragged ids (tf.ragged.boolean_mask): fewer ops to trace, and
  # tf.Transform traces this function about ten times per run.
  is_positive = tf.cast(tf.equal(labels, 1), tf.float32)
  pair_is_positive = tf.gather(is_positive, ids.value_rowids())
  # Shape [1, num_ids]: one partial sum per batch, summed over batches.
  positive_counts = tft.sum(tf.math.unsorted_segment_sum(
      pair_is_positive, ids.values, num_ids)[tf.newaxis],
                            reduce_instance_dims=False)
  negative_counts = tft.sum(tf.math.unsorted_segment_sum(
      1.0 - pair_is_positive, ids.values, num_ids)[tf.newaxis],
                            reduce_instance_dims=False)
  smoothing_total = smoothing * num_ids
  # The smoothed totals: all (review, id) pairs of a class, plus smoothing.
  positive_pairs = tf.reduce_sum(tf.cast(pair_is_positive, tf.int64))
  positive_norm = tft.sum(positive_pairs)
  negative_norm = tft.sum(tf.size(ids.values, tf.int64) - positive_pairs)
  positive_norm = tf.cast(positive_norm, tf.float32) + smoothing_total
  negative_norm = tf.cast(negative_norm, tf.float32) + smoothing_total
  return tf.ragged.map_flat_values(
      lambda flat_ids: log_count_ratio(
          tf.gather(positive_counts, flat_ids),
          tf.gather(negative_counts, flat_ids),
          positive_norm, negative_norm, smoothing), ids)


def class_index(labels: tf.Tensor, classes: Sequence[str]) -> tf.Tensor:
  """A table's class names -> their int64 index in `classes` (-1: unknown;
  ExampleGen lets none through). By comparison with the few names rather
  than a lookup table: the graph's only string lookup stays the vocabulary's
  (runs/transform_tokenizer.py finds the tokenizer by it)."""
  matches = tf.equal(labels[:, tf.newaxis], tf.constant(list(classes)))
  return tf.where(tf.reduce_any(matches, axis=1),
                  tf.argmax(tf.cast(matches, tf.int64), axis=1,
                            output_type=tf.int64),
                  tf.constant(-1, tf.int64))


def nb_one_vs_rest_ratios(ids: tf.RaggedTensor, labels: tf.Tensor,
                          num_classes: int, num_ids: int, smoothing: float
                          ) -> tf.RaggedTensor:
  """tf.Transform analyzers: each id's naive-Bayes log-count ratio per class,
  one class against all the others, as one weight per id.

  With two classes the weight is the second class's ratio, the signed ratio
  `nb_log_count_ratios` gives (its `positive` is class 1). With more, it is
  the largest of the classes' ratios: how strongly the n-gram points to the
  class it favours most; which class that is, the embedding learns.
  """
  # Per (class, id) document counts, as one flat segment sum per batch.
  keys = tf.gather(labels, ids.value_rowids()) * num_ids + ids.values
  batch_counts = tf.math.unsorted_segment_sum(
      tf.ones_like(ids.values, tf.float32), keys, num_classes * num_ids)
  counts = tft.sum(tf.reshape(batch_counts, [1, num_classes, num_ids]),
                   reduce_instance_dims=False)  # [num_classes, num_ids]
  # The smoothed totals of each class: its (review, id) pairs.
  norms = tft.sum(tf.math.unsorted_segment_sum(
      tf.cast(ids.row_lengths(), tf.float32), labels, num_classes)[tf.newaxis],
                  reduce_instance_dims=False)  # [num_classes]
  smoothing_total = smoothing * num_ids
  rest_counts = tf.reduce_sum(counts, axis=0, keepdims=True) - counts
  rest_norms = tf.reduce_sum(norms) - norms

  def weight(flat_ids):
    ratios = log_count_ratio(
        tf.gather(counts, flat_ids, axis=1),
        tf.gather(rest_counts, flat_ids, axis=1),
        (norms + smoothing_total)[:, tf.newaxis],
        (rest_norms + smoothing_total)[:, tf.newaxis], smoothing)
    return ratios[1] if num_classes == 2 else tf.reduce_max(ratios, axis=0)

  return tf.ragged.map_flat_values(weight, ids)


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
  classes = label_classes(custom_config)
  if classes:
    # A table: class names in, their indexes out (the label TFMA reads).
    labels = class_index(labels, classes)
    weights = nb_one_vs_rest_ratios(ids, labels, len(classes), num_ids,
                                    settings['nb_smoothing'])
  else:
    weights = nb_log_count_ratios(ids, labels, num_ids,
                                  settings['nb_smoothing'])
  outputs = {
      contract.TOKEN_IDS_KEY: ids,
      contract.TOKEN_WEIGHTS_KEY: weights,
      contract.LENGTH_BUCKET_KEY: length_bucket(words),
      contract.LABEL_KEY: labels,
  }
  if contract.RATING_KEY in inputs:
    outputs[contract.RATING_KEY] = tf.reshape(inputs[contract.RATING_KEY], [-1])
  return outputs
