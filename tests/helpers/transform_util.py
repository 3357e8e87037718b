"""Runs preprocessing_fn through tf.Transform's Beam implementation."""

import atexit
import hashlib
import os
import pickle
import shutil
import tempfile

import apache_beam as beam
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata
from tensorflow_transform.tf_metadata import metadata_io
from tensorflow_transform.tf_metadata import schema_utils

from models import preprocessing
from models import settings

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


# Analyses already made by this process: their key -> a directory holding
# the output. An analysis of a hundred reviews takes 12 s, nearly all of it
# fixed cost (tracing, Beam), and tests that exercise what comes after it
# (run_fn, the table model) analyze the same reviews with the same settings.
_ANALYSES = {}


def _analysis_key(raw, custom_config, feature_spec) -> str:
  """What the analysis depends on: the reviews, the feature spec and the
  settings other than training's (preprocessing_fn reads only the
  tokenization settings and the class names)."""
  config = {key: value for key, value in (custom_config or {}).items()
            if key not in settings.DEFAULT_HYPERPARAMETERS}
  return hashlib.sha256(pickle.dumps(
      (raw, sorted(config.items()), sorted(feature_spec.items())))).hexdigest()


def _analyze(raw, custom_config, work_dir, feature_spec) -> None:
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


def analyze_and_transform(raw, custom_config, work_dir,
                          feature_spec=None):
  """Analyzes `raw` (a list of feature dicts) with preprocessing_fn, writes the
  transform graph to `work_dir`, and returns (transformed rows, output).

  The rows come from applying the *saved* graph, as Trainer and serving do.
  The same analysis a second time in a process is a copy of the first's
  output (tests/models/test_transform_util.py checks the two are the same).
  """
  feature_spec = feature_spec or RAW_FEATURE_SPEC
  key = _analysis_key(raw, custom_config, feature_spec)
  if key not in _ANALYSES:
    _analyze(raw, custom_config, work_dir, feature_spec)
    _ANALYSES[key] = _kept_copy(work_dir)
  else:
    shutil.copytree(_ANALYSES[key], work_dir, dirs_exist_ok=True)
  output = tft.TFTransformOutput(work_dir)
  batch = {key: tf.constant([row[key] for row in raw], spec.dtype)
           for key, spec in feature_spec.items()}
  transformed = output.transform_raw_features(batch)
  rows = [{key: value[i].numpy() for key, value in transformed.items()}
          for i in range(len(raw))]
  return rows, output


def _kept_copy(work_dir: str) -> str:
  """A copy of an analysis's outputs, for the process's later analyses of
  the same reviews (a test may change or delete its own work_dir), removed
  when the process ends."""
  kept = tempfile.mkdtemp(prefix='tft_analysis_')
  atexit.register(shutil.rmtree, kept, True)
  shutil.copytree(work_dir, kept, dirs_exist_ok=True)
  return kept
