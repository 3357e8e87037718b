"""The Trainer's input pipelines: raw examples through the Transform graph into
(features, targets) batches, and the raw eval texts for the verification
samples.

Training reads the raw examples and applies the Transform graph on the fly,
so training and serving run the very same TransformFeaturesLayer. It is
applied once: the transformed examples are saved to a local directory
(tf.data's own snapshot format) and every epoch reads them back from there,
so the Trainer's memory does not grow with the data (an in-memory cache held
about 4 KB per review).
"""

import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

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


# The transformed examples are saved in chunks of consecutive examples, one
# file each. ExampleGen writes a split in the archive's order (all negative
# reviews, then all positive ones), so a plain shuffle buffer smaller than
# the split would see one class at a time. Each epoch reads the chunks in a
# new random order, CHUNKS_READ_AT_ONCE at a time interleaved, through a
# shuffle buffer of SHUFFLE_BUFFER examples: a block shuffle whose memory
# does not depend on the size of the data.
CHUNK_SIZE = 1024
CHUNKS_READ_AT_ONCE = 16
SHUFFLE_BUFFER = 8192


def _save_chunks(examples: tf.data.Dataset, directory: str
                 ) -> Tuple[List[str], int]:
  """Writes `examples` as TFRecord files of CHUNK_SIZE serialized examples
  (each tensor of the nested structure by tf.io.serialize_tensor); returns
  the files and the number of examples."""
  def serialize(*example):
    return tf.io.serialize_tensor(tf.stack([
        tf.io.serialize_tensor(tensor) for tensor in tf.nest.flatten(example)]))

  tf.io.gfile.makedirs(directory)
  paths, count = [], 0
  for records in examples.map(serialize).batch(CHUNK_SIZE):
    paths.append(os.path.join(directory, f'chunk-{len(paths):06d}.tfrecord'))
    with tf.io.TFRecordWriter(paths[-1]) as writer:
      for record in records.numpy():
        writer.write(record)
    count += len(records)
  return paths, count


def _parse_function(element_spec):
  specs = tf.nest.flatten(element_spec)

  def parse(record):
    tensors = tf.io.parse_tensor(record, tf.string)
    return tf.nest.pack_sequence_as(element_spec, [
        tf.ensure_shape(tf.io.parse_tensor(tensors[i], spec.dtype),
                        spec.shape)
        for i, spec in enumerate(specs)])
  return parse


def transformed_dataset(file_pattern, data_accessor,
                        tf_transform_output: tft.TFTransformOutput,
                        batch_size: int, shuffle_seed: Optional[int],
                        cache_dir: str,
                        classes: Optional[Sequence[str]] = None,
                        max_examples: Optional[int] = None
                        ) -> Tuple[tf.data.Dataset, int]:
  """(features, targets) batches: transformed once into `cache_dir` (local
  scratch space, deleted by the caller), then read back from there; and the
  number of examples saved. `max_examples`: see `saved_and_shuffled`.

  With a table's `classes` the targets are the class index and, with a
  target column, the target as it is (models/model.py's table model)."""
  tft_layer = tf_transform_output.transform_features_layer()

  def transform(raw):
    transformed = tft_layer(raw)
    features = model_interface.model_inputs(transformed)
    if classes:
      return features, table_targets(transformed)
    return features, model_interface.targets(
        transformed[contract.LABEL_KEY], transformed[contract.RATING_KEY])

  examples = _raw_dataset(file_pattern, data_accessor,
                          tf_transform_output.raw_metadata.schema, batch_size)
  examples = examples.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
  examples = examples.unbatch()
  dataset, count = saved_and_shuffled(examples, cache_dir, shuffle_seed,
                                      max_examples)
  return dataset.ragged_batch(batch_size).prefetch(tf.data.AUTOTUNE), count


def saved_and_shuffled(examples: tf.data.Dataset, cache_dir: str,
                       shuffle_seed: Optional[int],
                       max_examples: Optional[int] = None
                       ) -> Tuple[tf.data.Dataset, int]:
  """`examples` computed once into chunk files in `cache_dir`, then read
  from there: in order without a seed, block-shuffled anew each epoch with
  one; and the number of examples saved.

  In order, `max_examples` reads every k-th example only, the fewest that
  keeps at most that many: a split stored sorted by label stays balanced,
  and the same examples are read each time (early stopping compares
  like with like)."""
  if max_examples and shuffle_seed is not None:
    raise ValueError('max_examples thins an unshuffled split only')
  paths, count = _save_chunks(examples, cache_dir)
  if not paths:
    raise ValueError(f'no examples to train or evaluate on: {cache_dir}')
  chunks = tf.data.Dataset.from_tensor_slices(paths)
  read = tf.data.TFRecordDataset
  if shuffle_seed is None:
    dataset = chunks.flat_map(read)
    if max_examples and count > max_examples:
      # Records are skipped before they are parsed.
      dataset = dataset.shard(math.ceil(count / max_examples), 0)
  else:
    dataset = chunks.shuffle(
        len(paths), seed=shuffle_seed, reshuffle_each_iteration=True
    ).interleave(read, cycle_length=CHUNKS_READ_AT_ONCE,
                 num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  dataset = dataset.map(_parse_function(examples.element_spec),
                        num_parallel_calls=tf.data.AUTOTUNE)
  if shuffle_seed is not None:
    dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=shuffle_seed,
                              reshuffle_each_iteration=True)
  return dataset, count


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
