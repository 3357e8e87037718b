"""Runs the pipeline on this machine with TFX's LocalDagRunner.

    python pipeline/local_runner.py [--data PATH] [--output-dir DIR] ...

or through the TFX CLI (which runs this file without arguments; settings then
come from the environment: IMDB_DATA, OUTPUT_DIR):

    tfx pipeline create --engine=local --pipeline_path=$PWD/pipeline/local_runner.py
    tfx run create --engine=local --pipeline_name=imdb_sentiment
"""

import os
import sys
import time

# tf.keras must be Keras 2 (tf_keras) everywhere this pipeline runs.
os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')

from absl import logging  # pylint: disable=g-import-not-at-top
from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top

from pipeline import config as config_lib  # pylint: disable=g-import-not-at-top
from pipeline import data  # pylint: disable=g-import-not-at-top
from pipeline import imdb_pipeline  # pylint: disable=g-import-not-at-top
from pipeline import summary  # pylint: disable=g-import-not-at-top


def main(argv=None) -> int:
  logging.set_verbosity(logging.INFO)
  config = config_lib.from_args(argv)
  try:
    location = data.resolve(config.data, config.data_cache_dir)
  except data.DataSourceError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  started_ms = int(time.time() * 1000)
  tfx.orchestration.LocalDagRunner().run(
      imdb_pipeline.create_pipeline(config, location))
  # Under `tfx pipeline create` the CLI only records the pipeline and nothing
  # runs: then there is no new run to report.
  run = summary.latest_run(config, since_ms=started_ms)
  if run:
    print(summary.format_summary(run), flush=True)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
