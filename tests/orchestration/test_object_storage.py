"""S3-compatible object storage (AWS S3, MinIO): the settings each library
gets, and the whole pipeline with its data and artifacts on a local S3
endpoint (moto's server speaks the S3 REST API as MinIO does)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from helpers import imdb_data
from helpers import pipeline_run
import contract
from contract import lineage
from pipeline import configs as config_lib
from orchestration import object_storage
from orchestration.beam import profiles as beam_profiles

ENDPOINT = 'http://127.0.0.1:9000'
# moto accepts any credentials; they reach the pipeline the way real ones
# do, through the environment only.
CREDENTIALS = {'AWS_ACCESS_KEY_ID': 'imdb-test',
               'AWS_SECRET_ACCESS_KEY': 'imdb-test-secret'}
REGION = 'us-east-1'


def _config(*argv, **environ):
  return config_lib.from_args(list(argv), environ=environ)


def test_endpoint_and_region_reach_tensorflow_boto3_and_beam():
  config = _config('--s3-endpoint', ENDPOINT, '--s3-region', 'eu-west-3',
                   '--artifact-root', 's3://bucket/imdb',
                   '--beam-arg=--direct_num_workers=2')
  assert object_storage.environment(config) == {
      'S3_ENDPOINT': ENDPOINT, 'AWS_ENDPOINT_URL_S3': ENDPOINT,
      'AWS_REGION': 'eu-west-3'}
  args = beam_profiles.pipeline_args(config)
  storage = [f'--s3_endpoint_url={ENDPOINT}', '--s3_region_name=eu-west-3']
  # After the profile's flags, before the user's (which win).
  assert args[-3:] == storage + ['--direct_num_workers=2']
  assert args[0] == '--runner=DirectRunner'
  assert config.pipeline_root == 's3://bucket/imdb/imdb_sentiment'
  assert object_storage.uses_s3(config)


def test_settings_come_from_the_environment_too():
  config = _config(S3_ENDPOINT=ENDPOINT, AWS_REGION='us-west-2',
                   ARTIFACT_ROOT='s3://b/root')
  assert (config.storage.s3_endpoint, config.storage.s3_region) == (
      ENDPOINT, 'us-west-2')
  assert config.pipeline_root == 's3://b/root/imdb_sentiment'


def test_no_object_storage_adds_nothing():
  config = _config()
  assert object_storage.environment(config) == {}
  assert not any(a.startswith('--s3_') for a in beam_profiles.pipeline_args(config))
  assert not object_storage.uses_s3(config)
  assert config.pipeline_root == os.path.join(
      config.output_dir, 'pipeline_root', 'imdb_sentiment')
  # AWS S3 itself needs no endpoint: an s3:// location alone is S3.
  assert object_storage.uses_s3(_config('--data', 's3://b/aclImdb.tar.gz'))


def test_the_compiler_keeps_an_endpoint_already_in_its_environment(
    monkeypatch):
  """A port-forward for the compiler, the in-cluster name for the spec."""
  config = _config('--s3-endpoint', 'http://minio-service.kubeflow:9000',
                   '--s3-region', 'us-east-1')
  monkeypatch.setenv('S3_ENDPOINT', ENDPOINT)
  monkeypatch.delenv('AWS_ENDPOINT_URL_S3', raising=False)
  monkeypatch.delenv('AWS_REGION', raising=False)
  object_storage.apply_environment(config, keep_existing=True)
  assert os.environ['S3_ENDPOINT'] == ENDPOINT
  assert os.environ['AWS_REGION'] == 'us-east-1'
  object_storage.apply_environment(config)
  assert os.environ['S3_ENDPOINT'] == 'http://minio-service.kubeflow:9000'


def test_a_local_run_refuses_an_object_storage_output_dir(tmp_path):
  result = subprocess.run(
      [sys.executable, pipeline_run.RUNNER, '--output-dir', 's3://b/out',
       '--data', str(tmp_path)], capture_output=True, text=True,
      cwd=str(tmp_path), timeout=300)
  assert result.returncode == 2
  assert '--output-dir s3://b/out' in result.stderr
  assert '--artifact-root' in result.stderr


@pytest.mark.parametrize('body, status', [
    ('pass', 0),
    ('import sys; sys.exit(3)', 3),
    ('raise RuntimeError("boom")', 1),
])
def test_container_entrypoint_keeps_the_module_exit_status(tmp_path, body,
                                                            status):
  (tmp_path / 'fake_entrypoint.py').write_text(
      f'import sys\nprint("args", sys.argv[1:])\n{body}\n')
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(
      [str(tmp_path), imdb_data.PROJECT_ROOT]))
  result = subprocess.run(
      [sys.executable, '-m', 'kubeflow.container_entrypoint',
       'fake_entrypoint', '--flag', 'value'],
      env=env, capture_output=True, text=True, timeout=120)
  assert result.returncode == status, result.stderr
  assert "args ['--flag', 'value']" in result.stdout
  if status == 1:
    assert 'RuntimeError: boom' in result.stderr


@pytest.fixture(scope='module')
def s3_endpoint():
  """A local S3 endpoint on a free loopback port, with the data bucket."""
  from moto.server import ThreadedMotoServer  # pylint: disable=g-import-not-at-top
  server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
  server.start()
  try:
    host, port = server.get_host_and_port()
    yield f'http://{host}:{port}'
  finally:
    server.stop()


def _s3_client(endpoint):
  import boto3  # pylint: disable=g-import-not-at-top
  return boto3.client('s3', endpoint_url=endpoint, region_name=REGION,
                      aws_access_key_id=CREDENTIALS['AWS_ACCESS_KEY_ID'],
                      aws_secret_access_key=CREDENTIALS[
                          'AWS_SECRET_ACCESS_KEY'])


def test_tensorflow_exits_cleanly_after_using_s3(s3_endpoint, tmp_path):
  """tensorflow-io's S3 client aborts the process at exit (status 134);
  `exit_now` ends it with the status the program chose."""
  _s3_client(s3_endpoint).create_bucket(Bucket='exit-check')
  script = tmp_path / 'touch_s3.py'
  script.write_text(textwrap.dedent('''
      import sys
      import tensorflow as tf
      import tensorflow_io  # registers s3://
      from orchestration import object_storage
      with tf.io.gfile.GFile('s3://exit-check/probe.txt', 'w') as f:
        f.write('written through tensorflow-io')
      print(tf.io.gfile.GFile('s3://exit-check/probe.txt').read())
      object_storage.exit_now(int(sys.argv[1]))
  '''))
  env = dict(os.environ, **CREDENTIALS, S3_ENDPOINT=s3_endpoint,
             AWS_REGION=REGION, PYTHONPATH=imdb_data.PROJECT_ROOT)
  for status in (0, 5):
    result = subprocess.run([sys.executable, str(script), str(status)],
                            env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == status, result.stderr[-3000:]
    assert 'written through tensorflow-io' in result.stdout


@pytest.mark.e2e
def test_pipeline_reads_and_writes_everything_on_s3(s3_endpoint, tmp_path):
  """Data and every artifact on S3; ML Metadata, logs and the pushed model
  local. The run must exit 0 (see exit_now), bless and push, and every
  artifact ML Metadata records must be an object in the bucket."""
  s3 = _s3_client(s3_endpoint)
  for bucket in ('imdb-data', 'imdb-artifacts'):
    s3.create_bucket(Bucket=bucket)
  archive = imdb_data.write_archive(
      str(tmp_path / 'aclImdb_small.tar.gz'),
      imdb_data.generated_corpus({'train': 150, 'test': 50}, seed=3))
  s3.upload_file(archive, 'imdb-data', 'reviews/aclImdb_small.tar.gz')
  env = dict(os.environ, **CREDENTIALS)
  for name in ('IMDB_DATA', 'OUTPUT_DIR', 'ARTIFACT_ROOT', 'S3_ENDPOINT'):
    env.pop(name, None)
  argv = ['--data', 's3://imdb-data/reviews/aclImdb_small.tar.gz',
          '--artifact-root', 's3://imdb-artifacts/pipelines',
          '--s3-endpoint', s3_endpoint, '--s3-region', REGION,
          '--output-dir', str(tmp_path / 'outputs')]
  stdout = pipeline_run.run_runner(env, str(tmp_path), *argv)

  config = config_lib.from_args(argv, environ={})
  assert 'Blessed: yes' in stdout
  [version] = os.listdir(config.serving_dir)
  model_dir = os.path.join(config.serving_dir, version)
  with open(os.path.join(model_dir, 'assets.extra',
                         contract.RELEASE_FILE)) as f:
    release = json.load(f)
  assert release['model'].startswith('s3://imdb-artifacts/pipelines/')
  assert 'The run report could not be written' not in stdout

  store = lineage.sqlite_store(config.metadata_path)
  type_names = {t.id: t.name for t in store.get_artifact_types()}
  artifacts = [(type_names[a.type_id], a.uri) for a in store.get_artifacts()]
  keys = [o['Key'] for page in s3.get_paginator('list_objects_v2').paginate(
      Bucket='imdb-artifacts') for o in page.get('Contents', [])]
  written = {type_name for type_name, uri in artifacts if any(
      key.startswith(uri[len('s3://imdb-artifacts/'):] + '/') for key in keys)}
  assert all(uri.startswith('s3://imdb-artifacts/pipelines/imdb_sentiment/')
             for _, uri in artifacts), artifacts
  assert {'Examples', 'ExampleStatistics', 'Schema', 'ExampleAnomalies',
          'TransformGraph', 'Model', 'ModelRun', 'ModelEvaluation',
          'ModelBlessing'} <= written, written
  assert not os.path.exists(os.path.join(str(tmp_path / 'outputs'),
                                         'pipeline_root'))


def test_kubeflow_compile_writes_its_wheels_to_s3_and_exits_cleanly(
    s3_endpoint, tmp_path):
  """`make kubeflow` with the pipeline root on S3 (MinIO on a cluster):
  the module wheels land in the bucket, through the same settings."""
  s3 = _s3_client(s3_endpoint)
  s3.create_bucket(Bucket='kfp-root')
  env = dict(os.environ, **CREDENTIALS,
             KFP_PIPELINE_DIR=str(tmp_path / 'kfp'))
  for name in ('S3_ENDPOINT', 'AWS_ENDPOINT_URL_S3', 'ARTIFACT_ROOT'):
    env.pop(name, None)
  result = subprocess.run(
      [sys.executable, '-m', 'kubeflow.runner',
       '--output-dir', 's3://kfp-root/imdb', '--data', 's3://data/imdb',
       '--s3-endpoint', s3_endpoint, '--s3-region', REGION],
      env=env, cwd=imdb_data.PROJECT_ROOT, capture_output=True, text=True,
      timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert summary['pipeline_root'] == 's3://kfp-root/imdb/pipeline_root/' \
      'imdb-sentiment'
  keys = [o['Key'] for o in s3.list_objects_v2(Bucket='kfp-root')['Contents']]
  wheels = [k for k in keys if k.endswith('.whl')]
  assert any('tfx_user_code_trainer' in k.lower() for k in wheels), keys
  assert any('tfx_user_code_transform' in k.lower() for k in wheels), keys
