"""The Keras model's inputs, layer and head names, and its rating scale.

What the input pipeline, the serving signatures and the projector export need
to know of the model built in models/model.py, kept apart so that none of them
imports the Trainer's module file.
"""

from typing import Dict

import tensorflow as tf

import contract

MODEL_INPUT_KEYS = (contract.TOKEN_IDS_KEY, contract.TOKEN_WEIGHTS_KEY)
EMBEDDING_LAYER = 'ngram_embedding'
# The sentiment heads' probabilities, [batch, heads], each trained on the
# label; `probability` is the sigmoid of their mean logit. Head g's logit is
# the Dense layer `sentiment_head(g)`.
SENTIMENT_HEADS = 'sentiment_heads'


def sentiment_head(index: int) -> str:
  return f'sentiment_logit_{index}'


# The rating head learns a rescaled rating; serving returns stars.
RATING_SCALED = 'rating_scaled'
_RATING_CENTER = (contract.MIN_RATING + contract.MAX_RATING) / 2
_RATING_HALF_RANGE = (contract.MAX_RATING - contract.MIN_RATING) / 2


def model_inputs(transformed: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
  """The model's inputs among the Transform graph's outputs."""
  return {key: transformed[key] for key in MODEL_INPUT_KEYS}


def scale_rating(rating: tf.Tensor) -> tf.Tensor:
  """Star rating 1..10 -> the rating head's training target, about -1..1."""
  return (tf.cast(rating, tf.float32) - _RATING_CENTER) / _RATING_HALF_RANGE


def targets(label: tf.Tensor, rating: tf.Tensor) -> Dict[str, tf.Tensor]:
  """The binary model's training targets from a review's 0/1 label and
  star rating: `probability` and every sentiment head learn the label (the
  heads' target is what trains them; `probability`'s loss only reports)."""
  label = tf.cast(label, tf.float32)
  return {contract.PROBABILITY_OUTPUT_KEY: label, SENTIMENT_HEADS: label,
          RATING_SCALED: scale_rating(rating)}


def unscale_rating(scaled: tf.Tensor) -> tf.Tensor:
  """The rating head's output -> a star rating, clipped to 1..10."""
  return tf.clip_by_value(scaled * _RATING_HALF_RANGE + _RATING_CENTER,
                          contract.MIN_RATING, contract.MAX_RATING)
