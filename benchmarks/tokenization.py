"""Vocabulary vs hashing: accuracy, model size and time per tokenization.

Runs the project's own `preprocessing_fn` (tf.Transform analysis on `train`,
as the Transform component does) and `run_fn` (as the Trainer does) for each
configuration, on the examples an ImdbExampleGen run wrote, then scores the
exported model on `test` through its `serving_default` signature. Settings
are chosen on `eval`; the test figure is printed once per configuration.

  python -m benchmarks.tokenization --examples OUTPUT/.../ImdbExampleGen/examples/N
"""

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any, Dict, List


# pylint: disable=g-import-not-at-top
import orchestration  # pylint: disable=unused-import  (Keras 2, first)
import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata
from tensorflow_transform.tf_metadata import metadata_io
from tensorflow_transform.tf_metadata import schema_utils
from tfx.components.trainer import fn_args_utils
from tfx.components.util import tfxio_utils
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx_bsl.public import tfxio

import contract
from models import model as model_lib
from models import preprocessing
from models import settings

# (name, tokenization settings): vocabulary vs hashing, two sizes each, with
# bigrams and with trigrams.
CONFIGURATIONS = [
    (f'{kind} {size_name} {ngram}-grams',
     {'tokenization': kind, size_key: size, 'ngram_max': ngram})
    for ngram in (2, 3)
    for kind, size_key, sizes in (
        (contract.VOCABULARY, 'vocabulary_size',
         (('100k', 100_000), ('500k', 500_000))),
        (contract.HASHING, 'hash_buckets',
         (('2^18', 1 << 18), ('2^20', 1 << 20))))
    for size_name, size in sizes
]

_RAW_FEATURE_SPEC = {
    contract.TEXT_KEY: tf.io.FixedLenFeature([], tf.string),
    contract.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
    contract.RATING_KEY: tf.io.FixedLenFeature([], tf.int64),
}


def _split_pattern(examples_uri: str, split: str) -> str:
  return os.path.join(examples_uri, f'Split-{split}', '*')


def analyze(examples_uri: str, config: Dict[str, Any], work_dir: str) -> float:
  """tf.Transform analysis of `train`; returns wall seconds."""
  schema = schema_utils.schema_from_feature_spec(_RAW_FEATURE_SPEC)
  source = tfxio.TFExampleRecord(
      _split_pattern(examples_uri, contract.TRAIN_SPLIT), schema=schema)
  start = time.time()
  with beam.Pipeline(argv=['--runner=DirectRunner',
                           '--direct_running_mode=in_memory']) as pipeline, \
      tft_beam.Context(temp_dir=os.path.join(work_dir, 'tmp')):
    transform_fn = (
        (pipeline | source.BeamSource(), source.TensorAdapterConfig())
        | tft_beam.AnalyzeDataset(
            lambda inputs: preprocessing.preprocessing_fn(inputs, config)))
    _ = transform_fn | tft_beam.WriteTransformFn(work_dir)
  metadata_io.write_metadata(
      dataset_metadata.DatasetMetadata(schema),
      os.path.join(work_dir, tft.TFTransformOutput.RAW_METADATA_DIR))
  return time.time() - start


def train(examples_uri: str, config: Dict[str, Any], transform_dir: str,
          work_dir: str) -> Dict[str, Any]:
  """run_fn as the Trainer calls it; returns seconds and eval accuracy."""
  examples = standard_artifacts.Examples()
  examples.uri = examples_uri
  examples.split_names = artifact_utils.encode_split_names(
      [contract.TRAIN_SPLIT, contract.EVAL_SPLIT])
  histories = []
  original_fit = tf.keras.Model.fit

  def recording_fit(self, *args, **kwargs):
    histories.append(original_fit(self, *args, **kwargs))
    return histories[-1]

  tf.keras.Model.fit = recording_fit
  start = time.time()
  try:
    model_lib.run_fn(fn_args_utils.FnArgs(
        train_files=[_split_pattern(examples_uri, contract.TRAIN_SPLIT)],
        eval_files=[_split_pattern(examples_uri, contract.EVAL_SPLIT)],
        train_steps=None,
        transform_output=transform_dir,
        serving_model_dir=os.path.join(work_dir, 'model'),
        model_run_dir=os.path.join(work_dir, 'logs'),
        custom_config=config,
        data_accessor=fn_args_utils.DataAccessor(
            tf_dataset_factory=tfxio_utils
            .get_tf_dataset_factory_from_artifact([examples], []),
            record_batch_factory=None, data_view_decode_fn=None)))
  finally:
    tf.keras.Model.fit = original_fit
  seconds = time.time() - start
  history = histories[-1].history
  key = f'val_{contract.PROBABILITY_OUTPUT_KEY}_loss'
  best = int(np.argmin(history[key]))
  return {
      'train_seconds': seconds,
      'epochs_run': len(history[key]),
      'eval_accuracy': history[
          f'val_{contract.PROBABILITY_OUTPUT_KEY}_accuracy'][best],
  }


def read_split(examples_uri: str, split: str):
  files = tf.io.gfile.glob(_split_pattern(examples_uri, split))
  spec = {key: _RAW_FEATURE_SPEC[key]
          for key in (contract.TEXT_KEY, contract.LABEL_KEY)}
  texts, labels = [], []
  for record in tf.data.TFRecordDataset(files, compression_type='GZIP'):
    parsed = tf.io.parse_single_example(record, spec)
    texts.append(parsed[contract.TEXT_KEY].numpy())
    labels.append(int(parsed[contract.LABEL_KEY]))
  return texts, np.array(labels)


def test_accuracy(model_dir: str, texts: List[bytes], labels: np.ndarray
                  ) -> float:
  serve = tf.saved_model.load(model_dir).signatures[contract.SERVING_SIGNATURE]
  predicted = []
  for start in range(0, len(texts), 256):
    out = serve(**{contract.SERVING_INPUT_KEY:
                   tf.constant(texts[start:start + 256])})
    predicted.append(out[contract.PROBABILITY_OUTPUT_KEY].numpy()
                     >= contract.DECISION_THRESHOLD)
  return float(np.mean(np.concatenate(predicted) == labels))


def directory_megabytes(path: str) -> float:
  return sum(os.path.getsize(os.path.join(root, name))
             for root, _, names in os.walk(path) for name in names) / 1e6


def standard_error(accuracy: float, count: int) -> float:
  return float(np.sqrt(accuracy * (1 - accuracy) / count))


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--examples', required=True,
                      help='an ImdbExampleGen output (Split-train/eval/test)')
  parser.add_argument('--output', default='outputs/bench/tokenization.json')
  parser.add_argument('--only', action='append', default=[],
                      help='run only configurations whose name contains this')
  args = parser.parse_args(argv)
  for split in (contract.TRAIN_SPLIT, contract.EVAL_SPLIT, contract.TEST_SPLIT):
    if not tf.io.gfile.glob(_split_pattern(args.examples, split)):
      parser.error(f'{args.examples}: no Split-{split} examples')
  test_texts, test_labels = read_split(args.examples, contract.TEST_SPLIT)
  results = []
  for name, overrides in CONFIGURATIONS:
    if args.only and not any(part in name for part in args.only):
      continue
    config = {**settings.vocabulary_settings(overrides),
              **settings.hyperparameters(None)}
    with tempfile.TemporaryDirectory() as work_dir:
      transform_dir = os.path.join(work_dir, 'transform')
      row = {'name': name, **overrides}
      row['analyze_seconds'] = analyze(args.examples, config, transform_dir)
      row.update(train(args.examples, config, transform_dir, work_dir))
      row['test_accuracy'] = test_accuracy(
          os.path.join(work_dir, 'model'), test_texts, test_labels)
      row['test_standard_error'] = standard_error(row['test_accuracy'],
                                                  len(test_labels))
      row['model_megabytes'] = directory_megabytes(
          os.path.join(work_dir, 'model'))
    results.append(row)
    print(json.dumps(row), flush=True)
  os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
  with open(args.output, 'w') as f:
    json.dump(results, f, indent=1)
  print(f'\n{"configuration":<26} {"eval acc":>8} {"test acc":>14} '
        f'{"model MB":>8} {"analyze s":>9} {"train s":>8}')
  for row in results:
    print(f'{row["name"]:<26} {row["eval_accuracy"]:8.4f} '
          f'{row["test_accuracy"]:8.4f}±{row["test_standard_error"]:.4f} '
          f'{row["model_megabytes"]:8.1f} {row["analyze_seconds"]:9.0f} '
          f'{row["train_seconds"]:8.0f}')
  print(f'written: {args.output}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
