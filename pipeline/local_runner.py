"""Runs the pipeline on this machine with TFX's LocalDagRunner.

    python pipeline/local_runner.py [--data PATH] [--output-dir DIR] ...

or through the TFX CLI (which runs this file without arguments; settings then
come from the environment: IMDB_DATA, OUTPUT_DIR, PUSH_IDENTICAL_MODEL):

    tfx pipeline create --engine=local --pipeline_path=$PWD/pipeline/local_runner.py
    tfx run create --engine=local --pipeline_name=imdb_sentiment
"""

import os
import sys
import time

# tf.keras must be Keras 2 (tf_keras) everywhere this pipeline runs.
os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')

# Only light modules here: a wrong data path must fail before TFX and
# TensorFlow take their half a minute to import.
from pipeline import config as config_lib  # pylint: disable=g-import-not-at-top
from pipeline import data  # pylint: disable=g-import-not-at-top


def run(config: config_lib.PipelineConfig, location: data.DataLocation) -> None:
  """Runs the pipeline and prints what the run did."""
  # pylint: disable=g-import-not-at-top
  from absl import logging
  from tfx import v1 as tfx

  from pipeline import imdb_pipeline
  from pipeline import summary
  # pylint: enable=g-import-not-at-top

  logging.set_verbosity(logging.INFO)
  started_ms = int(time.time() * 1000)
  tfx.orchestration.LocalDagRunner().run(
      imdb_pipeline.create_pipeline(config, location))
  # Under `tfx pipeline create` the CLI only records the pipeline and nothing
  # runs: then there is no new run to report.
  latest = summary.latest_run(config, since_ms=started_ms)
  if latest:
    print(summary.format_summary(latest), flush=True)


def main(argv=None) -> int:
  config = config_lib.from_args(argv)
  try:
    location = data.resolve(config.data, config.data_cache_dir)
  except data.DataSourceError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  run(config, location)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
