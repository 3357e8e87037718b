"""Runs preprocessing_fn through tf.Transform's Beam implementation."""

import os

import apache_beam as beam
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata
from tensorflow_transform.tf_metadata import metadata_io
from tensorflow_transform.tf_metadata import schema_utils

from models import preprocessing

RAW_FEATURE_SPEC = {
    'text': tf.io.FixedLenFeature([], tf.string),
    'label': tf.io.FixedLenFeature([], tf.int64),
    'rating': tf.io.FixedLenFeature([], tf.int64),
}


# A table's examples (TableExampleGen): the label is the class name.
TABLE_FEATURE_SPEC = {
    'text': tf.io.FixedLenFeature([], tf.string),
    'label': tf.io.FixedLenFeature([], tf.string),
}


def analyze_and_transform(raw, custom_config, work_dir,
                          feature_spec=None):
  """Analyzes `raw` (a list of feature dicts) with preprocessing_fn, writes the
  transform graph to `work_dir`, and returns (transformed rows, output).

  The rows come from applying the *saved* graph, as Trainer and serving do.
  """
  feature_spec = feature_spec or RAW_FEATURE_SPEC
  metadata = dataset_metadata.DatasetMetadata(
      schema_utils.schema_from_feature_spec(feature_spec))
  with beam.Pipeline(argv=['--runner=DirectRunner']) as pipeline, \
      tft_beam.Context(temp_dir=work_dir, force_tf_compat_v1=False):
    transform_fn = (
        (pipeline | beam.Create(raw), metadata)
        | tft_beam.AnalyzeDataset(
            lambda inputs: preprocessing.preprocessing_fn(inputs,
                                                          custom_config)))
    _ = transform_fn | tft_beam.WriteTransformFn(work_dir)
  # TFX's Transform also records the raw schema; the serving module reads it.
  metadata_io.write_metadata(
      metadata, os.path.join(work_dir, tft.TFTransformOutput.RAW_METADATA_DIR))
  output = tft.TFTransformOutput(work_dir)
  batch = {key: tf.constant([row[key] for row in raw], spec.dtype)
           for key, spec in feature_spec.items()}
  transformed = output.transform_raw_features(batch)
  rows = [{key: value[i].numpy() for key, value in transformed.items()}
          for i in range(len(raw))]
  return rows, output
