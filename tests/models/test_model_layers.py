"""The model's custom layer."""

import numpy as np
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
