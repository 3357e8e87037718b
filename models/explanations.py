"""Exact explanations of the sentiment: what each n-gram of a review adds to
the logit.

The model is additive over n-grams up to its sigmoid: the review vector is a
sum of per-n-gram vectors (models/model_layers.py) and the `probability` head
is affine before the sigmoid, so over the review's distinct n-gram ids

    logit = bias + sum_i r_i * (e_i . w) / sqrt(n + 1)

with nothing left over. With several sentiment heads (models/model.py) the
logit is their mean, and w is their kernels side by side over their number,
the bias their mean bias: still exact. The explanation covers the whole sentiment logit
(not the rating head, which reads the same vector). A later additive part of
the model (a linear NB term, say) adds its per-id contributions in
`logit_contributions`, and the signature stays exact.

The ids get their names from the text itself: `NgramNamer` splits the review
with the Transform's own functions (models/preprocessing.py), gives each
n-gram its id as the Transform graph does (the vocabulary asset with the same
OOV buckets, or the same hash) and names each of the Transform's ids after
the review's first n-gram with that id. The contributions are the
Transform's ids and ratios, what the model saw; the names only label them.
N-grams that share an id (an OOV bucket, a hash collision) share its
contribution, and `term_ngrams` says how many share it.
"""

from typing import Any, Dict, Mapping, Optional, Tuple

import tensorflow as tf

import contract
from models import model_interface
from models import model_layers
from models import preprocessing


def _sentiment_heads(model: tf.keras.Model):
  """The Dense layers of the sentiment heads' logits, in order."""
  heads = []
  while True:
    try:
      heads.append(model.get_layer(model_interface.sentiment_head(len(heads))))
    except ValueError:
      return heads


def sentiment_direction(model: tf.keras.Model) -> Tuple[tf.Tensor, tf.Tensor]:
  """The sentiment logit as one affine map of the review vector: the mean of
  the heads' logits, each head reading its slice of the vector, is the
  vector dotted with their kernels side by side over their number, plus
  their mean bias. Returns (direction [width], bias scalar)."""
  heads = _sentiment_heads(model)
  direction = tf.concat([head.kernel[:, 0] for head in heads], 0)
  bias = tf.add_n([head.bias[0] for head in heads])
  return direction / len(heads), bias / len(heads)


def logit_contributions(model: tf.keras.Model, token_ids: tf.RaggedTensor,
                        token_weights: tf.RaggedTensor
                        ) -> Tuple[tf.RaggedTensor, tf.Tensor]:
  """Each id's contribution to the sentiment logit (ragged like
  `token_ids`) and the logit's bias (a scalar): their sum is the logit."""
  direction, bias = sentiment_direction(model)
  embedding_layer = model.get_layer(model_interface.EMBEDDING_LAYER)
  contributions = embedding_layer.contributions(token_ids, token_weights,
                                                direction)
  return contributions, bias


def sentiment_logit(model: tf.keras.Model, token_ids: tf.RaggedTensor,
                    token_weights: tf.RaggedTensor) -> tf.Tensor:
  """The logit as the model computes it (the review vector through the
  heads' affine maps, their mean, before the sigmoid), not from the
  contributions: what they are checked against."""
  review_vectors = model.get_layer(model_interface.EMBEDDING_LAYER)(
      token_ids, token_weights)
  heads = _sentiment_heads(model)
  bounds = model_layers.slice_bounds(review_vectors.shape[1], len(heads))
  return tf.add_n([
      tf.linalg.matvec(review_vectors[:, bounds[g]:bounds[g + 1]],
                       head.kernel[:, 0]) + head.bias[0]
      for g, head in enumerate(heads)]) / len(heads)


class NgramNamer(tf.Module):
  """Names the Transform graph's n-gram ids of a review by its n-grams."""

  def __init__(self, tokenization: Mapping[str, Any],
               vocabulary_file: Optional[str]):
    """`tokenization`: the settings the Transform ran with
    (models/settings.py `vocabulary_settings`); `vocabulary_file`: its
    vocabulary (vocabulary tokenization), which becomes an asset."""
    super().__init__()
    self._max_words = int(tokenization['max_words'])
    self._ngram_max = int(tokenization['ngram_max'])
    self._hash_buckets = None
    if tokenization['tokenization'] == contract.HASHING:
      self._hash_buckets = int(tokenization['hash_buckets'])
      return
    if not vocabulary_file:
      raise ValueError('vocabulary tokenization: naming n-gram ids needs the '
                       'Transform vocabulary file, none given')
    # As tft.compute_and_apply_vocabulary builds its table: line number = id,
    # unknown n-grams hashed into the OOV buckets after the vocabulary.
    initializer = tf.lookup.TextFileInitializer(
        vocabulary_file, key_dtype=tf.string,
        key_index=tf.lookup.TextFileIndex.WHOLE_LINE, value_dtype=tf.int64,
        value_index=tf.lookup.TextFileIndex.LINE_NUMBER)
    num_oov_buckets = int(tokenization['num_oov_buckets'])
    if num_oov_buckets > 0:
      self._ids = tf.lookup.StaticVocabularyTable(initializer,
                                                  num_oov_buckets)
    else:
      self._ids = tf.lookup.StaticHashTable(initializer, default_value=-1)

  def _ngram_ids(self, ngrams: tf.Tensor) -> tf.Tensor:
    if self._hash_buckets is not None:
      return preprocessing.hashed_ids(ngrams, self._hash_buckets)
    return self._ids.lookup(ngrams)

  def __call__(self, text: tf.Tensor, token_ids: tf.RaggedTensor
               ) -> Tuple[tf.RaggedTensor, tf.RaggedTensor]:
    """(name, number of the review's distinct n-grams with that id) of each
    of `token_ids`, ragged like it; '' and 0 for an id none of the review's
    n-grams has (which would mean the tokenizations differ)."""
    words = preprocessing.split_words(tf.reshape(text, [-1]))
    grams = preprocessing.ngrams(words[:, :self._max_words], self._ngram_max)
    gram_ids = self._ngram_ids(grams.values)
    # One int64 key per (review, id), as preprocessing.unique_per_row makes.
    id_space = 1 + tf.reduce_max(tf.concat(
        [gram_ids, token_ids.values, tf.zeros([1], tf.int64)], 0))
    gram_keys = grams.value_rowids() * id_space + gram_ids
    keys, key_of_gram = tf.unique(gram_keys)
    num_keys = tf.size(keys)
    positions = tf.range(tf.size(gram_keys))
    names = tf.gather(grams.values, tf.math.unsorted_segment_min(
        positions, key_of_gram, num_keys))
    # Distinct n-grams per key: each distinct (review, n-gram) has one key.
    _, pair_of_gram = tf.unique(tf.strings.join(
        [tf.strings.as_string(grams.value_rowids()), grams.values], ' '))
    num_pairs = tf.reduce_max(tf.concat([pair_of_gram, [-1]], 0)) + 1
    key_of_pair = tf.gather(key_of_gram, tf.math.unsorted_segment_min(
        positions, pair_of_gram, num_pairs))
    ngram_counts = tf.math.unsorted_segment_sum(
        tf.ones([num_pairs], tf.int32), key_of_pair, num_keys)

    # Each Transform id's key, looked up among the n-grams' (sorted, with a
    # sentinel above any key so that every lookup lands somewhere).
    order = tf.argsort(keys)
    sorted_keys = tf.concat([tf.gather(keys, order), [tf.int64.max]], 0)
    token_keys = token_ids.value_rowids() * id_space + token_ids.values
    at = tf.searchsorted(sorted_keys, token_keys, side='left')
    found = tf.equal(tf.gather(sorted_keys, at), token_keys)
    sorted_names = tf.concat([tf.gather(names, order), ['']], 0)
    sorted_counts = tf.concat([tf.gather(ngram_counts, order), [0]], 0)
    return (token_ids.with_values(
                tf.where(found, tf.gather(sorted_names, at), '')),
            token_ids.with_values(
                tf.where(found, tf.gather(sorted_counts, at), 0)))


def top_terms(names: tf.RaggedTensor, contributions: tf.RaggedTensor,
              ngram_counts: tf.RaggedTensor, k: int
              ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
  """The `k` terms of each review with the largest |contribution|, largest
  first, as dense [batch, k] tensors; '', 0 and 0 past the review's own."""
  present = tf.ones_like(contributions, tf.bool).to_tensor(False)
  width = tf.shape(present)[1]
  padding = [[0, 0], [0, tf.maximum(0, k - width)]]
  present = tf.pad(present, padding, constant_values=False)
  values = tf.pad(contributions.to_tensor(0.0), padding)
  _, index = tf.math.top_k(tf.where(present, tf.abs(values), -1.0), k=k)
  pick = lambda dense: tf.gather(dense, index, batch_dims=1)
  return (pick(tf.pad(names.to_tensor(''), padding, constant_values='')),
          pick(values),
          pick(tf.pad(ngram_counts.to_tensor(0), padding)))


def explain(model: tf.keras.Model, namer: NgramNamer, text: tf.Tensor,
            model_inputs: Dict[str, tf.Tensor],
            k: int = contract.NUM_EXPLAINED_TERMS) -> Dict[str, tf.Tensor]:
  """The `explain` signature's explanation outputs for raw `text` and its
  Transform outputs `model_inputs` (contract/__init__.py names them)."""
  token_ids = model_inputs[contract.TOKEN_IDS_KEY]
  token_weights = model_inputs[contract.TOKEN_WEIGHTS_KEY]
  contributions, bias = logit_contributions(model, token_ids, token_weights)
  names, ngram_counts = namer(text, token_ids)
  terms, top_contributions, top_counts = top_terms(
      names, contributions, ngram_counts, k)
  logit = sentiment_logit(model, token_ids, token_weights)
  return {
      contract.EXPLAINED_TERM_OUTPUT_KEY: terms,
      contract.CONTRIBUTION_OUTPUT_KEY: top_contributions,
      contract.TERM_NGRAMS_OUTPUT_KEY: top_counts,
      contract.BIAS_OUTPUT_KEY: tf.fill(tf.shape(logit), bias),
      contract.LOGIT_OUTPUT_KEY: logit,
      contract.CONTRIBUTION_TOTAL_OUTPUT_KEY: tf.reduce_sum(contributions,
                                                            axis=1),
  }
