"""The configuration of a run, declared once, by concern.

`PipelineConfig` holds one settings group per concern (data, tokenization,
training, evaluation, retraining, Beam, storage, and the Kubeflow, Airflow
and local-runner groups that only their orchestrator reads). Each field is
declared once with `settings.setting`: its flag, environment variable,
default and help text all come from that declaration, and `--help` shows
them grouped. A runner builds the configuration once with `from_args` and
hands it to `create_pipeline`; nothing changes it afterwards.
"""

import argparse
import dataclasses
import os
from typing import Any, Dict, List, Optional, Sequence, Mapping, Tuple

import contract
from contract import lineage
from contract import serving_directory
from models import settings as model_settings
from pipeline.data import is_uri
from pipeline.settings import setting
from pipeline import settings as settings_lib

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_DIR = os.path.join(PROJECT_ROOT, 'models')
SCHEMA_PATH = os.path.join(PROJECT_ROOT, 'pipeline', 'schema', 'schema.pbtxt')

# The Beam runner profiles (orchestration/beam/profiles.py maps each to flags).
BEAM_PROFILES = ('direct', 'local', 'portable', 'flink', 'spark', 'dataflow')
# Where `make beam-cluster` serves, and Beam's own default ports.
LOOPBACK = '127.0.0.1'
DEFAULT_JOB_PORT = 8099
DEFAULT_WORKER_POOL_PORT = 50000
DEFAULT_JOB_ENDPOINT = f'{LOOPBACK}:{DEFAULT_JOB_PORT}'
DEFAULT_WORKER_POOL = f'{LOOPBACK}:{DEFAULT_WORKER_POOL_PORT}'


def absolute(path: Optional[str]) -> Optional[str]:
  """Local paths absolute, URIs and empty values as they are."""
  return path if not path or is_uri(path) else os.path.abspath(path)


def _positive_int(text: str) -> int:
  value = int(text)
  if value < 1:
    raise argparse.ArgumentTypeError(f'{text!r}: must be 1 or more')
  return value


def _resource_limit(text: str) -> Tuple[str, Tuple[float, float]]:
  component, _, limits = text.partition('=')
  cpu, _, memory = limits.partition(',')
  try:
    return component, (float(cpu), float(memory))
  except ValueError:
    raise argparse.ArgumentTypeError(
        f'{text!r}: expected COMPONENT=CPUS,GIB, e.g. Trainer=4,16') from None


def _model_group(name: str, declarations: Mapping[str, Tuple[Any, str]]):
  """A settings group from the module files' own declarations (name ->
  (default, help)), so that a model setting is declared only there."""
  def field(key: str, default: Any, help_text: str):
    options = {}
    if key == 'tokenization':
      options['choices'] = contract.TOKENIZATIONS
    elif key == 'pretrained_embeddings':
      options.update(metavar='PATH', finish=absolute)
    return (key, type(default), setting(default, help_text, **options))
  return dataclasses.make_dataclass(
      name, [field(key, *value) for key, value in declarations.items()])


TokenizationSettings = _model_group('TokenizationSettings',
                                    model_settings.TOKENIZATION)
TrainingSettings = _model_group('TrainingSettings',
                                model_settings.HYPERPARAMETERS)


@dataclasses.dataclass
class DataSettings:
  path: Optional[str] = setting(
      None, 'IMDB reviews: a directory in the official aclImdb layout, its '
      '.tar.gz, or a root of span-<N>/ directories or archives. Or a labelled '
      'table: a .csv, .jsonl or .parquet file, a glob or a directory of them. '
      'Unset: download the official archive.', env='IMDB_DATA', flag='--data',
      finish=absolute)
  cache_dir: Optional[str] = setting(
      None, 'Where the downloaded archive is kept.', env='IMDB_CACHE_DIR',
      flag='--data-cache-dir')
  eval_percent: int = setting(
      10, 'Share of train reviews set aside as the eval split, by a hash of '
      "each review's movie (its line in the urls files; without one, the "
      'review id; of a table: of its rows, by a hash of --id-column or of '
      'the text).')
  # A table of the users' own (--data a .csv, .jsonl or .parquet, a glob or
  # a directory of them): which column is what.
  text_column: str = setting('text', 'Table data: the column of the text.')
  label_column: str = setting(
      'label', 'Table data: the column of the class name (two or more '
      'classes).')
  target_column: Optional[str] = setting(
      None, 'Table data: a numeric column for a second, regression head '
      '(unset: the model has one head).')
  split_column: Optional[str] = setting(
      None, 'Table data: a column saying train, eval or test per row (unset: '
      'test and eval are carved by a hash).')
  id_column: Optional[str] = setting(
      None, 'Table data: a column of row ids, hashed for the splits (unset: '
      'the text is).')
  test_percent: int = setting(
      10, 'Table data without --split-column: share of rows in the test '
      'split, by the hash.')
  min_class_examples: int = setting(
      5, 'Table data: stop if a class has fewer training examples.')
  schema: Optional[str] = setting(
      None, 'Table data: a curated schema.pbtxt for the columns (unset: '
      'SchemaGen infers one). IMDB data always uses pipeline/schema/.',
      metavar='PATH', finish=absolute)


@dataclasses.dataclass
class EvaluationSettings:
  min_accuracy: float = setting(
      0.80, 'Bless a model only if its test accuracy reaches this.')
  max_accuracy_drop: float = setting(
      0.01, "Bless a model only if it is at most this much below the "
      "served (baseline) model's accuracy.")


@dataclasses.dataclass
class RetrainingSettings:
  span_window: int = setting(
      1, 'With a data root of spans: train and evaluate on the last K '
      'ingested spans (1: the latest).', env='SPAN_WINDOW',
      parse=_positive_int)
  excluded_spans: List[int] = setting(
      [], 'A span never to train, evaluate or compare drift on again, e.g. '
      'one that was rejected; repeatable.', env='EXCLUDED_SPANS',
      flag='--exclude-span', parse=int, repeated=True, metavar='N',
      finish=lambda spans: sorted(set(spans)))
  span: Optional[int] = setting(
      None, 'Ingest this span instead of the latest one (backfilling).',
      parse=int)
  max_label_drift: float = setting(
      0.1, 'Stop a span whose share of positive reviews moved more than '
      'this from the previous span.')
  max_length_change: float = setting(
      0.25, 'Stop a span whose mean review length changed by more than this '
      'fraction from the previous span.')
  keep_versions: int = setting(
      0, 'Keep the newest K pushed versions, never the served one (0: all).',
      env='KEEP_VERSIONS')
  push_identical_model: bool = setting(
      False, 'Push a blessed model even if the serving directory already '
      'has a version with the same SavedModel fingerprint.',
      env='PUSH_IDENTICAL_MODEL')
  enable_cache: bool = setting(
      True, "Reuse components' outputs when their inputs did not change "
      '(--no-cache re-executes every component).', flag='--cache')


@dataclasses.dataclass
class BeamSettings:
  profile: str = setting(
      'direct', 'Where the Beam components run: direct (in process), local '
      '(worker processes), portable (a Beam job service, e.g. make '
      'beam-cluster), flink, spark, dataflow.', env='BEAM_PROFILE',
      flag='--beam-profile', choices=BEAM_PROFILES)
  direct_num_workers: int = setting(
      1, 'Workers of the direct profile (in-process threads).',
      flag='--beam-direct-num-workers')
  workers: int = setting(
      2, 'Worker processes (local, portable), parallelism (flink, spark), '
      'maximum workers (dataflow).', env='BEAM_WORKERS',
      flag='--beam-workers')
  job_endpoint: str = setting(
      DEFAULT_JOB_ENDPOINT, 'Beam job service (portable).',
      env='BEAM_JOB_ENDPOINT', flag='--beam-job-endpoint')
  worker_pool: str = setting(
      DEFAULT_WORKER_POOL, 'External Beam worker pool (portable).',
      env='BEAM_WORKER_POOL', flag='--beam-worker-pool')
  flink_master: Optional[str] = setting(
      None, 'Flink master host:port (flink).', env='FLINK_MASTER')
  spark_master: Optional[str] = setting(
      None, 'Spark master URL (spark).', env='SPARK_MASTER')
  temp_location: Optional[str] = setting(
      None, 'Temp and staging files (dataflow; default <output-dir>/beam/tmp '
      'on gs://).', env='BEAM_TEMP_LOCATION', flag='--beam-temp-location')
  gcp_project: Optional[str] = setting(
      None, 'Google Cloud project (dataflow).', env='GCP_PROJECT')
  gcp_region: Optional[str] = setting(
      None, 'Google Cloud region (dataflow).', env='GCP_REGION')
  machine_type: Optional[str] = setting(
      None, 'Worker machine type (dataflow).', env='BEAM_MACHINE_TYPE',
      flag='--beam-machine-type')
  extra_args: List[str] = setting(
      [], "A Beam pipeline flag, repeatable, after the profile's; one with "
      '--runner= replaces the direct profile.', env='BEAM_ARGS',
      flag='--beam-arg', repeated=True, metavar='FLAG')


@dataclasses.dataclass
class StorageSettings:
  artifact_root: Optional[str] = setting(
      None, "Where the components' artifacts go, e.g. s3://bucket/imdb "
      '(default <output-dir>/pipeline_root). ML Metadata, logs, reports and '
      'the lock stay in --output-dir.', env='ARTIFACT_ROOT', finish=absolute)
  s3_endpoint: Optional[str] = setting(
      None, 'S3-compatible endpoint for s3:// locations, e.g. '
      'http://127.0.0.1:9000 for MinIO (unset: AWS S3).', env='S3_ENDPOINT',
      metavar='URL')
  s3_region: Optional[str] = setting(None, 'S3 region.', env='AWS_REGION')


_DEFAULT_RESOURCES = {'ImdbExampleGen': (1, 4), 'StatisticsGen': (2, 8),
                      'Transform': (2, 8), 'Trainer': (2, 8),
                      'Evaluator': (2, 8)}


@dataclasses.dataclass
class KubeflowSettings:
  image: str = setting(
      'imdb-sentiment-tfx:latest', 'Container image of every component on '
      'Kubeflow, and of the Beam workers of flink, spark and dataflow.',
      env='KFP_IMAGE')
  s3_credentials_secret: Optional[str] = setting(
      None, 'The Kubernetes secret with the S3 credentials (keys accesskey, '
      'secretkey), e.g. mlpipeline-minio-artifact.',
      env='S3_CREDENTIALS_SECRET', metavar='NAME')
  component_resources: Dict[str, Tuple[float, float]] = setting(
      _DEFAULT_RESOURCES, 'CPU/memory limits of a component, e.g. '
      'Trainer=4,16; repeatable, overrides that component of the defaults '
      + ' '.join(f'{c}={cpu:g},{gib:g}'
                 for c, (cpu, gib) in _DEFAULT_RESOURCES.items()) + '.',
      flag='--resources', parse=_resource_limit, repeated=True,
      metavar='COMPONENT=CPUS,GIB',
      finish=lambda limits: {**_DEFAULT_RESOURCES, **dict(limits)})
  dry_run: bool = setting(
      False, 'Compile even with local locations (output directory, artifact '
      'root, data): a spec to read, which no cluster can run. Without it, '
      'make kubeflow refuses them.', env='KFP_DRY_RUN',
      flag='--kubeflow-dry-run')
  # Where kubeflow/Dockerfile puts this project inside the image: files read
  # at run time (the curated schema) are addressed there.
  source_root_in_image: str = '/app'


@dataclasses.dataclass
class AirflowSettings:
  schedule: str = setting(
      '0 3 * * *', 'Cron schedule of scheduled retraining (the Airflow '
      "DAG's); the local runner runs once.", env='RETRAIN_SCHEDULE')
  task_retries: int = setting(
      1, 'Retries of a failed Airflow task (a passing fault: storage, a '
      'lost worker), after --task-retry-delay.', env='AIRFLOW_TASK_RETRIES')
  task_retry_delay_minutes: float = setting(
      5, 'Minutes before an Airflow task is retried.',
      flag='--task-retry-delay', metavar='MINUTES')
  task_timeout_minutes: float = setting(
      180, 'An Airflow task running longer than this is failed (its '
      'execution_timeout).', env='AIRFLOW_TASK_TIMEOUT',
      flag='--task-timeout', metavar='MINUTES')


@dataclasses.dataclass
class LocalRunSettings:
  verbose: bool = setting(
      False, "Show TFX's and Beam's logs on the terminal as well as in the "
      "run's log file.", env='VERBOSE', short='-v')
  lock_wait_s: Optional[float] = setting(
      0, 'When another run holds the output directory, wait for it (for '
      'ever, or at most SECONDS) instead of refusing at once.', flag='--wait',
      parse=float, metavar='SECONDS',
      argparse_options={'nargs': '?', 'const': -1},
      finish=lambda seconds: None if seconds < 0 else seconds)


# (attribute, type, --help title, description), in --help's order.
GROUPS = (
    ('data', DataSettings, 'data', 'What ExampleGen reads.'),
    ('tokenization', TokenizationSettings, 'tokenization',
     "The Transform graph's n-grams and ids."),
    ('training', TrainingSettings, 'training', "The Trainer's model."),
    ('evaluation', EvaluationSettings, 'evaluation',
     'When the Evaluator blesses a model.'),
    ('retraining', RetrainingSettings, 'retraining',
     'Spans, drift, caching and the pushed versions.'),
    ('beam', BeamSettings, 'Beam', 'Where the Beam components run.'),
    ('storage', StorageSettings, 'storage', 'Artifacts on object storage.'),
    ('kubeflow', KubeflowSettings, 'Kubeflow Pipelines (make kubeflow only)',
     'Read when compiling for a cluster.'),
    ('airflow', AirflowSettings, 'Airflow (the DAG only)',
     "Read by dags/imdb_sentiment_dag.py."),
    ('local', LocalRunSettings, 'local runner (make run only)',
     'How this machine runs and shows the pipeline.'),
)


@dataclasses.dataclass
class PipelineConfig:
  """Everything a run can vary. Local paths are absolute once built; the
  output and data locations may also be object-storage URIs (gs://, s3://)."""
  pipeline_name: str = setting(contract.MODEL_NAME, 'Name of the pipeline.')
  output_dir: str = setting(
      contract.DEFAULT_OUTPUT_DIR, 'Where every output of a run '
      'goes.', env='OUTPUT_DIR', finish=absolute)
  # The curated schema ImportSchemaGen reads when the pipeline runs.
  schema_path: str = SCHEMA_PATH
  data: DataSettings = dataclasses.field(default_factory=DataSettings)
  tokenization: Any = dataclasses.field(default_factory=TokenizationSettings)
  training: Any = dataclasses.field(default_factory=TrainingSettings)
  evaluation: EvaluationSettings = dataclasses.field(
      default_factory=EvaluationSettings)
  retraining: RetrainingSettings = dataclasses.field(
      default_factory=RetrainingSettings)
  beam: BeamSettings = dataclasses.field(default_factory=BeamSettings)
  storage: StorageSettings = dataclasses.field(default_factory=StorageSettings)
  kubeflow: KubeflowSettings = dataclasses.field(
      default_factory=KubeflowSettings)
  airflow: AirflowSettings = dataclasses.field(default_factory=AirflowSettings)
  local: LocalRunSettings = dataclasses.field(
      default_factory=LocalRunSettings)

  @property
  def pipeline_root(self) -> str:
    return os.path.join(
        self.storage.artifact_root
        or os.path.join(self.output_dir, 'pipeline_root'), self.pipeline_name)

  @property
  def metadata_path(self) -> str:
    return lineage.metadata_path_of(self.output_dir)

  @property
  def serving_dir(self) -> str:
    return serving_directory.serving_dir_of(self.output_dir)

  @property
  def runs_dir(self) -> str:
    """Per-run outputs for people: the log and the report of each run."""
    return os.path.join(self.output_dir, 'runs')

  @property
  def module_file(self) -> str:
    return os.path.join(MODULE_DIR, 'model.py')

  @property
  def preprocessing_module_file(self) -> str:
    return os.path.join(MODULE_DIR, 'preprocessing.py')

  @property
  def transform_custom_config(self) -> Dict[str, Any]:
    return dataclasses.asdict(self.tokenization)

  @property
  def trainer_custom_config(self) -> Dict[str, Any]:
    # The tokenization goes along: the model sizes its embedding by it.
    return {**dataclasses.asdict(self.tokenization),
            **dataclasses.asdict(self.training)}


def parser(environ: Optional[Mapping[str, str]] = None,
           description: str = 'Run the IMDB sentiment TFX pipeline.'
           ) -> argparse.ArgumentParser:
  """Every setting as a flag, grouped by concern, defaults from `environ`."""
  environ = os.environ if environ is None else environ
  result = argparse.ArgumentParser(
      description=description, usage='%(prog)s [options]',
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  settings_lib.add_arguments(result, PipelineConfig, 'run',
                             'Which pipeline, and where its outputs go.',
                             environ)
  for attribute, group_type, title, text in GROUPS:
    settings_lib.add_arguments(result, group_type, title, text, environ,
                               prefix=attribute + '.')
  return result


def from_args(argv: Optional[Sequence[str]] = None,
              environ: Optional[Mapping[str, str]] = None) -> PipelineConfig:
  """The configuration from flags, falling back on the environment."""
  return from_namespace(parser(environ).parse_args(argv))


def from_namespace(args: argparse.Namespace) -> PipelineConfig:
  """The configuration from arguments `parser()` parsed."""
  top = settings_lib.build(PipelineConfig, args)
  return dataclasses.replace(top, **{
      attribute: settings_lib.build(group_type, args, prefix=attribute + '.')
      for attribute, group_type, _, _ in GROUPS})
