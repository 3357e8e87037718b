"""The model's custom layer."""

import numpy as np
import pytest
import tensorflow as tf

from models import model_layers


def test_nb_embedding_bag_is_the_ratio_weighted_sum_over_sqrt_n():
  layer = model_layers.NaiveBayesEmbeddingBag(
      3, 2, token_dropout=0.0,
      embeddings_initializer=tf.keras.initializers.Constant(
          [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
  out = layer(tf.ragged.constant([[0, 1], [2]], tf.int64),
              tf.ragged.constant([[2.0, -1.0], [3.0]]))
  np.testing.assert_allclose(out.numpy(), [[2 / np.sqrt(3), -1 / np.sqrt(3)],
                                           [3 / np.sqrt(2), 3 / np.sqrt(2)]],
                             rtol=1e-6)


def test_nb_embedding_bag_contributions_sum_to_the_projected_vector():
  layer = model_layers.NaiveBayesEmbeddingBag(5, 3, token_dropout=0.5)
  token_ids = tf.ragged.constant([[0, 4, 2], [1], []], tf.int64)
  token_weights = tf.ragged.constant([[0.5, -1.5, 2.0], [3.0], []])
  direction = tf.constant([0.3, -1.0, 2.0])
  vectors = layer(token_ids, token_weights)  # inference: no dropout
  contributions = layer.contributions(token_ids, token_weights, direction)
  assert contributions.row_lengths().numpy().tolist() == [3, 1, 0]
  np.testing.assert_allclose(
      tf.reduce_sum(contributions, axis=1).numpy(),
      tf.linalg.matvec(vectors, direction).numpy(), rtol=1e-5, atol=1e-7)
  # One n-gram's share: its ratio times its embedding's projection, over
  # sqrt(n + 1).
  embedding = layer.embeddings.numpy()[4]
  assert float(contributions[0][1]) == pytest.approx(
      -1.5 * float(embedding @ direction.numpy()) / np.sqrt(4), rel=1e-5)
