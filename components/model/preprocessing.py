"""Transform module file: every step from raw review text to model inputs.

Everything here is core TensorFlow (tf.strings, RE2 regular expressions) and
tf.Transform analyzers, so the graph is loadable by stock TensorFlow Serving:
no tensorflow_text ops, no py_func. The helpers are plain TF functions and are
unit-tested without a pipeline.
"""

from typing import Any, Dict, Optional

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


def max_tokens(max_words: int, ngram_max: int) -> int:
  """Number of n-grams a review of `max_words` words yields at most."""
  return sum(max_words - n + 1 for n in range(1, ngram_max + 1))


def length_bucket(words: tf.RaggedTensor) -> tf.Tensor:
  """Bucket name of each review's length in words (for evaluation slices)."""
  num_words = tf.cast(words.row_lengths(), tf.int64)
  boundaries = tf.constant(contract.LENGTH_BUCKET_BOUNDARIES, tf.int64)
  index = tf.searchsorted(boundaries, num_words, side='right')
  return tf.gather(tf.constant(contract.LENGTH_BUCKET_NAMES), index)


def pad_ids(ids: tf.RaggedTensor, length: int) -> tf.Tensor:
  """Shifts ids by one so that 0 is padding, then pads/truncates to `length`."""
  return (ids + 1).to_tensor(default_value=0, shape=[None, length])


def preprocessing_fn(inputs: Dict[str, Any],
                     custom_config: Optional[Dict[str, Any]] = None
                     ) -> Dict[str, Any]:
  """tf.Transform entry point: raw features in, model features out.

  At serving time only `text` is fed; outputs that depend on the label or
  rating are pruned from the graph by tf.Transform.
  """
  settings = vocabulary_settings(custom_config)
  text = tf.reshape(inputs[contract.TEXT_KEY], [-1])
  words = split_words(text)
  kept_words = words[:, :settings['max_words']]
  terms = ngrams(kept_words, settings['ngram_max'])
  ids = tft.compute_and_apply_vocabulary(
      terms,
      top_k=settings['vocabulary_size'],
      frequency_threshold=settings['vocabulary_min_frequency'],
      num_oov_buckets=settings['num_oov_buckets'],
      vocab_filename=contract.VOCABULARY_NAME)
  outputs = {
      contract.TOKEN_IDS_KEY: pad_ids(
          ids, max_tokens(settings['max_words'], settings['ngram_max'])),
      contract.LENGTH_BUCKET_KEY: length_bucket(words),
  }
  for key in (contract.LABEL_KEY, contract.RATING_KEY):
    if key in inputs:
      outputs[key] = tf.reshape(inputs[key], [-1])
  return outputs
