"""The one configuration object of a run, from the command line and environment.

`PipelineConfig` is built once (by a runner, from flags and environment
variables) and handed to `create_pipeline`, which passes the relevant parts to
every component: Beam args, Transform's and Trainer's `custom_config`, the
Evaluator's thresholds and the Pusher's destination.
"""

import argparse
import dataclasses
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import contract
from models import settings
from orchestration.beam import profiles as beam_profiles
from orchestration import object_storage
from pipeline.data import is_uri

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_DIR = os.path.join(PROJECT_ROOT, 'models')
SCHEMA_PATH = os.path.join(PROJECT_ROOT, 'pipeline', 'schema', 'schema.pbtxt')


@dataclasses.dataclass
class PipelineConfig:
  """Everything a run can vary. Local paths are absolute once built; the
  output and data locations may also be object-storage URIs (gs://, s3://)."""

  pipeline_name: str = contract.MODEL_NAME
  output_dir: str = os.path.join(PROJECT_ROOT, 'outputs')
  # Directory (official layout) or .tar.gz; None downloads the official one.
  data: Optional[str] = None
  data_cache_dir: Optional[str] = None
  eval_percent: int = 10
  vocabulary: Dict[str, int] = dataclasses.field(
      default_factory=lambda: settings.vocabulary_settings(None))
  training: Dict[str, Any] = dataclasses.field(
      default_factory=lambda: settings.hyperparameters(None))
  # The Evaluator blesses a candidate whose test accuracy is at least
  # `min_accuracy` and no more than `max_accuracy_drop` below the baseline's.
  min_accuracy: float = 0.80
  max_accuracy_drop: float = 0.01
  # --- Retraining on spans (IMDB_DATA a root of span-<N>/ directories).
  # Transform, Trainer and Evaluator read the last `span_window` ingested
  # spans (1: the latest only); `excluded_spans` are never read again, nor
  # used as the drift baseline (how an operator sets aside a bad span).
  span_window: int = 1
  excluded_spans: List[int] = dataclasses.field(default_factory=list)
  # Ingest this span instead of the latest one (backfilling); None: latest.
  span: Optional[int] = None
  # A span is stopped before training when, against the previous span, the
  # label distribution moves more than this (L-infinity distance between the
  # two label histograms) ...
  max_label_drift: float = 0.1
  # ... or the mean review length changes by more than this fraction.
  max_length_change: float = 0.25
  # The Pusher keeps the newest `keep_versions` versions in the serving
  # directory (0: all), never removing the one models.config serves.
  keep_versions: int = 0
  enable_cache: bool = True
  # A second run on the same output directory: refuse at once (0), wait
  # that many seconds for the first to finish, or wait for ever (None).
  lock_wait_s: Optional[float] = 0
  # Re-running on unchanged data re-blesses the served model; pushing it again
  # would only add an identical version.
  push_identical_model: bool = False
  # Which Beam runner, with which flags: see orchestration/beam/profiles.py.
  beam_profile: str = beam_profiles.DIRECT
  beam_direct_num_workers: int = 1
  # Worker processes (local, portable), parallelism (flink, spark), at most
  # this many workers (dataflow).
  beam_workers: int = 2
  beam_job_endpoint: str = beam_profiles.DEFAULT_JOB_ENDPOINT
  beam_worker_pool: str = beam_profiles.DEFAULT_WORKER_POOL
  flink_master: Optional[str] = None
  spark_master: Optional[str] = None
  # Dataflow: temp and staging files (default <output_dir>/beam/tmp on gs://),
  # project, region and worker machine type.
  beam_temp_location: Optional[str] = None
  gcp_project: Optional[str] = None
  gcp_region: Optional[str] = None
  beam_machine_type: Optional[str] = None
  # Show TFX's and Beam's logs on the terminal too (they always go to the
  # run's log file); console only, no effect on what the pipeline computes.
  verbose: bool = False
  # Beam flags added after the profile's (so they win), or, with a --runner
  # of their own and the default profile, replacing them.
  extra_beam_args: List[str] = dataclasses.field(default_factory=list)
  # When a scheduler retrains (cron syntax): the Airflow DAG's schedule
  # (dags/imdb_sentiment_dag.py); the local runner runs once, whatever it says.
  schedule: str = '0 3 * * *'

  # Where the components' artifacts go (default <output_dir>/pipeline_root);
  # may be on object storage while ML Metadata, logs and the lock stay local.
  artifact_root: Optional[str] = None
  # S3-compatible object storage (AWS, MinIO) for s3:// locations: the
  # endpoint URL (e.g. http://minio-service.kubeflow:9000; unset: AWS) and
  # the region. Credentials come from the environment, never from here.
  s3_endpoint: Optional[str] = None
  s3_region: Optional[str] = None

  # The curated schema, read by ImportSchemaGen when the pipeline runs.
  schema_path: str = SCHEMA_PATH

  # --- Cluster (Kubeflow Pipelines) settings; unused by the local runner.
  # Also the Beam workers' image of the flink, spark and dataflow profiles.
  image: str = 'imdb-sentiment-tfx:latest'
  # Where kubeflow/Dockerfile puts this project inside the image: files read
  # at run time (the curated schema) are addressed there.
  source_root_in_image: str = '/app'
  # A Kubernetes secret holding the S3 credentials (keys `accesskey` and
  # `secretkey`, as Kubeflow's own mlpipeline-minio-artifact secret): every
  # component gets them as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
  s3_credentials_secret: Optional[str] = None
  # (vCPUs, GiB of memory) limits per component id.
  component_resources: Dict[str, Tuple[float, float]] = dataclasses.field(
      default_factory=lambda: {
          'ImdbExampleGen': (1, 4), 'StatisticsGen': (2, 8),
          'Transform': (2, 8), 'Trainer': (2, 8), 'Evaluator': (2, 8)})

  @property
  def pipeline_root(self) -> str:
    return os.path.join(
        self.artifact_root or os.path.join(self.output_dir, 'pipeline_root'),
        self.pipeline_name)

  @property
  def metadata_path(self) -> str:
    return os.path.join(self.output_dir, 'metadata', 'metadata.sqlite')

  @property
  def serving_dir(self) -> str:
    return os.path.join(self.output_dir, 'serving', contract.MODEL_NAME)

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
  def beam_pipeline_args(self) -> List[str]:
    # Always names the runner: an installed Beam must never pick one the user
    # did not choose.
    return beam_profiles.pipeline_args(
        self, storage_args=object_storage.beam_args(self))

  @property
  def transform_custom_config(self) -> Dict[str, Any]:
    return dict(self.vocabulary)

  @property
  def trainer_custom_config(self) -> Dict[str, Any]:
    # The vocabulary settings go along: the model sizes its embedding by them.
    return {**self.vocabulary, **self.training}


def absolute(path: str) -> str:
  return path if is_uri(path) else os.path.abspath(path)


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


# Text settings of the Beam profiles: flag --beam-job-endpoint, env
# BEAM_JOB_ENDPOINT, field beam_job_endpoint, and so on.
_BEAM_SETTINGS = ('beam_job_endpoint', 'beam_worker_pool', 'flink_master',
                  'spark_master', 'beam_temp_location', 'gcp_project',
                  'gcp_region', 'beam_machine_type')


def _parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
  defaults = PipelineConfig()
  parser = argparse.ArgumentParser(
      description='Run the IMDB sentiment TFX pipeline locally.')
  parser.add_argument(
      '--data', default=environ.get('IMDB_DATA') or None,
      help='IMDB reviews: a directory in the official aclImdb layout or the '
      '.tar.gz (env IMDB_DATA). Unset: download the official archive.')
  parser.add_argument(
      '--output-dir', default=environ.get('OUTPUT_DIR', defaults.output_dir),
      help='Where every output of a run goes (env OUTPUT_DIR).')
  parser.add_argument(
      '--artifact-root', default=environ.get('ARTIFACT_ROOT') or None,
      help='Where the components\' artifacts go, e.g. s3://bucket/imdb '
      '(env ARTIFACT_ROOT; default <output-dir>/pipeline_root). ML Metadata, '
      'logs, reports and the lock stay in --output-dir.')
  parser.add_argument(
      '--s3-endpoint', default=environ.get('S3_ENDPOINT') or None,
      metavar='URL', help='S3-compatible endpoint for s3:// locations, e.g. '
      'http://127.0.0.1:9000 for MinIO (env S3_ENDPOINT; unset: AWS S3).')
  parser.add_argument(
      '--s3-region', default=environ.get('AWS_REGION') or None,
      help='S3 region (env AWS_REGION).')
  parser.add_argument(
      '--s3-credentials-secret',
      default=environ.get('S3_CREDENTIALS_SECRET') or None, metavar='NAME',
      help='Kubeflow: the Kubernetes secret with the S3 credentials (keys '
      'accesskey, secretkey), e.g. mlpipeline-minio-artifact '
      '(env S3_CREDENTIALS_SECRET).')
  parser.add_argument(
      '--data-cache-dir', default=environ.get('IMDB_CACHE_DIR'),
      help='Where the downloaded archive is kept (env IMDB_CACHE_DIR).')
  parser.add_argument('--pipeline-name', default=defaults.pipeline_name)
  parser.add_argument(
      '--beam-arg', action='append', dest='beam_args',
      default=environ.get('BEAM_ARGS', '').split() or [],
      help='A Beam pipeline flag, repeatable (env BEAM_ARGS, space-separated), '
      'after the profile\'s; one with --runner= replaces the direct profile.')
  parser.add_argument(
      '--beam-profile', choices=beam_profiles.PROFILES,
      default=environ.get('BEAM_PROFILE') or defaults.beam_profile,
      help='Where the Beam components run (env BEAM_PROFILE): direct (in '
      'process), local (worker processes), portable (a Beam job service, e.g. '
      'make beam-cluster), flink, spark, dataflow.')
  parser.add_argument(
      '--beam-workers', type=int,
      # A string default goes through `type` too: a bad env value is a usage
      # error naming the flag.
      default=environ.get('BEAM_WORKERS') or defaults.beam_workers,
      help='Worker processes (local, portable), parallelism (flink, spark), '
      'maximum workers (dataflow) (env BEAM_WORKERS).')
  for field in _BEAM_SETTINGS:
    parser.add_argument(
        '--' + field.replace('_', '-'), dest=field,
        default=environ.get(field.upper()) or getattr(defaults, field),
        help=f'Beam profile setting (env {field.upper()}); see '
        'README, "Running on a cluster".')
  parser.add_argument('--image', default=environ.get('KFP_IMAGE',
                                                     defaults.image),
                      help='Container image for Kubeflow (env KFP_IMAGE).')
  parser.add_argument(
      '--resources', action='append', default=[], type=_resource_limit,
      metavar='COMPONENT=CPUS,GIB',
      help='Kubeflow CPU/memory limits of a component, e.g. Trainer=4,16; '
      'repeatable, overrides the defaults per component.')
  parser.add_argument(
      '--schedule', default=environ.get('RETRAIN_SCHEDULE', defaults.schedule),
      help='Cron schedule of scheduled retraining, e.g. "0 3 * * *" (daily at '
      '03:00); read by the Airflow DAG (env RETRAIN_SCHEDULE).')
  parser.add_argument('--eval-percent', type=int,
                      default=defaults.eval_percent)
  parser.add_argument('--min-accuracy', type=float,
                      default=defaults.min_accuracy)
  parser.add_argument('--max-accuracy-drop', type=float,
                      default=defaults.max_accuracy_drop)
  parser.add_argument('--no-cache', action='store_true',
                      help='Re-execute every component.')
  parser.add_argument(
      '--wait', nargs='?', type=float, const=-1, default=0, metavar='SECONDS',
      help='When another run holds the output directory, wait for it '
      '(for ever, or at most SECONDS) instead of refusing at once.')
  parser.add_argument(
      '--span-window', type=_positive_int,
      default=int(environ.get('SPAN_WINDOW', defaults.span_window)),
      help='With a data root of span-<N>/ directories: train and evaluate on '
      'the last K ingested spans (env SPAN_WINDOW; default 1, the latest).')
  parser.add_argument(
      '--exclude-span', type=int, action='append', dest='excluded_spans',
      default=[int(n) for n in environ.get('EXCLUDED_SPANS', '').split()],
      metavar='N', help='A span never to train, evaluate or compare drift on '
      'again, e.g. one that was rejected; repeatable (env EXCLUDED_SPANS).')
  parser.add_argument(
      '--span', type=int, default=None,
      help='Ingest this span instead of the latest one (backfilling).')
  parser.add_argument('--max-label-drift', type=float,
                      default=defaults.max_label_drift)
  parser.add_argument('--max-length-change', type=float,
                      default=defaults.max_length_change)
  parser.add_argument(
      '--keep-versions', type=int,
      default=int(environ.get('KEEP_VERSIONS', defaults.keep_versions)),
      help='Keep the newest K pushed versions, never the served one '
      '(env KEEP_VERSIONS; 0 keeps all).')
  parser.add_argument(
      '-v', '--verbose', action='store_true',
      default=environ.get('VERBOSE', '') not in ('', '0'),
      help='Show TFX\'s and Beam\'s logs on the terminal as well as in the '
      'run\'s log file (env VERBOSE=1).')
  parser.add_argument(
      '--push-identical-model', action='store_true',
      default=environ.get('PUSH_IDENTICAL_MODEL', '') not in ('', '0'),
      help='Push a blessed model even if the serving directory already has '
      'a version with the same SavedModel fingerprint '
      '(env PUSH_IDENTICAL_MODEL=1).')
  # One flag per tokenization/training setting, typed by its default.
  for key, value in {**defaults.vocabulary, **defaults.training}.items():
    flag = '--' + key.replace('_', '-')
    if key == 'tokenization':
      parser.add_argument(flag, choices=contract.TOKENIZATIONS, default=value)
    elif isinstance(value, bool):
      parser.add_argument(flag, action=argparse.BooleanOptionalAction,
                          default=value)
    elif key == 'pretrained_embeddings':
      parser.add_argument(
          flag, default=value, type=lambda path: absolute(path) if path else '',
          metavar='PATH', help='GloVe/word2vec text file to initialize the '
          'n-gram embeddings from (vocabulary tokenization only).')
    else:
      parser.add_argument(flag, type=type(value), default=value)
  return parser


def from_args(argv: Optional[Sequence[str]] = None,
              environ: Optional[Mapping[str, str]] = None) -> PipelineConfig:
  """Builds the configuration from flags, falling back on the environment."""
  environ = os.environ if environ is None else environ
  parser = _parser(environ)
  args = parser.parse_args(argv)
  defaults = PipelineConfig()
  config = PipelineConfig(
      pipeline_name=args.pipeline_name,
      output_dir=absolute(args.output_dir),
      data=absolute(args.data) if args.data else None,
      data_cache_dir=args.data_cache_dir,
      artifact_root=absolute(args.artifact_root) if args.artifact_root
      else None,
      s3_endpoint=args.s3_endpoint,
      s3_region=args.s3_region,
      s3_credentials_secret=args.s3_credentials_secret,
      eval_percent=args.eval_percent,
      vocabulary={key: getattr(args, key) for key in defaults.vocabulary},
      training={key: getattr(args, key) for key in defaults.training},
      min_accuracy=args.min_accuracy,
      max_accuracy_drop=args.max_accuracy_drop,
      span_window=args.span_window,
      excluded_spans=sorted(set(args.excluded_spans)),
      span=args.span,
      max_label_drift=args.max_label_drift,
      max_length_change=args.max_length_change,
      keep_versions=args.keep_versions,
      enable_cache=not args.no_cache,
      lock_wait_s=None if args.wait < 0 else args.wait,
      verbose=args.verbose,
      push_identical_model=args.push_identical_model,
      extra_beam_args=list(args.beam_args),
      schedule=args.schedule,
      beam_profile=args.beam_profile,
      beam_workers=args.beam_workers,
      **{field: getattr(args, field) for field in _BEAM_SETTINGS},
      image=args.image,
      component_resources={**defaults.component_resources,
                           **dict(args.resources)},
  )
  try:
    # A profile missing a setting fails here, before anything is imported.
    config.beam_pipeline_args  # pylint: disable=pointless-statement
  except beam_profiles.BeamProfileError as e:
    parser.error(str(e))
  return config
