"""What the Airflow DAG (dags/imdb_sentiment_dag.py) needs besides Airflow.

Kept apart from the DAG file, and free of Airflow imports, so that the main
venv can test it: the DAG's settings from the configuration, and fixes for
TFX's Airflow orchestration (its pre-IR launcher): one artifact under two
input keys, two components' outputs of one type and key in a run, and proto
parameters.
"""

import dataclasses
import datetime
import logging
import os
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple

from tfx.dsl.placeholder import proto_placeholder
from tfx.orchestration import metadata

from pipeline.configs import PipelineConfig

_LOG = logging.getLogger(__name__)
# The logger of Airflow's task instances (TaskInstance.log).
TASK_LOGGER = 'airflow.task'

# Any past date: the schedule's first interval. With catchup off, the
# scheduler runs only the latest interval, never the ones since this date.
START_DATE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def separate_from_local_runs(config: PipelineConfig) -> PipelineConfig:
  """The configuration with Airflow's own pipeline root, under
  `<output_dir>/airflow/` (or `<artifact_root>/airflow/`).

  TFX's pre-IR launcher and LocalDagRunner register a component's execution
  type differently (the former with a `state` property the latter does not
  declare), so they cannot share one ML Metadata store: the DAG has its own,
  `metadata_path`. Its artifacts then need their own root as well: both
  launchers name an output directory by its execution id, which two stores
  hand out independently (a local and an Airflow run would overwrite each
  other's outputs). The serving directory is shared: Airflow pushes to the
  release history that `make run` and `make serve` use.
  """
  root = config.storage.artifact_root or config.output_dir
  return dataclasses.replace(config, storage=dataclasses.replace(
      config.storage, artifact_root=os.path.join(root, 'airflow',
                                                 'pipeline_root')))


def metadata_path(config: PipelineConfig) -> str:
  """The Airflow DAG's ML Metadata store (SQLite), apart from `make run`'s."""
  return os.path.join(config.output_dir, 'airflow', 'metadata.sqlite')


def dag_settings(config: PipelineConfig) -> Dict[str, Any]:
  """Keyword arguments of the Airflow DAG (AirflowPipelineConfig's
  `airflow_dag_config`)."""
  return {
      'schedule': config.airflow.schedule,
      'start_date': START_DATE,
      'catchup': False,
      # Runs share one ML Metadata store (SQLite) and one serving directory:
      # a late run must not overlap the next one.
      'max_active_runs': 1,
      'description': 'Retrains, evaluates and pushes the IMDB sentiment model.',
      'tags': ['tfx'],
      'default_args': task_defaults(config),
  }


def task_defaults(config: PipelineConfig,
                  log_folder: Optional[str] = None) -> Dict[str, Any]:
  """Every task's retries, retry delay and timeout, and the callback that
  says which task failed and where its log is."""
  settings = config.airflow
  return {
      'owner': 'ml',
      'retries': settings.task_retries,
      'retry_delay': datetime.timedelta(
          minutes=settings.task_retry_delay_minutes),
      'execution_timeout': datetime.timedelta(
          minutes=settings.task_timeout_minutes),
      'on_failure_callback': failure_reporter(log_folder),
  }


def task_log_path(log_folder: str, ti) -> str:
  """Where Airflow's default log_filename_template puts a try's log."""
  return os.path.join(log_folder, f'dag_id={ti.dag_id}', f'run_id={ti.run_id}',
                      f'task_id={ti.task_id}', f'attempt={ti.try_number}.log')


def failure_reporter(log_folder: Optional[str]
                     ) -> Callable[[Mapping[str, Any]], None]:
  """An on_failure_callback: logs the failed task, its run, the error and
  where its log is (the file under `log_folder`, default
  $AIRFLOW_HOME/logs, and the web UI's page)."""
  def report(context: Mapping[str, Any]) -> None:
    ti = context['task_instance']
    folder = log_folder or os.path.join(
        os.environ.get('AIRFLOW_HOME', os.path.expanduser('~/airflow')),
        'logs')
    _LOG.error('Task %s of DAG run %s failed (try %s): %s. Its log: %s (web '
               'UI: %s)', ti.task_id, ti.run_id, ti.try_number,
               context.get('exception') or 'no exception recorded',
               task_log_path(folder, ti), getattr(ti, 'log_url', '-'))
  return report


def format_run_summary(run_id: str,
                       tasks: Iterable[Tuple[str, str, Optional[float]]],
                       serving_dir: str) -> str:
  """What a DAG run did, as `make run` prints it: each task's state and
  seconds, and the newest version in the serving directory. (runs.summary
  reads LocalDagRunner's ML Metadata layout, not the pre-IR launcher's.)"""
  lines = [f'Run {run_id}:']
  lines += [f'  {task:<32} {state or "?":<9} {seconds or 0:7.1f} s'
            for task, state, seconds in tasks]
  versions = sorted(
      (int(name) for name in (os.listdir(serving_dir)
                              if os.path.isdir(serving_dir) else [])
       if name.isdigit()), reverse=True)
  lines.append(f'Serving directory {serving_dir}: ' + (
      f'newest version {versions[0]} ({len(versions)} in all)' if versions
      else 'no version pushed yet'))
  return '\n'.join(lines)


def log_task_lines_once() -> None:
  """Lets each task-instance log line reach the console once.

  `airflow dags test` adds a stdout handler to the `airflow.task` logger,
  which Airflow's logging config leaves propagating to the root logger and
  its console handler until a task log file is set up (set_context, which
  `airflow tasks run` calls and which then turns propagation off itself):
  every task line was printed twice. Off here, as it is under the
  scheduler.
  """
  logging.getLogger(TASK_LOGGER).propagate = False


def record_each_input_artifact_once() -> None:
  """Lets an execution take one artifact under two input keys.

  TFX's Airflow orchestration (the pre-IR `metadata.Metadata`) records an
  execution's inputs as one ML Metadata event per key and artifact, but MLMD
  allows one event per artifact, execution and type. The Evaluator's `model`
  and `baseline_model` are the same artifact whenever the Trainer is a cache
  hit (unchanged data: the candidate is the latest blessed model), and
  registering its execution fails (tensorflow/tfx#5193): every scheduled run
  on unchanged data would fail. Patched here, an artifact's second input key
  adds no event: MLMD links the artifact to the execution through its first.
  LocalDagRunner records inputs its own way and needs none of this. Idempotent
  (the DAG file is loaded again by every task).
  """
  artifact_and_event_pairs = metadata.Metadata._artifact_and_event_pairs  # pylint: disable=protected-access
  if getattr(artifact_and_event_pairs, 'records_each_artifact_once', False):
    return

  def once_per_artifact(self, *args, **kwargs):
    pairs, linked_ids = [], set()
    # (artifact, event), or (artifact,) for one that is linked already.
    for pair in artifact_and_event_pairs(self, *args, **kwargs):
      artifact_id = pair[0].id
      if len(pair) == 2 and artifact_id:
        if artifact_id in linked_ids:
          pair = pair[:1]
        linked_ids.add(artifact_id)
      pairs.append(pair)
    return pairs

  once_per_artifact.records_each_artifact_once = True
  metadata.Metadata._artifact_and_event_pairs = once_per_artifact  # pylint: disable=protected-access


def name_outputs_per_component() -> None:
  """Lets two components of a run have outputs of one type under one key.

  TFX's pre-IR driver names each new output artifact `<output key>:<run id>`
  (base_driver.BaseDriver._prepare_output_artifacts), but ML Metadata keeps
  an artifact's name unique per type. ExampleValidator and
  DistributionValidator both output ExampleAnomalies as `anomalies`, so the
  second to register its outputs in a run fails (AlreadyExistsError: UNIQUE
  constraint failed: Artifact.type_id, Artifact.name). Patched here, the name
  starts with the producing component's id, which the run's graph keeps
  unique. Nothing reads these names back: the launcher finds a producer's
  outputs through its execution's events. Output artifacts without a name
  (ExampleGen's driver sets none) and ones registered already are left
  alone. Idempotent (the DAG file is loaded again by every task).
  """
  update_execution = metadata.Metadata.update_execution
  if getattr(update_execution, 'names_outputs_per_component', False):
    return

  def with_component_names(self, execution, component_info, *args,
                           output_artifacts=None, **kwargs):
    prefix = f'{component_info.component_id}:'
    for artifacts in (output_artifacts or {}).values():
      for artifact in artifacts:
        if (not artifact.id and artifact.name
            and not artifact.name.startswith(prefix)):
          artifact.name = prefix + artifact.name
    return update_execution(self, execution, component_info, *args,
                            output_artifacts=output_artifacts, **kwargs)

  with_component_names.names_outputs_per_component = True
  metadata.Metadata.update_execution = with_component_names


def resolve_proto_placeholders(pipeline) -> None:
  """Hands proto execution properties to Airflow tasks as the protos.

  TFX wraps a component's proto parameters (DistributionValidator's
  `custom_validation_config`) in `make_proto` placeholders, which the IR
  launchers (LocalDagRunner, Kubeflow) resolve. TFX's Airflow orchestration
  passes them on unresolved: Airflow's templating then fails on them, and the
  executor could not read one either. TFX's KFP v2 compiler refuses them
  (it compiles only channel placeholders), so kubeflow/runner.py uses this
  too. A placeholder with no fields of its own is only its proto, so it is
  replaced by that proto.
  """
  for component in pipeline.components:
    properties = getattr(component, 'exec_properties', {})
    for name, value in list(properties.items()):
      if (isinstance(value, proto_placeholder.MakeProtoPlaceholder)
          and not value._fields):  # pylint: disable=protected-access
        properties[name] = value._base_message  # pylint: disable=protected-access
