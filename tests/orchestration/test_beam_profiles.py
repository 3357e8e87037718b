"""Beam runner profiles: the flags each one gives (no Beam), and the portable
profile on a real loopback job service and worker pool computing what the
in-process direct profile computes."""

import json
import os
import subprocess
import sys

import pytest

from helpers import imdb_data
import contract
from orchestration.beam import cluster as beam_cluster
from orchestration.beam import profiles as beam_profiles

OUTPUTS_SCRIPT = os.path.join(imdb_data.PROJECT_ROOT, 'tests', 'helpers',
                              'beam_stage_outputs.py')


def _args(argv=(), **environ):
  return beam_profiles.configured(list(argv), environ=environ)[1]


def _runners(args):
  return [a for a in args if a.startswith('--runner=')]


_IN_THIS_VENV = '--sdk_container_image=imdb-sentiment-tfx:latest'


def test_default_profile_is_direct_in_process():
  args = _args(KFP_IMAGE='imdb-sentiment-tfx:latest')
  assert args == ['--runner=DirectRunner', '--direct_running_mode=in_memory',
                  '--direct_num_workers=1', _IN_THIS_VENV]


def test_local_profile_runs_worker_processes():
  assert _args(BEAM_PROFILE='local', BEAM_WORKERS='3',
               KFP_IMAGE='imdb-sentiment-tfx:latest') == [
      '--runner=DirectRunner', '--direct_running_mode=multi_processing',
      '--direct_num_workers=3', _IN_THIS_VENV]


def test_portable_profile_defaults_to_the_loopback_cluster():
  assert _args(['--beam-profile', 'portable'],
               KFP_IMAGE='imdb-sentiment-tfx:latest') == [
      '--runner=PortableRunner',
      f'--job_endpoint={beam_profiles.DEFAULT_JOB_ENDPOINT}',
      '--job_server_timeout=604800', '--environment_type=EXTERNAL',
      f'--environment_config={beam_profiles.DEFAULT_WORKER_POOL}',
      '--sdk_worker_parallelism=2', _IN_THIS_VENV]


@pytest.mark.parametrize('profile', ['direct', 'local', 'portable'])
def test_tfx_stages_no_copy_of_itself_for_workers_in_this_venv(profile):
  """Without a flag naming the workers' dependencies, TFX builds an sdist
  of its own sources for every Beam component (3 s each)."""
  from tfx.utils import dependency_utils  # pylint: disable=g-import-not-at-top
  args = _args(BEAM_PROFILE=profile)
  assert dependency_utils.make_beam_dependency_flags(args) == args
  assert beam_profiles.DEFAULT_JOB_ENDPOINT.startswith('127.0.0.1:')


def test_flink_and_spark_profiles_take_the_master_and_the_image():
  flink = _args(['--beam-profile', 'flink', '--flink-master', 'jm:8081',
                 '--image', 'reg/imdb:1', '--beam-workers', '8'])
  assert flink == ['--runner=FlinkRunner', '--flink_master=jm:8081',
                   '--parallelism=8', '--job_server_timeout=604800',
                   '--environment_type=DOCKER',
                   '--sdk_container_image=reg/imdb:1']
  spark = _args(BEAM_PROFILE='spark', SPARK_MASTER='spark://m:7077',
                KFP_IMAGE='reg/imdb:2')
  assert spark[:2] == ['--runner=SparkRunner',
                       '--spark_master_url=spark://m:7077']
  assert '--sdk_container_image=reg/imdb:2' in spark


def test_dataflow_profile_takes_cloud_settings():
  args = _args(['--beam-profile', 'dataflow', '--output-dir', 'gs://b/imdb',
                '--gcp-project', 'p', '--gcp-region', 'europe-west1',
                '--beam-machine-type', 'n2-standard-4', '--image', 'reg/i:1'])
  assert args == ['--runner=DataflowRunner', '--project=p',
                  '--region=europe-west1',
                  '--temp_location=gs://b/imdb/beam/tmp',
                  '--staging_location=gs://b/imdb/beam/tmp/staging',
                  '--max_num_workers=2', '--sdk_container_image=reg/i:1',
                  '--sdk_location=container', '--machine_type=n2-standard-4']


@pytest.mark.parametrize('argv, missing', [
    (['--beam-profile', 'flink'], '--flink-master (env FLINK_MASTER)'),
    (['--beam-profile', 'spark'], '--spark-master (env SPARK_MASTER)'),
    (['--beam-profile', 'dataflow', '--output-dir', 'gs://b/o',
      '--gcp-region', 'r'], '--gcp-project (env GCP_PROJECT)'),
    (['--beam-profile', 'dataflow', '--gcp-project', 'p', '--gcp-region', 'r'],
     '--beam-temp-location (env BEAM_TEMP_LOCATION)'),
    (['--beam-profile', 'local', '--beam-workers', '0'], '--beam-workers'),
])
def test_missing_setting_is_a_usage_error_naming_it(argv, missing, capsys):
  with pytest.raises(SystemExit):
    beam_profiles.configured(argv, environ={})
  assert missing in capsys.readouterr().err


def test_unknown_profile_or_bad_worker_count_is_a_usage_error(capsys):
  with pytest.raises(SystemExit):
    beam_profiles.configured([], environ={'BEAM_PROFILE': 'dask'})
  assert "unknown BEAM_PROFILE 'dask'" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    beam_profiles.configured([], environ={'BEAM_WORKERS': 'two'})
  assert '--beam-workers' in capsys.readouterr().err


def test_user_beam_flags_come_last_and_win():
  args = _args(['--beam-profile', 'local',
                '--beam-arg=--direct_num_workers=4'])
  assert args[-1] == '--direct_num_workers=4'
  assert _runners(args) == ['--runner=DirectRunner']


def test_every_profile_names_exactly_one_runner():
  settings = {'FLINK_MASTER': 'jm:8081', 'SPARK_MASTER': 'spark://m:7077',
              'GCP_PROJECT': 'p', 'GCP_REGION': 'r',
              'BEAM_TEMP_LOCATION': 'gs://b/tmp'}
  for profile in beam_profiles.PROFILES:
    assert len(_runners(_args(BEAM_PROFILE=profile, **settings))) == 1


def test_a_runner_in_beam_args_contradicts_a_chosen_profile(capsys):
  with pytest.raises(SystemExit):
    beam_profiles.configured([], environ={'BEAM_PROFILE': 'local',
                                      'BEAM_ARGS': '--runner=FlinkRunner'})
  assert 'BEAM_ARGS names a --runner=' in capsys.readouterr().err


def _assert_same_transformed_rows(portable, direct):
  """Integer and string features equal; the float weights equal up to float32
  rounding (they are computed from analyzer sums, which runners may combine
  in a different order)."""
  assert len(portable) == len(direct)
  for row, (got, want) in enumerate(zip(portable, direct)):
    assert set(got) == set(want), row
    for key, value in want.items():
      if key == contract.TOKEN_WEIGHTS_KEY:
        assert got[key] == pytest.approx(value, rel=1e-5, abs=1e-6), (row, key)
      else:
        assert got[key] == value, (row, key)


@pytest.fixture
def loopback_cluster(tmp_path):
  """Beam's job service and a worker pool on 127.0.0.1 (free ports), stopped
  however the test ends (by themselves if pytest itself is killed)."""
  cluster_dir = str(tmp_path / 'beam-cluster')
  try:
    yield beam_cluster.start(cluster_dir, job_port=0, worker_pool_port=0,
                             owner_pid=os.getpid())
  finally:
    beam_cluster.stop(cluster_dir)
    assert beam_cluster.status(cluster_dir) is None


@pytest.mark.e2e
def test_portable_profile_on_a_local_cluster_matches_direct(
    tmp_path, loopback_cluster):
  assert loopback_cluster.job_endpoint.startswith('127.0.0.1:')
  assert loopback_cluster.worker_pool.startswith('127.0.0.1:')
  archive = imdb_data.write_archive(
      str(tmp_path / 'aclImdb_small.tar.gz'),
      imdb_data.generated_corpus({'train': 40, 'test': 10}, seed=5))
  env = {**beam_cluster.worker_environment(), **loopback_cluster.settings,
         'BEAM_WORKERS': '2'}
  env.pop('BEAM_ARGS', None)
  result = subprocess.run(
      [sys.executable, OUTPUTS_SCRIPT, archive, str(tmp_path / 'outputs'),
       beam_profiles.DIRECT, beam_profiles.PORTABLE],
      env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=900)
  assert result.returncode == 0, result.stderr[-6000:]
  runs = json.loads(result.stdout.strip().splitlines()[-1])
  direct, portable = runs[beam_profiles.DIRECT], runs[beam_profiles.PORTABLE]

  assert len(direct['examples']['test']) == 20
  differing = [key for key in ('examples', 'statistics', 'vocabulary')
               if portable[key] != direct[key]]
  assert not differing, f'portable differs from direct in {differing}'
  _assert_same_transformed_rows(portable['transformed'], direct['transformed'])
  assert direct['vocabulary'], 'Transform wrote no vocabulary'
  # The portable run's components really ran on the pool's workers.
  job_log = open(os.path.join(str(tmp_path / 'beam-cluster'),
                              'job-service.log')).read()
  assert 'Requesting worker at ' + loopback_cluster.worker_pool in job_log
