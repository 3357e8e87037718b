"""The model's custom Keras pieces: the NB-weighted embedding bag layer and the
LazyAdam optimizer that trains its n-gram table sparsely."""

from typing import Any, List

import tensorflow as tf


def slice_bounds(width: int, groups: int) -> List[int]:
  """Where each of `groups` slices of a `width`-wide vector starts, and the
  end: as equal as can be (a 50-wide GloVe table gives 4 heads 12 or 13)."""
  if not 1 <= groups <= width:
    raise ValueError(f'cannot split {width} embedding dimensions into '
                     f'{groups} slices (sentiment_heads)')
  return [round(g * width / groups) for g in range(groups + 1)]


class NaiveBayesEmbeddingBag(tf.keras.layers.Layer):
  """A review's n-gram embeddings, each scaled by the n-gram's naive-Bayes
  log-count ratio, summed and divided by sqrt(number of n-grams + 1).

  The NB ratios (from the Transform graph) tell the model which n-grams carry
  sentiment before it has learnt anything: the NBSVM idea, with embeddings in
  place of a linear weight so that the review gets a vector (for a second head
  and for `similar_terms`). Ragged inputs: no padding ids exist. During
  training whole n-grams are dropped at random (`token_dropout`).

  With `dropout_groups` > 1 the embedding width is split into that many
  slices (`slice_bounds`), each with its own n-gram dropout mask: the slices are then
  as many separately regularized bags (the sentiment heads of
  models/model.py each read one), which is what makes their average an
  ensemble rather than one wider bag.
  """

  def __init__(self, num_ids: int, embedding_dim: int, token_dropout: float,
               embeddings_initializer: Any = 'uniform',
               trainable_embeddings: bool = True, dropout_groups: int = 1,
               **kwargs):
    super().__init__(**kwargs)
    bounds = slice_bounds(embedding_dim, dropout_groups)
    self.dropout_groups = dropout_groups
    self._group_widths = [b - a for a, b in zip(bounds, bounds[1:])]
    self.num_ids = num_ids
    self.embedding_dim = embedding_dim
    self.token_dropout = token_dropout
    self.embeddings_initializer = tf.keras.initializers.get(
        embeddings_initializer)
    self.trainable_embeddings = trainable_embeddings

  def build(self, input_shape):
    self.embeddings = self.add_weight(
        name='embeddings', shape=(self.num_ids, self.embedding_dim),
        initializer=self.embeddings_initializer,
        trainable=self.trainable_embeddings)
    super().build(input_shape)

  def call(self, token_ids, token_weights, training=None):
    weights = token_weights.values[:, None]
    if training and self.token_dropout:
      # One mask column per group, widened to the group's slice of the width.
      weights = tf.repeat(
          tf.nn.dropout(tf.tile(weights, [1, self.dropout_groups]),
                        rate=self.token_dropout),
          self._group_widths, axis=1)
    vectors = tf.gather(self.embeddings, token_ids.values) * weights
    summed = tf.math.unsorted_segment_sum(
        vectors, token_ids.value_rowids(), token_ids.nrows())
    counts = tf.cast(token_ids.row_lengths(), tf.float32)[:, None]
    return summed / tf.sqrt(counts + 1.0)

  def contributions(self, token_ids: tf.RaggedTensor,
                    token_weights: tf.RaggedTensor,
                    direction: tf.Tensor) -> tf.RaggedTensor:
    """What each n-gram adds to the review vector's projection on
    `direction` (a Dense head's kernel column), ragged like `token_ids`:
    r_i * (e_i . direction) / sqrt(n + 1). The review vector is a sum over
    n-grams, so these add up to `call(...) @ direction` exactly (inference:
    no dropout)."""
    projected = tf.linalg.matvec(
        tf.gather(self.embeddings, token_ids.values), direction)
    scale = tf.math.rsqrt(
        tf.cast(token_ids.row_lengths(), tf.float32) + 1.0)
    return token_ids.with_values(
        projected * token_weights.values
        * tf.gather(scale, token_ids.value_rowids()))


class LazyAdam(tf.keras.optimizers.Adam):
  """Adam that, for sparse gradients, updates only the embedding rows a batch
  touched (as tensorflow_addons' LazyAdam did).

  Keras's Adam decays the moments of all rows on every step: for a 500k-row
  n-gram table that dense update, not the model, dominated training time.
  Rows not in the batch keep their moments until they are seen again.
  """

  def update_step(self, gradient, variable):
    if not isinstance(gradient, tf.IndexedSlices):
      return super().update_step(gradient, variable)
    indices, positions = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(
        gradient.values, positions, tf.shape(indices)[0])
    lr = tf.cast(self.learning_rate, variable.dtype)
    step = tf.cast(self.iterations + 1, variable.dtype)
    beta_1 = tf.cast(self.beta_1, variable.dtype)
    beta_2 = tf.cast(self.beta_2, variable.dtype)
    alpha = lr * tf.sqrt(1 - tf.pow(beta_2, step)) / (
        1 - tf.pow(beta_1, step))
    key = self._var_key(variable)
    m = self._momentums[self._index_dict[key]]
    v = self._velocities[self._index_dict[key]]
    m_rows = beta_1 * tf.gather(m, indices) + (1 - beta_1) * values
    v_rows = beta_2 * tf.gather(v, indices) + (1 - beta_2) * tf.square(values)
    m.scatter_update(tf.IndexedSlices(m_rows, indices))
    v.scatter_update(tf.IndexedSlices(v_rows, indices))
    variable.scatter_sub(tf.IndexedSlices(
        alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon), indices))
