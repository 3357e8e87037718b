"""Scheduled retraining on Apache Airflow, with TFX's AirflowDagRunner.

The very same `create_pipeline` as `make run`, as an Airflow DAG with id
`imdb_sentiment` (the pipeline's name) that runs on the configured cron
schedule (RETRAIN_SCHEDULE, default daily at 03:00). Airflow reads this file
from its DAGs folder (AIRFLOW__CORE__DAGS_FOLDER=<this project>/dags) inside
the Airflow venv (make airflow-venv); settings come from the environment of
the scheduler and its workers, as for `tfx run` (IMDB_DATA, OUTPUT_DIR, ...:
see pipeline/config.py). One run at a time, and a missed schedule is not
caught up: each run trains on the data as it is then.

    make airflow-dag-test      # one run now, without a scheduler (README)
"""

import datetime
import os
from typing import Mapping

# tf.keras must be Keras 2 (tf_keras) everywhere this pipeline runs: here, in
# the scheduler's DAG processor and in every task, all of which load this file
# before TFX.
os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')

# pylint: disable=g-import-not-at-top,wrong-import-position
from airflow import models
from tfx.orchestration.airflow import airflow_dag_runner

from pipeline import config as config_lib
from pipeline import data
from pipeline import imdb_pipeline
# pylint: enable=g-import-not-at-top,wrong-import-position

# Any past date: the schedule's first interval. With catchup off, the
# scheduler runs only the latest interval, never the ones since this date.
START_DATE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def create_dag(environ: Mapping[str, str]) -> models.DAG:
  """The pipeline as a DAG, configured by `environ` as `make run` would be."""
  config = config_lib.from_args([], environ)
  # Without IMDB_DATA this downloads the official archive while Airflow
  # parses the file (once; it is cached): scheduled setups should set it.
  location = data.resolve(config.data, config.data_cache_dir)
  pipeline = imdb_pipeline.create_pipeline(config, location)
  return airflow_dag_runner.AirflowDagRunner(
      airflow_dag_runner.AirflowPipelineConfig(airflow_dag_config={
          'schedule': config.schedule,
          'start_date': START_DATE,
          'catchup': False,
          # Runs share one ML Metadata store (SQLite) and one serving
          # directory: a late run must not overlap the next one.
          'max_active_runs': 1,
          'description': 'Retrains, evaluates and pushes the IMDB sentiment '
                         'model.',
          'tags': ['tfx'],
      })).run(pipeline)


DAG = create_dag(os.environ)
