"""The Trainer's input reading."""

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
