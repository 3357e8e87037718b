"""Beam runner profiles: one name (`BEAM_PROFILE`) -> the Beam flags it needs.

Every profile names its runner explicitly: an installed Beam must never pick
one the user did not choose. The settings come from the one configuration
object (`PipelineConfig`); the user's own Beam flags (`BEAM_ARGS`,
`--beam-arg`) are appended last, so they win. Pure: imports no Beam, so the
mapping is tested without running anything.

  direct    DirectRunner in this process (the default, and the tests').
  local     DirectRunner with worker processes on this machine.
  portable  PortableRunner against a Beam job service with an external worker
            pool (`make beam-cluster` starts both on loopback): the protocol
            Flink's and Spark's job servers speak.
  flink     FlinkRunner against a Flink cluster.
  spark     SparkRunner against a Spark cluster.
  dataflow  Google Cloud Dataflow.
"""

from typing import List, Mapping, Optional, Sequence, Tuple

from orchestration import object_storage
# The profiles' names and the loopback cluster's addresses are declared with
# the settings; re-exported for the cluster and the tests.
from pipeline.configs import (  # pylint: disable=unused-import
    BEAM_PROFILES as PROFILES, DEFAULT_JOB_ENDPOINT, DEFAULT_JOB_PORT,
    DEFAULT_WORKER_POOL, DEFAULT_WORKER_POOL_PORT, LOOPBACK, PipelineConfig)
from pipeline import configs as config_lib

DIRECT, LOCAL, PORTABLE, FLINK, SPARK, DATAFLOW = PROFILES


# Beam 2.59's PortableRunner (Flink's and Spark's runners too) puts its job
# server timeout (default 60 s) on the stream it watches the job's state on as
# well: any job longer than that fails on the client. Longer than any job.
_JOB_SERVER_TIMEOUT_S = 7 * 24 * 3600


class BeamProfileError(ValueError):
  """A profile lacks a setting it needs, or the settings contradict."""


def _names_runner(args: Sequence[str]) -> bool:
  return any(arg.startswith('--runner=') for arg in args)


def _required(settings: PipelineConfig, field: str, flag: str) -> str:
  value = getattr(settings.beam, field)
  if not value:
    raise BeamProfileError(
        f'BEAM_PROFILE={settings.beam.profile} needs {flag} '
        f'(env {field.upper()})')
  return value


def _workers(settings: PipelineConfig) -> int:
  if settings.beam.workers < 1:
    raise BeamProfileError(
        f'--beam-workers (env BEAM_WORKERS) must be at least 1, not '
        f'{settings.beam.workers}')
  return settings.beam.workers


def _docker_environment(settings: PipelineConfig) -> List[str]:
  # Flink's and Spark's task managers start the Python SDK harness from this
  # image: it must hold the locked dependencies and this project (README,
  # "Running on a cluster"). BEAM_ARGS=--environment_type=EXTERNAL ... points
  # them at a worker pool instead.
  # (As `--sdk_container_image` it also tells TFX that the workers have TFX:
  # it stages no copy of its own sources then.)
  return ['--environment_type=DOCKER',
          f'--sdk_container_image={settings.kubeflow.image}']


def _workers_have_this_venv(settings: PipelineConfig) -> List[str]:
  # These profiles' workers run in this venv (threads, processes of this
  # machine, `make beam-cluster`'s worker pool), which has TFX. Unless a Beam
  # flag names the workers' dependencies, TFX copies its own sources and
  # builds an sdist of them for every Beam component it runs (about 3 s
  # each, for nothing: these runners stage nothing). The image's name is
  # that flag; these runners start no container.
  return [f'--sdk_container_image={settings.kubeflow.image}']


def _profile_args(settings: PipelineConfig) -> List[str]:
  profile = settings.beam.profile
  if profile == DIRECT:
    return ['--runner=DirectRunner', '--direct_running_mode=in_memory',
            f'--direct_num_workers={settings.beam.direct_num_workers}'
           ] + _workers_have_this_venv(settings)
  if profile == LOCAL:
    return ['--runner=DirectRunner', '--direct_running_mode=multi_processing',
            f'--direct_num_workers={_workers(settings)}'
           ] + _workers_have_this_venv(settings)
  if profile == PORTABLE:
    return ['--runner=PortableRunner',
            f'--job_endpoint={settings.beam.job_endpoint}',
            f'--job_server_timeout={_JOB_SERVER_TIMEOUT_S}',
            '--environment_type=EXTERNAL',
            f'--environment_config={settings.beam.worker_pool}',
            # Worker processes per job (`make beam-cluster`'s job service)
            # or per task manager (Flink's and Spark's job servers).
            f'--sdk_worker_parallelism={_workers(settings)}'
           ] + _workers_have_this_venv(settings)
  if profile == FLINK:
    master = _required(settings, 'flink_master', '--flink-master')
    return ['--runner=FlinkRunner', f'--flink_master={master}',
            f'--parallelism={_workers(settings)}',
            f'--job_server_timeout={_JOB_SERVER_TIMEOUT_S}'
           ] + _docker_environment(
                settings)
  if profile == SPARK:
    master = _required(settings, 'spark_master', '--spark-master')
    return ['--runner=SparkRunner', f'--spark_master_url={master}',
            f'--sdk_worker_parallelism={_workers(settings)}',
            f'--job_server_timeout={_JOB_SERVER_TIMEOUT_S}'
           ] + _docker_environment(settings)
  if profile == DATAFLOW:
    temp_location = settings.beam.temp_location or (
        f'{settings.output_dir.rstrip("/")}/beam/tmp'
        if settings.output_dir.startswith('gs://') else None)
    if not temp_location:
      raise BeamProfileError(
          f'BEAM_PROFILE={profile} needs --beam-temp-location (env '
          'BEAM_TEMP_LOCATION) or a gs:// --output-dir to put it under')
    args = ['--runner=DataflowRunner',
            f'--project={_required(settings, "gcp_project", "--gcp-project")}',
            f'--region={_required(settings, "gcp_region", "--gcp-region")}',
            f'--temp_location={temp_location}',
            f'--staging_location={temp_location.rstrip("/")}/staging',
            f'--max_num_workers={_workers(settings)}',
            # The workers run this image (the project and the locked
            # dependencies, on Beam's SDK container); nothing is pip-installed
            # on them at start.
            f'--sdk_container_image={settings.kubeflow.image}',
            '--sdk_location=container']
    if settings.beam.machine_type:
      args.append(f'--machine_type={settings.beam.machine_type}')
    return args
  raise BeamProfileError(
      f'unknown BEAM_PROFILE {profile!r}; one of {", ".join(PROFILES)}')


def pipeline_args(settings: PipelineConfig) -> List[str]:
  """The Beam pipeline flags of the settings' profile, then object storage's
  (whatever the runner), then the user's own.

  With the default profile, user flags that name a `--runner=` replace the
  profile's flags (they describe a runner of their own); with any other
  profile that is a contradiction and an error.
  """
  storage_args = object_storage.beam_args(settings)
  extra = list(settings.beam.extra_args)
  if _names_runner(extra):
    if settings.beam.profile != DIRECT:
      raise BeamProfileError(
          f'BEAM_ARGS names a --runner= and BEAM_PROFILE='
          f'{settings.beam.profile} names one too; drop one of them')
    return storage_args + extra
  return _profile_args(settings) + storage_args + extra


def configured(argv: Optional[Sequence[str]] = None,
               environ: Optional[Mapping[str, str]] = None
               ) -> Tuple[PipelineConfig, List[str]]:
  """A runner's configuration from its flags and environment, with the Beam
  flags of its profile. A profile missing a setting is a usage error (exit
  status 2), before anything heavy is imported."""
  parser = config_lib.parser(environ)
  config = config_lib.from_namespace(parser.parse_args(argv))
  try:
    return config, pipeline_args(config)
  except BeamProfileError as e:
    parser.error(str(e))
