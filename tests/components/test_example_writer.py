"""The ExampleGens' split writer: TFX's file layout, the examples in order,
and no reshuffle (which the direct runner holds in memory)."""

import glob
import os

import apache_beam as beam
import tensorflow as tf
from apache_beam.runners.direct import direct_runner

from components import example_writer


def _example(i: int) -> tf.train.Example:
  return tf.train.Example(features=tf.train.Features(feature={
      'i': tf.train.Feature(int64_list=tf.train.Int64List(value=[i]))}))


def test_writes_every_example_in_order_as_tfx_names_the_files(tmp_path):
  split_dir = str(tmp_path / 'Split-train')
  with beam.Pipeline(runner=direct_runner.BundleBasedDirectRunner()) as p:
    _ = (p | beam.Create([_example(i) for i in range(50)], reshuffle=False)
         | example_writer.WriteExamples(split_dir))
  files = sorted(glob.glob(os.path.join(split_dir, 'data_tfrecord-*.gz')))
  assert files, os.listdir(split_dir)
  read = [tf.train.Example.FromString(r.numpy()).features.feature['i']
          .int64_list.value[0]
          for r in tf.data.TFRecordDataset(files, compression_type='GZIP')]
  assert read == list(range(50))


def test_the_examples_are_not_reshuffled_before_writing(tmp_path):
  p = beam.Pipeline()
  _ = (p | beam.Create([_example(0)])
       | 'Write' >> example_writer.WriteExamples(str(tmp_path)))
  labels = [t.unique_name for t in p.to_runner_api().components
            .transforms.values() if t.unique_name.startswith('Write/')]
  assert any('WriteToTFRecord' in label or label.endswith('/Write')
             for label in labels), labels
  # (WriteImpl's own DoOnce reshuffles its single start-up element.)
  assert not [label for label in labels
              if 'shuffle' in label.lower() and '/DoOnce/' not in label], labels
