"""Runs the Beam stage (ExampleGen to Transform) once per profile, in this one
process, and prints what each run produced as comparable JSON.

    python tests/helpers/beam_stage_outputs.py DATA OUTPUT_ROOT PROFILE...

The profiles' settings (job endpoint, worker pool, workers) come from the
environment, as for `make run`. Each run's outputs are reduced to what must
not depend on the runner: the examples (as sorted digests of their contents), the statistics'
counts, the vocabulary files and the transformed examples (sorted).
"""

import glob
import hashlib
import json
import os
import sys

# pylint: disable=g-import-not-at-top,wrong-import-position
import orchestration  # pylint: disable=unused-import  (Keras 2, first)
from google.protobuf import json_format
import numpy as np
import tensorflow as tf
import tensorflow_data_validation as tfdv
import tensorflow_transform as tft

import contract
from orchestration.beam import stage as beam_stage
from pipeline import configs as config_lib
from pipeline import data
# pylint: enable=g-import-not-at-top,wrong-import-position

SPLITS = (contract.TRAIN_SPLIT, contract.EVAL_SPLIT, contract.TEST_SPLIT)


def _artifact(config, component: str, output: str) -> str:
  [uri] = glob.glob(os.path.join(config.pipeline_root, component, output, '*'))
  return uri


def _serialized_examples(examples_uri: str, split: str):
  files = sorted(glob.glob(os.path.join(examples_uri, f'Split-{split}', '*')))
  return [record.numpy() for record in
          tf.data.TFRecordDataset(files, compression_type='GZIP')]


def _digest(serialized: bytes) -> str:
  example = tf.train.Example.FromString(serialized)
  return hashlib.sha256(json_format.MessageToJson(
      example, sort_keys=True).encode()).hexdigest()


def _statistics(statistics_uri: str, split: str):
  stats = tfdv.load_stats_binary(
      os.path.join(statistics_uri, f'Split-{split}', 'FeatureStats.pb'))
  [dataset] = stats.datasets
  features = {}
  for feature in dataset.features:
    numeric = feature.num_stats
    string = feature.string_stats
    common = numeric.common_stats if feature.HasField(
        'num_stats') else string.common_stats
    features['.'.join(feature.path.step)] = {
        'num_non_missing': common.num_non_missing,
        'num_missing': common.num_missing,
        'min': round(numeric.min, 6), 'max': round(numeric.max, 6),
        'mean': round(numeric.mean, 6),
        'unique': string.unique,
        'avg_length': round(string.avg_length, 4),
    }
  return {'num_examples': dataset.num_examples, 'features': features}


def _transformed(transform_graph_uri: str, serialized):
  """The transformed rows, sorted by their exact (integer and string)
  values; the float weights stay floats, for the caller to compare."""
  output = tft.TFTransformOutput(transform_graph_uri)
  raw = tf.io.parse_example(tf.constant(serialized), output.raw_feature_spec())
  transformed = output.transform_raw_features(raw)
  dense = {key: (tf.sparse.to_dense(value) if isinstance(
      value, tf.SparseTensor) else value).numpy()
           for key, value in transformed.items()}
  rows = [{key: json.loads(json.dumps(np.asarray(value[i]).tolist(),
                                      default=str))
           for key, value in sorted(dense.items())}
          for i in range(len(serialized))]

  def exact_part(row):
    return json.dumps({key: value for key, value in row.items()
                       if key != contract.TOKEN_WEIGHTS_KEY}, sort_keys=True)

  return sorted(rows, key=exact_part)


def outputs(config: config_lib.PipelineConfig):
  examples_uri = _artifact(config, 'ImdbExampleGen', 'examples')
  statistics_uri = _artifact(config, 'StatisticsGen', 'statistics')
  transform_graph_uri = _artifact(config, 'Transform', 'transform_graph')
  assets = os.path.join(transform_graph_uri, 'transform_fn', 'assets')
  serialized = {split: _serialized_examples(examples_uri, split)
                for split in SPLITS}
  return {
      # Digests of the parsed examples: serialized bytes are not comparable
      # across processes (protobuf writes a map's entries in hash order).
      'examples': {split: sorted(_digest(s) for s in records)
                   for split, records in serialized.items()},
      'statistics': {split: _statistics(statistics_uri, split)
                     for split in SPLITS},
      'vocabulary': {name: open(os.path.join(assets, name),
                                encoding='utf-8').read()
                     for name in sorted(os.listdir(assets))},
      'transformed': _transformed(transform_graph_uri,
                                  serialized[contract.TEST_SPLIT]),
  }


def main(argv) -> int:
  archive, output_root, *profiles = argv
  location = data.resolve(archive, None)
  result = {}
  for profile in profiles:
    config = config_lib.from_args(
        ['--data', archive, '--output-dir',
         os.path.join(output_root, profile), '--beam-profile', profile])
    seconds = beam_stage.run(config, location)
    result[profile] = {'seconds': seconds, **outputs(config)}
  print(json.dumps(result))
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
