"""The Trainer's input pipelines: raw examples through the Transform graph into
(features, targets) batches, and the raw eval texts for the verification
samples.

Training reads the raw examples and applies the Transform graph on the fly
(once; the result is cached in memory), so training and serving run the very
same TransformFeaturesLayer.
"""

from typing import Dict, List, Optional, Sequence

import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

import contract
from models import model_interface


def _raw_dataset(file_pattern: List[str], data_accessor, raw_schema,
                 batch_size: int) -> tf.data.Dataset:
  """One pass over the raw examples, as batches of raw feature dicts."""
  return data_accessor.tf_dataset_factory(
      file_pattern,
      tfxio.TensorFlowDatasetOptions(batch_size=batch_size, num_epochs=1,
                                     shuffle=False),
      raw_schema)


def transformed_dataset(file_pattern, data_accessor,
                        tf_transform_output: tft.TFTransformOutput,
                        batch_size: int, shuffle_seed: Optional[int],
                        classes: Optional[Sequence[str]] = None
                        ) -> tf.data.Dataset:
  """(features, targets) batches; transformed once, then cached in memory.

  With a table's `classes` the targets are the class index and, with a
  target column, the target as it is (models/model.py's table model)."""
  tft_layer = tf_transform_output.transform_features_layer()

  def transform(raw):
    transformed = tft_layer(raw)
    features = model_interface.model_inputs(transformed)
    if classes:
      return features, table_targets(transformed)
    targets = {
        contract.PROBABILITY_OUTPUT_KEY:
            tf.cast(transformed[contract.LABEL_KEY], tf.float32),
        model_interface.RATING_SCALED: model_interface.scale_rating(
            transformed[contract.RATING_KEY]),
    }
    return features, targets

  dataset = _raw_dataset(file_pattern, data_accessor,
                         tf_transform_output.raw_metadata.schema, batch_size)
  dataset = dataset.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
  dataset = dataset.unbatch().cache()
  if shuffle_seed is not None:
    dataset = dataset.shuffle(50_000, seed=shuffle_seed,
                              reshuffle_each_iteration=True)
  return dataset.ragged_batch(batch_size).prefetch(tf.data.AUTOTUNE)


def table_targets(transformed: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
  targets = {contract.PROBABILITIES_OUTPUT_KEY: transformed[contract.LABEL_KEY]}
  if contract.RATING_KEY in transformed:
    targets[model_interface.RATING_SCALED] = tf.cast(
        transformed[contract.RATING_KEY], tf.float32)
  return targets


def read_raw_texts(file_pattern: List[str], limit: int) -> List[str]:
  """The first `limit` review texts of gzipped tf.Example files."""
  files = [f for pattern in file_pattern for f in tf.io.gfile.glob(pattern)]
  dataset = tf.data.TFRecordDataset(sorted(files), compression_type='GZIP')
  spec = {contract.TEXT_KEY: tf.io.FixedLenFeature([], tf.string)}
  return [tf.io.parse_single_example(record, spec)[contract.TEXT_KEY]
          .numpy().decode('utf-8') for record in dataset.take(limit)]
