"""The Trainer's input reading."""

import pytest
import tensorflow as tf

from helpers import imdb_data
from models import input_pipeline


def test_read_raw_texts_reads_gzipped_examples(tmp_path):
  path = str(tmp_path / 'data.gz')
  with tf.io.TFRecordWriter(path, options='GZIP') as writer:
    for i in range(5):
      writer.write(imdb_data.reviews.Review(
          f'train/pos/{i}', 1, 9, f'review {i}'.encode()).to_example()
                   .SerializeToString())
  assert input_pipeline.read_raw_texts([str(tmp_path / '*.gz')], 3) == [
      'review 0', 'review 1', 'review 2']


def _sorted_examples(count):
  """(features, label) with ragged-turned-dense ids, sorted by label as
  ExampleGen writes a split: all 0s, then all 1s."""
  ids = tf.ragged.constant([[i, i + 1][:1 + i % 2] for i in range(count)],
                           dtype=tf.int64)
  labels = tf.constant([0] * (count // 2) + [1] * (count - count // 2))
  return tf.data.Dataset.from_tensor_slices(
      ({'ids': ids}, {'label': labels}))


def _epoch(dataset):
  """(first id, label) of each example, in the order read (in batches: one
  eager step per example took most of a minute over three epochs)."""
  pairs = []
  for features, targets in dataset.ragged_batch(1024):
    pairs.extend(zip(features['ids'].to_tensor()[:, 0].numpy().tolist(),
                     targets['label'].numpy().tolist()))
  return pairs


def test_saved_examples_round_trip_in_order_without_a_seed(tmp_path):
  examples = _sorted_examples(2500)
  dataset = input_pipeline.saved_and_shuffled(examples, str(tmp_path), None)[0]
  read = [(f['ids'].numpy().tolist(), int(t['label'])) for f, t in dataset]
  assert read == [(f['ids'].numpy().tolist(), int(t['label']))
                  for f, t in examples]
  # In chunk files: the data is not held in memory between epochs.
  assert len(list(tmp_path.glob('chunk-*'))) == 3


def test_each_epoch_is_a_new_block_shuffle_of_every_example(tmp_path):
  count = 8 * input_pipeline.CHUNK_SIZE
  dataset, saved = input_pipeline.saved_and_shuffled(
      _sorted_examples(count), str(tmp_path), shuffle_seed=7)
  assert saved == count
  first, second = _epoch(dataset), _epoch(dataset)
  assert sorted(first) == sorted(second) == sorted(
      _epoch(_sorted_examples(count)))
  assert first != second
  # Sorted input, yet both classes are mixed from the start of an epoch.
  head = [label for _, label in first[:512]]
  assert 0.3 < sum(head) / len(head) < 0.7


def test_no_examples_is_an_error_naming_the_directory(tmp_path):
  empty = _sorted_examples(4).take(0)
  with pytest.raises(ValueError, match='no examples.*eval'):
    input_pipeline.saved_and_shuffled(empty, str(tmp_path / 'eval'), None)


def test_an_eval_split_is_thinned_evenly_to_at_most_max_examples(tmp_path):
  examples = _sorted_examples(2500)
  dataset, saved = input_pipeline.saved_and_shuffled(
      examples, str(tmp_path), None, max_examples=1000)
  assert saved == 2500  # all saved; every 3rd read
  read = _epoch(dataset)
  assert read == _epoch(examples)[::3] and len(read) == 834
  assert read == _epoch(dataset)  # the same examples at every check
  # Sorted by label, still both classes.
  assert 0.4 < sum(label for _, label in read) / len(read) < 0.6
  with pytest.raises(ValueError, match='unshuffled'):
    input_pipeline.saved_and_shuffled(examples, str(tmp_path / 'x'), 7,
                                      max_examples=1000)
