"""The Keras model that models/model.py builds, and the settings it reads."""

import pytest
import tensorflow as tf

import contract
from models import model as model_lib
from models import settings


def test_build_model_takes_ragged_ids_and_has_two_heads():
  model = model_lib.build_model(num_ids=10, embedding_dim=4,
                                token_dropout=0.1, learning_rate=0.01,
                                rating_loss_weight=0.2)
  out = model({
      contract.TOKEN_IDS_KEY: tf.ragged.constant([[1, 2], [3]], tf.int64),
      contract.TOKEN_WEIGHTS_KEY: tf.ragged.constant([[0.5, -1.0], [2.0]]),
  })
  probability = out[contract.PROBABILITY_OUTPUT_KEY]
  assert probability.shape == (2, 1)
  assert all(0.0 <= float(p) <= 1.0 for p in probability[:, 0])
  assert out['rating_scaled'].shape == (2, 1)


def test_hyperparameters_override_and_keep_types():
  params = settings.hyperparameters({'epochs': '3', 'token_dropout': 0,
                                     'train_pretrained_embeddings': 'false'})
  assert params['epochs'] == 3 and isinstance(params['epochs'], int)
  assert params['token_dropout'] == 0.0
  assert isinstance(params['token_dropout'], float)
  assert params['train_pretrained_embeddings'] is False
  assert params['batch_size'] == settings.DEFAULT_HYPERPARAMETERS['batch_size']
  with pytest.raises(ValueError, match="not a boolean: 'maybe'"):
    settings.hyperparameters({'train_pretrained_embeddings': 'maybe'})


def test_autograph_leaves_keras_itself_alone_and_still_converts_our_layers():
  """AutoGraph's rules skip `keras` but not `tf_keras`, where Keras 2 lives
  here; models/model.py adds the rule (once, however often it is loaded),
  which cut ~30 s of transpiling from each Trainer run."""
  # pylint: disable=g-import-not-at-top
  import importlib
  from tensorflow.python.autograph.core import config as autograph_config
  from tensorflow.python.autograph.impl import conversion
  from tf_keras.src.engine import training
  from models import model_layers
  # pylint: enable=g-import-not-at-top
  importlib.reload(model_lib)
  rules = [str(rule) for rule in autograph_config.CONVERSION_RULES]
  assert rules.count('DoNotConvert rule for tf_keras') == 1
  assert conversion.is_allowlisted(training.Model.train_step)
  assert not conversion.is_allowlisted(
      model_layers.NaiveBayesEmbeddingBag.call)


def test_heads_split_a_width_that_does_not_divide_and_explain_stays_exact():
  """A 50-wide GloVe file and four heads: slices of 12 and 13, and the
  contributions plus the bias are still the served logit."""
  # pylint: disable=g-import-not-at-top
  import numpy as np
  from models import explanations
  from models import model_layers
  # pylint: enable=g-import-not-at-top
  assert model_layers.slice_bounds(50, 4) == [0, 12, 25, 38, 50]
  with pytest.raises(ValueError, match='cannot split 3 embedding dimensions'):
    model_layers.slice_bounds(3, 4)
  model = model_lib.build_model(num_ids=20, embedding_dim=10,
                                token_dropout=0.3, learning_rate=0.01,
                                rating_loss_weight=0.2, sentiment_heads=4)
  ids = tf.ragged.constant([[1, 2, 7], [3], [4, 5, 6, 19]], tf.int64)
  weights = tf.ragged.constant([[0.5, -1.0, 2.0], [2.0], [1.0, 1.0, -3.0,
                                                          0.1]])
  # Trained a step so that the heads differ from their initial weights.
  targets = {contract.PROBABILITY_OUTPUT_KEY: tf.constant([[1.], [0.], [1.]]),
             'sentiment_heads': tf.constant([[1.], [0.], [1.]]),
             'rating_scaled': tf.constant([[0.5], [-0.5], [1.]])}
  features = {contract.TOKEN_IDS_KEY: ids, contract.TOKEN_WEIGHTS_KEY: weights}
  model.fit(tf.data.Dataset.from_tensors((features, targets)), verbose=0)
  probability = model(features)[contract.PROBABILITY_OUTPUT_KEY][:, 0].numpy()
  contributions, bias = explanations.logit_contributions(model, ids, weights)
  logit = tf.reduce_sum(contributions, axis=1).numpy() + float(bias)
  np.testing.assert_allclose(1 / (1 + np.exp(-logit)), probability,
                             rtol=1e-5)
