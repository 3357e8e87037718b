"""The rating head's scale."""

import numpy as np
import tensorflow as tf

from models import model_interface


def test_rating_scaling_round_trips_and_clips():
  ratings = tf.constant([1, 4, 7, 10])
  np.testing.assert_allclose(
      model_interface.unscale_rating(
          model_interface.scale_rating(ratings)).numpy(),
      [1, 4, 7, 10], rtol=1e-6)
  assert model_interface.unscale_rating(
      tf.constant([5.0, -5.0])).numpy().tolist() == [10.0, 1.0]
