"""Scheduled retraining on Apache Airflow, with TFX's AirflowDagRunner.

The very same `create_pipeline` as `make run`, as an Airflow DAG with id
`imdb_sentiment` (the pipeline's name) that runs on the configured cron
schedule (RETRAIN_SCHEDULE, default daily at 03:00 UTC). Airflow reads this
file from its DAGs folder (AIRFLOW__CORE__DAGS_FOLDER=<this project>/dags)
inside the Airflow venv (make airflow-venv); settings come from the
environment of the scheduler and its workers, as for `tfx run` (IMDB_DATA,
OUTPUT_DIR, ...: see pipeline/configs.py). Its ML Metadata store and
pipeline root are its own, under <output_dir>/airflow/ (TFX's Airflow
launcher and `make run`'s cannot share one store); the serving directory is
shared. One run at a time, and a missed
schedule is not caught up: each run trains on the data as it is then.

    make airflow-dag-test      # one run now, without a scheduler (README)

Each task is retried (AIRFLOW_TASK_RETRIES, default once, after 5 minutes)
and failed after AIRFLOW_TASK_TIMEOUT minutes; a failure logs the task and
where its log is, and the last task, `run_summary`, prints what the run did.
"""

import os
from typing import Mapping

# First: tf.keras must be Keras 2 (tf_keras) here, in the scheduler's DAG
# processor and in every task, all of which load this file before TFX.
from orchestration import airflow_launcher

# pylint: disable=g-import-not-at-top,wrong-import-position
from airflow import models
from airflow.configuration import conf
from airflow.operators import python as python_operator

from orchestration.beam import profiles as beam_profiles
from tfx.orchestration import metadata
from tfx.orchestration.airflow import airflow_dag_runner

from pipeline import configs as config_lib
from pipeline import data
from pipeline import orchestrators
from pipeline import pipeline as imdb_pipeline
# pylint: enable=g-import-not-at-top,wrong-import-position


def create_dag(environ: Mapping[str, str]) -> models.DAG:
  """The pipeline as a DAG, configured by `environ` as `make run` would be."""
  config = airflow_launcher.separate_from_local_runs(
      config_lib.from_args([], environ))
  # Without IMDB_DATA this downloads the official archive while Airflow
  # parses the file (once; it is cached): scheduled setups should set it.
  location = data.resolve(config.data.path, config.data.cache_dir)
  # Into the DAG processor's and each task's log, if Airflow lacks anything.
  orchestrators.print_notice(orchestrators.AIRFLOW)
  pipeline = imdb_pipeline.create_pipeline(config, location,
                                           beam_profiles.pipeline_args(config),
                                           orchestrators.AIRFLOW)
  # Not `make run`'s store: see airflow_launcher.separate_from_local_runs.
  pipeline.metadata_connection_config = (
      metadata.sqlite_metadata_connection_config(
          airflow_launcher.metadata_path(config)))
  airflow_launcher.resolve_proto_placeholders(pipeline)
  settings = airflow_launcher.dag_settings(config)
  settings['default_args'] = airflow_launcher.task_defaults(
      config, conf.get('logging', 'base_log_folder'))
  settings['doc_md'] = __doc__
  dag = airflow_dag_runner.AirflowDagRunner(
      airflow_dag_runner.AirflowPipelineConfig(airflow_dag_config=settings)
  ).run(pipeline)
  last = [task for task in dag.tasks if not task.downstream_list]
  summary = python_operator.PythonOperator(
      task_id='run_summary', python_callable=_print_summary,
      op_kwargs={'serving_dir': config.serving_dir}, retries=0, dag=dag)
  summary.set_upstream(last)
  return dag


def _print_summary(serving_dir: str, dag_run=None, **unused_context) -> None:
  """The run_summary task: each component task's state and seconds, and
  the serving directory's newest version."""
  tasks = [(ti.task_id, ti.state, ti.duration)
           for ti in sorted(dag_run.get_task_instances(),
                            key=lambda ti: ti.start_date or START)
           if ti.task_id != 'run_summary']
  print(airflow_launcher.format_run_summary(dag_run.run_id, tasks,
                                            serving_dir), flush=True)


START = airflow_launcher.START_DATE
airflow_launcher.log_task_lines_once()
airflow_launcher.record_each_input_artifact_once()
airflow_launcher.name_outputs_per_component()
DAG = create_dag(os.environ)
