"""Kubeflow: the compiled spec, the client commands, image and manifests."""

import importlib
import json
import os
import socket

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
import tensorflow_model_analysis as tfma
from tensorflow_data_validation.anomalies.proto import (
    custom_validation_config_pb2)

from helpers import fake_kfp
from helpers import imdb_data
from components.distribution_validator import executor as drift_executor
from kubeflow import client
from kubeflow import runner
from kubeflow import serving
from orchestration.beam import profiles as beam_profiles
import contract
from pipeline import configs as config_lib
from pipeline import data
from pipeline import orchestrators
from pipeline import pipeline as imdb_pipeline

KUBEFLOW_DIR = os.path.join(imdb_data.PROJECT_ROOT, 'kubeflow')
IMAGE = 'registry.example.com/team/imdb-sentiment-tfx:1.2.3'
DATA = 'gs://bucket/data/aclImdb_v1.tar.gz'
MINIO = 'http://minio-service.kubeflow:9000'


@pytest.fixture(scope='module')
def compiled(tmp_path_factory):
  """Compiles with a local pipeline root (wheels are written there): a dry
  run."""
  out = tmp_path_factory.mktemp('kfp')
  config = runner.cluster_config(
      ['--output-dir', str(out / 'root'), '--data', DATA, '--image', IMAGE,
       '--kubeflow-dry-run',
       '--beam-arg=--runner=FlinkRunner', '--beam-arg=--flink_master=f:8081'])
  path = runner.compile_pipeline(config, str(out))
  [spec] = _documents(path)
  return config, path, spec


@pytest.fixture(scope='module')
def compiled_for_minio(tmp_path_factory):
  """Compiled for a cluster whose object storage is MinIO, with its
  credentials in Kubeflow's own secret."""
  out = tmp_path_factory.mktemp('kfp_minio')
  config = runner.cluster_config(
      ['--output-dir', 's3://mlpipeline/imdb', '--data', 's3://data/imdb',
       '--artifact-root', str(out / 'root'), '--image', IMAGE,
       '--kubeflow-dry-run',
       '--s3-endpoint', MINIO, '--s3-region', 'us-east-1',
       '--s3-credentials-secret', 'mlpipeline-minio-artifact'])
  path = runner.compile_pipeline(config, str(out))
  spec, platform_spec = _documents(path)
  return config, spec, platform_spec


def _documents(path):
  """The YAML documents of a compiled file, as KFP's client reads them: the
  PipelineSpec, then the PlatformSpec if there is one."""
  with open(path) as f:
    documents = list(yaml.safe_load_all(f))
  # This kfp-pipeline-spec predates the resource string fields
  # (resourceCpuLimit, ...): they are checked on the YAML itself.
  parsed = [json_format.ParseDict(documents[0],
                                  pipeline_spec_pb2.PipelineSpec(),
                                  ignore_unknown_fields=True)]
  parsed += [json_format.ParseDict(d, pipeline_spec_pb2.PlatformSpec())
             for d in documents[1:]]
  return parsed


def _containers(spec):
  executors = json_format.MessageToDict(spec.deployment_spec)['executors']
  return {name: e['container'] for name, e in executors.items()
          if 'container' in e}


def _task_dependencies(spec):
  return {name: set(task.dependent_tasks)
          for name, task in spec.root.dag.tasks.items()}


def test_spec_is_written_where_make_kubeflow_documents(compiled):
  _, path, spec = compiled
  assert os.path.basename(path) == 'imdb_sentiment_pipeline.yaml'
  assert spec.pipeline_info.name == 'imdb-sentiment'
  assert spec.schema_version == '2.1.0'


def test_spec_has_every_local_component_with_the_same_dependencies(compiled):
  config, _, spec = compiled
  local = imdb_pipeline.create_pipeline(
      config, data.locate(DATA), beam_profiles.pipeline_args(config),
      orchestrators.KUBEFLOW)
  local_ids = {c.id for c in local.components}
  tasks = _task_dependencies(spec)
  # Resolvers compile to one task per resolved channel.
  compiled_ids = {name.split('-')[0] for name in tasks}
  assert compiled_ids == local_ids
  for component in local.components:
    if component.id == 'latest_blessed_model_resolver':
      continue
    upstream = {n.id for n in component.upstream_nodes}
    compiled_upstream = {name.split('-')[0] for name in tasks[component.id]}
    assert compiled_upstream == upstream, component.id


def _inputs_from(spec, task):
  """{input key: producer task} of a task's artifacts."""
  artifacts = spec.root.dag.tasks[task].inputs.artifacts
  return {key: artifact.task_output_artifact.producer_task
          for key, artifact in artifacts.items()}


def _resolver_query(spec, task):
  executor = spec.root.dag.tasks[task].component_ref.name + '_executor'
  resolver = json_format.MessageToDict(spec.deployment_spec)['executors'][
      executor]['resolver']
  [query] = resolver['outputArtifactQueries'].values()
  return query['filter']


def test_spec_checks_drift_against_the_previous_runs_statistics(compiled):
  config, _, spec = compiled
  tasks = _task_dependencies(spec)
  assert _inputs_from(spec, 'DistributionValidator') == {
      'statistics': 'StatisticsGen',
      'baseline_statistics': 'previous_run_statistics_resolver'}
  # The resolver waits for nothing and StatisticsGen waits for it: what it
  # finds is never this run's statistics.
  assert tasks['previous_run_statistics_resolver'] == set()
  assert 'previous_run_statistics_resolver' in tasks['StatisticsGen']
  assert _resolver_query(spec, 'previous_run_statistics_resolver') == (
      'schema_title="tfx.ExampleStatistics" AND state=LIVE')
  # Stops the run before Transform, as locally.
  assert 'DistributionValidator' in tasks['ValidationGate']
  assert 'ValidationGate' in tasks['Transform']
  # The same checks as locally, as the JSON the container parses back.
  parameters = spec.root.dag.tasks['DistributionValidator'].inputs.parameters
  checks = json_format.Parse(
      parameters['custom_validation_config'].runtime_value.constant
      .string_value, custom_validation_config_pb2.CustomValidationConfig())
  assert checks == imdb_pipeline.make_drift_checks(config)
  [container] = [c for name, c in _containers(spec).items()
                 if name == 'DistributionValidator_executor']
  assert container['args'][:2] == [
      '--executor_class_path',
      'components.distribution_validator.executor.KubeflowExecutor']


def test_spec_warm_starts_from_the_latest_blessed_model(compiled):
  _, _, spec = compiled
  assert _inputs_from(spec, 'Trainer')['base_model'] == (
      'latest_blessed_model_resolver-model-resolver')
  assert _inputs_from(spec, 'Evaluator')['baseline_model'] == (
      'latest_blessed_model_resolver-model-resolver')
  assert 'metadata.blessed.number_value=1' in _resolver_query(
      spec, 'latest_blessed_model_resolver-model-blessing-resolver')
  # No span window: the Trainer reads the span ExampleGen ingested.
  assert _inputs_from(spec, 'Trainer')['examples'] == 'ImdbExampleGen'


def test_inputs_a_resolver_may_leave_empty_are_optional(compiled):
  _, _, spec = compiled
  optional = {(name, key) for name, component in spec.components.items()
              for key, artifact in
              component.input_definitions.artifacts.items()
              if artifact.is_optional}
  assert {('DistributionValidator', 'baseline_statistics'),
          ('Trainer', 'base_model'),
          ('Evaluator', 'baseline_model')} <= optional
  assert ('DistributionValidator', 'statistics') not in optional
  assert ('Trainer', 'examples') not in optional


def test_kubeflow_drift_executor_reads_json_and_a_missing_baseline(
    tmp_path, monkeypatch):
  config = config_lib.PipelineConfig()
  checks = imdb_pipeline.make_drift_checks(config)
  seen = {}
  monkeypatch.setattr(
      drift_executor.drift_executor.Executor, 'Do',
      lambda self, *args: seen.setdefault('args', args))
  executor = drift_executor.KubeflowExecutor()
  executor.Do({'statistics': []}, {}, {
      'distribution_validator_config': '{}',
      'custom_validation_config': json_format.MessageToJson(checks)})
  input_dict, _, exec_properties = seen['args']
  assert input_dict == {'baseline_statistics': [], 'statistics': []}
  assert exec_properties['custom_validation_config'] == checks
  assert exec_properties['distribution_validator_config'] == (
      imdb_pipeline.make_drift_config(config))


def test_every_container_uses_the_configured_image(compiled):
  _, _, spec = compiled
  images = {name: c['image'] for name, c in _containers(spec).items()}
  assert len(images) >= 8
  assert set(images.values()) == {IMAGE}


def test_every_container_runs_tfx_through_the_exit_status_wrapper(compiled):
  _, _, spec = compiled
  for name, container in _containers(spec).items():
    assert container['command'] == [
        'python', '-m', 'kubeflow.container_entrypoint',
        'tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor'
    ], name
    # Without object storage settings, no environment of ours.
    assert 'env' not in container, name


def test_minio_settings_and_credentials_reach_every_container(
    compiled_for_minio):
  config, spec, platform_spec = compiled_for_minio
  containers = _containers(spec)
  for name, container in containers.items():
    assert {e['name']: e['value'] for e in container['env']} == {
        'S3_ENDPOINT': MINIO, 'AWS_ENDPOINT_URL_S3': MINIO,
        'AWS_REGION': 'us-east-1'}, name
  transform_args = ' '.join(containers['Transform_executor']['args'])
  assert f'--s3_endpoint_url={MINIO}' in transform_args
  assert '--s3_region_name=us-east-1' in transform_args
  # Credentials: from the secret, never in the spec.
  assert 'secretkey' not in json.dumps(json_format.MessageToDict(spec))
  kubernetes = json_format.MessageToDict(
      platform_spec.platforms['kubernetes'].deployment_spec)['executors']
  assert set(kubernetes) == set(containers)
  for name, executor in kubernetes.items():
    assert executor['secretAsEnv'] == [{
        'secretName': 'mlpipeline-minio-artifact',
        'keyToEnv': [
            {'secretKey': 'accesskey', 'envVar': 'AWS_ACCESS_KEY_ID'},
            {'secretKey': 'secretkey', 'envVar': 'AWS_SECRET_ACCESS_KEY'}]
    }], name
  assert spec.root.input_definitions.parameters[
      'data_root'].default_value.string_value == 's3://data/imdb'
  assert config.serving_dir == 's3://mlpipeline/imdb/serving/imdb_sentiment'


def test_beam_args_come_from_the_configuration(compiled):
  config, _, spec = compiled
  executors = json_format.MessageToDict(spec.deployment_spec)['executors']
  transform = executors['Transform_executor']['container']
  assert '--runner=FlinkRunner' in ' '.join(transform['args'])
  assert '--flink_master=f:8081' in ' '.join(transform['args'])
  assert '--runner=DirectRunner' not in ' '.join(transform['args'])


def _yaml_containers(path):
  with open(path) as f:
    spec = next(yaml.safe_load_all(f))
  return {name: e['container'] for name, e in
          spec['deploymentSpec']['executors'].items() if 'container' in e}


def test_every_configured_component_gets_its_limits(compiled):
  config, path, _ = compiled
  containers = _yaml_containers(path)
  limits = config.kubeflow.component_resources
  assert limits['ImdbExampleGen'] == (1, 4)
  for component, (cpu, gib) in limits.items():
    # ImdbExampleGen included: TFX's compiler drops its platform_config.
    resources = containers[f'{component}_executor']['resources']
    assert resources == {
        'cpuLimit': cpu, 'memoryLimit': pytest.approx(gib * 2**30 / 1e9),
        'resourceCpuLimit': f'{cpu:g}',
        'resourceMemoryLimit': f'{gib:g}Gi'}, component
  assert 'resources' not in containers['Pusher_executor']


def test_resources_of_an_unknown_component_are_refused():
  spec = {'root': {'dag': {'tasks': {}}}, 'deploymentSpec': {'executors': {}}}
  with pytest.raises(ValueError, match='ImdbExmpleGen'):
    runner.set_resources(spec, {'ImdbExmpleGen': (1, 4)})


def test_runtime_parameters_are_exposed_with_defaults(compiled):
  config, _, spec = compiled
  parameters = spec.root.input_definitions.parameters
  assert set(parameters) == {'data_root', 'train_args', 'eval_config'}
  assert parameters['data_root'].default_value.string_value == 'gs://bucket/data'
  train_args = json.loads(parameters['train_args'].default_value.string_value)
  assert train_args == {'splits': ['train']}
  # The EvalConfig the local pipeline uses, accuracy bounds included.
  eval_config = json_format.Parse(
      parameters['eval_config'].default_value.string_value, tfma.EvalConfig())
  assert eval_config == imdb_pipeline.make_eval_config(config)
  [accuracy] = [m for spec_ in eval_config.metrics_specs for m in spec_.metrics
                if m.class_name == 'BinaryAccuracy']
  threshold = accuracy.per_slice_thresholds[0].threshold
  assert threshold.value_threshold.lower_bound.value == config.evaluation.min_accuracy
  assert threshold.change_threshold.absolute.value == pytest.approx(
      -config.evaluation.max_accuracy_drop)
  assert spec.root.dag.tasks['Evaluator'].inputs.parameters[
      'eval_config'].component_input_parameter == 'eval_config'
  example_gen = spec.root.dag.tasks['ImdbExampleGen']
  assert example_gen.inputs.parameters[
      'input_base'].component_input_parameter == 'data_root'
  trainer = spec.root.dag.tasks['Trainer']
  assert trainer.inputs.parameters[
      'train_args'].component_input_parameter == 'train_args'


def test_paths_are_the_cluster_ones(compiled):
  config, _, spec = compiled
  assert spec.default_pipeline_root == config.pipeline_root
  schema_gen = json_format.MessageToDict(
      spec.root.dag.tasks['ImportSchemaGen'].inputs)
  assert schema_gen['parameters']['schema_file']['runtimeValue'][
      'constant'] == '/app/pipeline/schema/schema.pbtxt'


def test_module_wheels_are_packaged_under_the_pipeline_root(compiled):
  config, _, _ = compiled
  wheels = os.listdir(os.path.join(config.pipeline_root, '_wheels'))
  assert any(w.lower().startswith('tfx_user_code_trainer') for w in wheels)
  assert any(w.lower().startswith('tfx_user_code_transform') for w in wheels)


def test_compiling_without_data_is_a_clear_error(tmp_path, capsys):
  code = runner.main(['--output-dir', str(tmp_path), '--kubeflow-dry-run'])
  assert code == 2
  assert 'Kubeflow runs need --data' in capsys.readouterr().err


def test_local_locations_are_refused_without_a_dry_run(tmp_path, capsys,
                                                       monkeypatch):
  monkeypatch.setenv('KFP_PIPELINE_DIR', str(tmp_path / 'kfp'))
  monkeypatch.delenv('KFP_DRY_RUN', raising=False)
  code = runner.main(['--output-dir', str(tmp_path / 'out'),
                      '--data', str(tmp_path / 'aclImdb_v1.tar.gz'),
                      '--image', IMAGE])
  assert code == 2
  err = capsys.readouterr().err
  config = runner.cluster_config(['--output-dir', str(tmp_path / 'out')])
  for location, setting in (
      (config.pipeline_root, '--artifact-root'),
      (config.serving_dir, '--output-dir'),
      (str(tmp_path / 'aclImdb_v1.tar.gz'), '--data')):
    assert location in err and setting in err
  assert 'InferenceService storageUri' in err
  assert '--kubeflow-dry-run' in err
  # Refused before anything was written (no wheels, no spec).
  assert not (tmp_path / 'out').exists()
  assert not (tmp_path / 'kfp').exists()


def test_an_image_without_a_registry_is_warned_about(tmp_path, capsys,
                                                     monkeypatch):
  monkeypatch.setenv('KFP_PIPELINE_DIR', str(tmp_path / 'kfp'))
  assert runner.main(['--output-dir', str(tmp_path / 'root'), '--data', DATA,
                      '--image', 'imdb-sentiment-tfx:latest',
                      '--kubeflow-dry-run']) == 0
  assert "WARNING: the image 'imdb-sentiment-tfx:latest' names no " \
      'registry' in capsys.readouterr().err
  assert runner.names_a_registry(IMAGE)
  assert runner.names_a_registry('localhost/imdb:1')
  assert runner.names_a_registry('127.0.0.1:5000/imdb:1')
  assert not runner.names_a_registry('team/imdb:1')  # Docker Hub's


def test_unwritable_object_storage_is_a_clear_error(capsys, monkeypatch):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  def fail(config, output_dir):
    del output_dir
    # As tf.io.gfile fails on a bucket it cannot reach or write.
    raise tf.errors.PermissionDeniedError(
        None, None, 'Error executing an HTTP request: HTTP response code 403'
        '\n\twhen initiating an upload to ' + config.pipeline_root)
  monkeypatch.setattr(runner, 'compile_pipeline', fail)
  code = runner.main(['--output-dir', 'gs://no-such-bucket-x/imdb',
                      '--data', DATA, '--image', IMAGE])
  assert code == 2
  err = capsys.readouterr().err
  assert ('error: cannot write the module wheels under the pipeline root '
          'gs://no-such-bucket-x/imdb/pipeline_root/imdb-sentiment '
          '(PermissionDeniedError: Error executing an HTTP request: HTTP '
          'response code 403)') in err
  assert 'Traceback' not in err


# --- The client commands against a recording KFP API server.


def _last_json(stdout):
  """The command's result: the KFP SDK prints links to the UI before it."""
  return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture()
def package(tmp_path):
  path = tmp_path / 'pipeline.yaml'
  path.write_text(yaml.safe_dump({'pipelineInfo': {'name': 'imdb-sentiment'},
                                  'root': {}, 'schemaVersion': '2.1.0',
                                  'sdkVersion': 'tfx-1.16.0'}))
  return str(path)


def test_upload_posts_the_package(package, capsys):
  with fake_kfp.FakeKfp() as server:
    assert client.main(['upload', '--host', server.host,
                        '--package', package]) == 0
  [body] = server.posts('/apis/v2beta1/pipelines/upload')
  assert b'imdb-sentiment' in body and b'schemaVersion' in body
  assert _last_json(capsys.readouterr().out) == {'pipeline_id': 'pipe-1'}


def test_upload_of_an_existing_pipeline_adds_a_version(package, capsys):
  with fake_kfp.FakeKfp(existing_pipeline_id='pipe-0') as server:
    assert client.main(['upload', '--host', server.host, '--package', package,
                        '--version', 'v2']) == 0
  assert server.posts('/apis/v2beta1/pipelines/upload') == []
  [_] = server.posts('/apis/v2beta1/pipelines/upload_version')
  assert _last_json(capsys.readouterr().out) == {
      'pipeline_id': 'pipe-0', 'pipeline_version_id': 'ver-2'}


def test_run_creates_an_experiment_and_a_run_with_parameters(package,
                                                            monkeypatch):
  with fake_kfp.FakeKfp() as server:
    monkeypatch.setenv('KFP_HOST', server.host)
    assert client.main(['run', '--package', package,
                        '--param', 'data_root=gs://other/copy',
                        '--run-name', 'nightly']) == 0
  [experiment] = server.posts('/apis/v2beta1/experiments')
  assert json.loads(experiment)['display_name'] == 'imdb-sentiment'
  [run_body] = server.posts('/apis/v2beta1/runs')
  run = json.loads(run_body)
  assert run['display_name'] == 'nightly'
  assert run['experiment_id'] == 'exp-1'
  assert run['runtime_config']['parameters'] == {
      'data_root': 'gs://other/copy'}
  assert run['pipeline_spec']['pipelineInfo']['name'] == 'imdb-sentiment'


def test_schedule_creates_a_cron_recurring_run(package, capsys):
  with fake_kfp.FakeKfp() as server:
    assert client.main(['schedule', '--host', server.host, '--package',
                        package, '--cron', '0 0 3 * * *']) == 0
  [body] = server.posts('/apis/v2beta1/recurringruns')
  recurring = json.loads(body)
  assert recurring['trigger']['cron_schedule']['cron'] == '0 0 3 * * *'
  assert recurring['display_name'] == 'imdb-sentiment-retraining'
  assert recurring['experiment_id'] == 'exp-1'
  assert int(recurring['max_concurrency']) == 1
  assert recurring['pipeline_spec']['pipelineInfo']['name'] == 'imdb-sentiment'
  assert _last_json(capsys.readouterr().out)['recurring_run_id'] == 'rr-1'


def _recording_headers(server):
  """The fake server, also recording each request's headers."""
  seen = []
  # pylint: disable=protected-access
  handler = server._server.RequestHandlerClass

  class Recording(handler):

    def parse_request(self):
      parsed = super().parse_request()
      if parsed:
        # Header names are case-insensitive (the SDK sends `authorization`).
        seen.append((self.command, self.path,
                     {k.lower(): v for k, v in self.headers.items()}))
      return parsed

  server._server.RequestHandlerClass = Recording
  # pylint: enable=protected-access
  return seen


def test_namespace_and_credentials_reach_every_request(package, tmp_path,
                                                      monkeypatch):
  token_file = tmp_path / 'token'
  token_file.write_text('file-token\n')
  monkeypatch.setenv('KFP_TOKEN', 'env-token')  # the file wins
  monkeypatch.setenv('KFP_SESSION_COOKIE', 'dex-session')
  with fake_kfp.FakeKfp() as server:
    headers = _recording_headers(server)
    assert client.main(['schedule', '--host', server.host, '--package',
                        package, '--cron', '0 0 3 * * *',
                        '--namespace', 'team-a',
                        '--token-file', str(token_file)]) == 0
  [experiment] = server.posts('/apis/v2beta1/experiments')
  assert json.loads(experiment)['namespace'] == 'team-a'
  assert headers
  for method, path, sent in headers:
    assert sent.get('authorization') == 'Bearer file-token', (method, path)
    assert 'authservice_session=dex-session' in sent.get('cookie', ''), path


def test_run_in_a_namespace_with_a_token_from_the_environment(package,
                                                             monkeypatch):
  monkeypatch.setenv('KFP_TOKEN', 'env-token')
  monkeypatch.delenv('KFP_SESSION_COOKIE', raising=False)
  monkeypatch.setenv('KFP_NAMESPACE', 'team-b')
  with fake_kfp.FakeKfp() as server:
    headers = _recording_headers(server)
    assert client.main(['run', '--host', server.host,
                        '--package', package]) == 0
  [experiment] = server.posts('/apis/v2beta1/experiments')
  assert json.loads(experiment)['namespace'] == 'team-b'
  lookups = [path for method, path, _ in headers if method == 'GET'
             and path.startswith('/apis/v2beta1/experiments')]
  assert lookups and all('namespace=team-b' in p for p in lookups), lookups
  assert {sent.get('authorization') for _, _, sent in headers} == {
      'Bearer env-token'}
  assert all('cookie' not in sent for _, _, sent in headers)


def test_without_credentials_no_auth_header_is_sent(package, monkeypatch):
  for name in ('KFP_TOKEN', 'KFP_SESSION_COOKIE', 'KFP_NAMESPACE',
               'KFP_TOKEN_FILE'):
    monkeypatch.delenv(name, raising=False)
  with fake_kfp.FakeKfp() as server:
    headers = _recording_headers(server)
    assert client.main(['upload', '--host', server.host,
                        '--package', package]) == 0
  assert headers and all('authorization' not in sent
                         for _, _, sent in headers)


def test_unreachable_host_fails_at_once_and_clearly(package, capsys):
  with socket.socket() as s:  # a port nobody listens on
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  code = client.main(['run', '--host', f'http://127.0.0.1:{port}',
                      '--package', package])
  assert code == 2
  err = capsys.readouterr().err
  assert f'Cannot reach Kubeflow Pipelines at http://127.0.0.1:{port}' in err


def test_missing_host_or_package_is_a_clear_error(package, tmp_path, capsys,
                                                  monkeypatch):
  monkeypatch.delenv('KFP_HOST', raising=False)
  assert client.main(['upload', '--package', package]) == 2
  assert 'pass --host URL or set KFP_HOST' in capsys.readouterr().err
  assert client.main(['upload', '--host', 'http://x',
                      '--package', str(tmp_path / 'none.yaml')]) == 2
  assert 'run `make kubeflow` first' in capsys.readouterr().err


# --- Serving manifests and the image.


def test_serving_manifests_match_the_configuration():
  config = runner.cluster_config(['--output-dir', 's3://models/imdb',
                                  '--data', DATA])
  rendered = serving.render(config)
  isvc = yaml.safe_load(rendered['inference_service.yaml'])
  assert isvc['kind'] == 'InferenceService'
  assert isvc['spec']['predictor']['model']['modelFormat']['name'] == \
      'tensorflow'
  assert isvc['spec']['predictor']['model']['storageUri'] == (
      's3://models/imdb/serving/imdb_sentiment') == config.serving_dir
  config_map, deployment, service = yaml.safe_load_all(
      rendered['tf_serving.yaml'])
  models_config = config_map['data']['models.config']
  assert f'name: "{contract.MODEL_NAME}"' in models_config
  assert f'base_path: "{config.serving_dir}"' in models_config
  container = deployment['spec']['template']['spec']['containers'][0]
  assert '--model_config_file=/config/models.config' in container['args']
  assert '--rest_api_port=8501' in container['args']
  assert container['readinessProbe']['httpGet']['path'] == (
      '/v1/models/imdb_sentiment')
  assert {p['port'] for p in service['spec']['ports']} == {8500, 8501}
  assert service['spec']['selector'] == deployment['spec']['selector'][
      'matchLabels']


def test_main_writes_spec_and_manifests(tmp_path, monkeypatch, capsys):
  monkeypatch.setenv('KFP_PIPELINE_DIR', str(tmp_path / 'kfp'))
  assert runner.main(['--output-dir', str(tmp_path / 'root'),
                      '--data', DATA, '--image', IMAGE,
                      '--kubeflow-dry-run']) == 0
  out, err = capsys.readouterr()
  result = json.loads(out.strip().splitlines()[-1])
  # What the cluster runs otherwise than `make run`, and why.
  assert orchestrators.KUBEFLOW.notice() in err
  assert result['pipeline_spec'] == str(
      tmp_path / 'kfp' / 'imdb_sentiment_pipeline.yaml')
  assert sorted(os.listdir(tmp_path / 'kfp')) == [
      'imdb_sentiment_pipeline.yaml', 'inference_service.yaml',
      'tf_serving.yaml']
  assert result['image'] == IMAGE


def test_image_installs_the_lock_file_and_sets_legacy_keras():
  with open(os.path.join(KUBEFLOW_DIR, 'Dockerfile')) as f:
    dockerfile = f.read()
  assert 'COPY requirements.lock' in dockerfile
  assert 'uv pip sync --python /opt/venv/bin/python --require-hashes ' \
      'requirements.lock' in dockerfile
  assert 'TF_USE_LEGACY_KERAS=1' in dockerfile
  assert 'WORKDIR /app' in dockerfile
  assert config_lib.PipelineConfig().kubeflow.source_root_in_image == '/app'
  # The final stage starts from a clean base: uv stays in the build stage.
  final_stage = dockerfile.split('\nFROM ')[-1]
  assert 'uv' not in final_stage.replace('/opt/venv', '')
  entrypoint = ('tfx.orchestration.kubeflow.v2.container.'
                'kubeflow_v2_run_executor')
  assert ('ENTRYPOINT ["python", "-m", "kubeflow.container_entrypoint", '
          f'"{entrypoint}"]') in dockerfile
  # Both importable in the locked environment.
  importlib.import_module(entrypoint)
  importlib.import_module('kubeflow.container_entrypoint')
  with open(os.path.join(imdb_data.PROJECT_ROOT, 'requirements.lock')) as f:
    lock = f.read()
  assert 'kfp-pipeline-spec==' in lock and 'tfx==1.16.0' in lock
