"""Compiles the pipeline of `pipeline/pipeline.py` for Kubeflow Pipelines.

    python -m kubeflow.runner --output-dir gs://bucket/imdb \\
        --data gs://bucket/aclImdb_v1.tar.gz --image REGISTRY/imdb-sentiment-tfx:TAG

writes `outputs/kubeflow/imdb_sentiment_pipeline.yaml`: a KFP v2 PipelineSpec
(the form the KFP v2 SDK uploads), compiled by TFX's KubeflowV2DagRunner from
the `create_pipeline` the local runner uses, for Kubeflow: what differs on the
cluster (pipeline/orchestrators.py) is printed to stderr. Compiling packages the
module files into wheels under the pipeline root, so the pipeline root must be
writable from here (object storage credentials). Local locations (output
directory, artifact root, data) are refused, as no cluster could read them,
unless --kubeflow-dry-run asks for a spec to read only.
"""

import dataclasses
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

# First: it makes tf.keras Keras 2 before TFX loads (see orchestration/).
from orchestration import object_storage
from orchestration.beam import profiles as beam_profiles

# pylint: disable=g-import-not-at-top
import tensorflow as tf
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.orchestration.data_types import RuntimeParameter
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner
from tfx.proto import trainer_pb2
import yaml
from google.protobuf import json_format

import contract
import kubeflow
from kubeflow import serving
from orchestration import airflow_launcher
from pipeline import configs as config_lib
from pipeline import data
from pipeline import orchestrators
from pipeline import pipeline as imdb_pipeline
# pylint: enable=g-import-not-at-top

DATA_ROOT_PARAMETER = 'data_root'
TRAIN_ARGS_PARAMETER = 'train_args'
EVAL_CONFIG_PARAMETER = 'eval_config'

# TFX's KFP v2 executor entrypoint, which every component container runs;
# the compiled spec runs it through kubeflow/container_entrypoint.py.
TFX_ENTRYPOINT = 'tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor'
ENTRYPOINT_WRAPPER = 'kubeflow.container_entrypoint'
# The S3 credentials' keys in the Kubernetes secret (as in Kubeflow's own
# mlpipeline-minio-artifact secret) and the variables they become.
S3_SECRET_KEYS = {'accesskey': 'AWS_ACCESS_KEY_ID',
                  'secretkey': 'AWS_SECRET_ACCESS_KEY'}

# What names an image's registry: its first path part, if it is a host.
LOCAL_REGISTRY = 'localhost'

BYTES_PER_GIB = 2**30


class ClusterLocationError(ValueError):
  """The spec would name locations that only this machine has."""


def local_locations(config: config_lib.PipelineConfig) -> List[str]:
  """Each location the compiled spec would name that no cluster can read,
  with the setting that moves it."""
  found = []
  if not data.is_uri(config.pipeline_root):
    found.append(
        f'pipeline root and module wheels {config.pipeline_root}: pass '
        '--artifact-root or --output-dir gs://BUCKET/imdb (ARTIFACT_ROOT, '
        'OUTPUT_DIR)')
  if not data.is_uri(config.serving_dir):
    found.append(
        f'Pusher destination and InferenceService storageUri '
        f'{config.serving_dir}: pass --output-dir gs://BUCKET/imdb '
        '(OUTPUT_DIR)')
  if config.data.path and not data.is_uri(config.data.path):
    found.append(f'data {config.data.path}: pass --data '
                 'gs://BUCKET/aclImdb_v1.tar.gz (IMDB_DATA)')
  return found


def check_cluster_locations(config: config_lib.PipelineConfig) -> None:
  """Refuses a spec with local locations, unless it is a dry run."""
  found = local_locations(config)
  if found and not config.kubeflow.dry_run:
    raise ClusterLocationError(
        'a spec for Kubeflow cannot name local locations; the cluster would '
        'not find:\n  ' + '\n  '.join(found) + '\nFor a spec to read '
        'only, compile with --kubeflow-dry-run (KFP_DRY_RUN=1).')


def names_a_registry(image: str) -> bool:
  """Whether the image reference starts with a registry host (a name with
  a dot or a port, or localhost), as Docker and containerd read it."""
  first, slash, _ = image.partition('/')
  return bool(slash) and ('.' in first or ':' in first
                          or first == LOCAL_REGISTRY)


def storage_error_message(error: Exception,
                          config: config_lib.PipelineConfig) -> str:
  """A failed write under the pipeline root, without TensorFlow's
  traceback: where, and what to check."""
  detail = (getattr(error, 'message', None) or str(error)).strip()
  detail = detail.splitlines()[0] if detail else type(error).__name__
  return (f'cannot write the module wheels under the pipeline root '
          f'{config.pipeline_root} ({type(error).__name__}: {detail}). '
          'Check that the bucket exists and that this machine can write to '
          'it: Google Cloud credentials (gcloud auth application-default '
          'login) for gs://, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and '
          'S3_ENDPOINT for s3://.')


def default_train_args(num_steps: Optional[int] = None) -> str:
  """TrainArgs as the JSON a `train_args` runtime parameter carries."""
  train_args = trainer_pb2.TrainArgs(splits=[contract.TRAIN_SPLIT])
  if num_steps:
    train_args.num_steps = num_steps
  return json_format.MessageToJson(train_args, indent=None)


def build_pipeline(config: config_lib.PipelineConfig
                   ) -> Tuple[tfx_pipeline.Pipeline, List[RuntimeParameter]]:
  """The local pipeline, with runtime parameters and cluster resources."""
  if not config.data.path:
    raise data.DataSourceError(
        'Kubeflow runs need --data (or IMDB_DATA): the dataset archive or '
        'aclImdb directory on storage the cluster reads, e.g. '
        'gs://bucket/aclImdb_v1.tar.gz')
  location = data.locate(config.data.path)
  # The data root is a runtime parameter: each run (or recurring run) can
  # point at another copy or snapshot with the same layout.
  location = data.DataLocation(
      input_base=RuntimeParameter(name=DATA_ROOT_PARAMETER, ptype=str,
                                  default=location.input_base),
      train_pattern=location.train_pattern,
      test_pattern=location.test_pattern)
  # TFX accepts a RuntimeParameter for the whole TrainArgs (not inside it):
  # e.g. {"splits": ["train"], "numSteps": 2000} caps training at 2000 steps.
  train_args = RuntimeParameter(name=TRAIN_ARGS_PARAMETER, ptype=str,
                                default=default_train_args())
  # The same route for the Evaluator's EvalConfig (thresholds, slices): the
  # JSON of the whole proto, e.g. another accuracy bound for one run.
  eval_config = RuntimeParameter(
      name=EVAL_CONFIG_PARAMETER, ptype=str,
      default=json_format.MessageToJson(
          imdb_pipeline.make_eval_config(config), indent=None))
  # KFP v2 compiles only TFX's stock resolver strategies: what that changes
  # is in pipeline/orchestrators.py, and `main` prints it.
  pipeline = imdb_pipeline.create_pipeline(config, location,
                                           beam_profiles.pipeline_args(config),
                                           orchestrators.KUBEFLOW,
                                           train_args=train_args,
                                           eval_config=eval_config)
  # DistributionValidator's custom validations: the proto, which the
  # compiler writes as JSON, not TFX's make_proto placeholder, which it
  # refuses.
  airflow_launcher.resolve_proto_placeholders(pipeline)
  # The CPU and memory limits are written into the compiled spec
  # (set_resources): TFX's compiler drops a FileBasedExampleGen's
  # platform_config (ImdbExampleGen's), and writes only the deprecated fields.
  return pipeline, [location.input_base, train_args, eval_config]


def compile_pipeline(config: config_lib.PipelineConfig,
                     output_dir: str) -> str:
  """Writes the PipelineSpec YAML; returns its path. Raises
  ClusterLocationError for local locations (unless a dry run)."""
  check_cluster_locations(config)
  runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
      config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
          default_image=config.kubeflow.image,
          # 2.1: the bare PipelineSpec schema the KFP v2 SDK uploads (TFX's
          # .json output is a Vertex PipelineJob wrapper, which KFP refuses).
          use_pipeline_spec_2_1=True))
  pipeline, parameters = build_pipeline(config)
  spec = runner.run(pipeline, write_out=False)['pipelineSpec']
  # TFX's compiler declares the runtime parameters without their defaults and
  # keeps the pipeline root in the Vertex job wrapper only; a bare
  # PipelineSpec carries both itself.
  root_parameters = spec['root']['inputDefinitions']['parameters']
  for parameter in parameters:
    root_parameters[parameter.name]['defaultValue'] = parameter.default
  spec['defaultPipelineRoot'] = config.pipeline_root
  mark_optional_inputs(spec, pipeline)
  set_resources(spec, config.kubeflow.component_resources)
  executors = spec['deploymentSpec']['executors']
  for executor in executors.values():
    if 'container' in executor:
      _configure_container(executor['container'], config)
  documents = [spec]
  if config.kubeflow.s3_credentials_secret:
    documents.append(s3_credentials_platform_spec(
        config.kubeflow.s3_credentials_secret,
        [name for name, e in executors.items() if 'container' in e]))
  os.makedirs(output_dir, exist_ok=True)
  path = os.path.join(output_dir, kubeflow.PIPELINE_FILE)
  with open(path, 'w') as f:
    f.write(f'# KFP v2 PipelineSpec of {spec["pipelineInfo"]["name"]}, '
            'compiled by kubeflow/runner.py; do not edit.\n')
    yaml.safe_dump_all(documents, f, sort_keys=False)
  return path


def mark_optional_inputs(spec: Dict[str, Any],
                         pipeline: tfx_pipeline.Pipeline) -> None:
  """Declares the components' optional inputs optional in the spec.

  TFX's compiler drops the optionality, but a resolver may resolve nothing:
  no statistics before the first run for DistributionValidator's baseline,
  no blessed model for the Trainer's warm start and the Evaluator's
  baseline. KFP then leaves out an input declared optional and fails the
  task on one that is not.
  """
  for component in pipeline.components:
    definitions = spec['components'].get(component.id, {}).get(
        'inputDefinitions', {}).get('artifacts', {})
    # Resolvers have no spec: their inputs are queries, not task inputs.
    parameters = getattr(getattr(component, 'spec', None), 'INPUTS', {})
    for key, channel in component.inputs.items():
      parameter = parameters.get(key)
      if key in definitions and (channel.is_optional
                                 or (parameter and parameter.optional)):
        definitions[key]['isOptional'] = True


def set_resources(spec: Dict[str, Any],
                  limits: Dict[str, Tuple[float, float]]) -> None:
  """Sets each listed component's CPU and memory limits (vCPUs, GiB) on its
  container: KFP's current string fields, which the KFP backend reads first
  (`resourceCpuLimit`, `resourceMemoryLimit`, as Kubernetes quantities), and
  the deprecated numbers for older backends (`memoryLimit` is in GB)."""
  tasks = spec['root']['dag']['tasks']
  executors = spec['deploymentSpec']['executors']
  for component_id, (cpu, memory_gib) in sorted(limits.items()):
    if component_id not in tasks:
      raise ValueError(f'--resources {component_id}=...: no such component '
                       f'(components: {", ".join(sorted(tasks))})')
    reference = tasks[component_id]['componentRef']['name']
    label = spec['components'][reference]['executorLabel']
    container = executors[label].get('container')
    if container is None:
      continue
    container['resources'] = {
        'cpuLimit': cpu,
        'memoryLimit': round(memory_gib * BYTES_PER_GIB / 1e9, 6),
        'resourceCpuLimit': f'{cpu:g}',
        'resourceMemoryLimit': f'{memory_gib:g}Gi',
    }


def _configure_container(container: Dict[str, Any],
                         config: config_lib.PipelineConfig) -> None:
  """Runs TFX's entrypoint through ours, with the object-storage settings
  in the environment (the credentials come from the secret, if any)."""
  command = container.get('command', [])
  if command[-2:] == ['-m', TFX_ENTRYPOINT]:
    container['command'] = command[:-1] + [ENTRYPOINT_WRAPPER, TFX_ENTRYPOINT]
  env = object_storage.environment(config)
  if env:
    container['env'] = [{'name': name, 'value': value}
                        for name, value in sorted(env.items())]


def s3_credentials_platform_spec(secret: str,
                                 executor_names: Sequence[str]
                                 ) -> Dict[str, Any]:
  """KFP's Kubernetes platform spec (the second YAML document, as
  kfp-kubernetes writes it): every executor gets the secret's S3
  credentials as environment variables."""
  secret_as_env = [{'secretName': secret, 'keyToEnv': [
      {'secretKey': key, 'envVar': var} for key, var in S3_SECRET_KEYS.items()]}]
  return {'platforms': {'kubernetes': {'deploymentSpec': {'executors': {
      name: {'secretAsEnv': secret_as_env} for name in sorted(executor_names)
  }}}}}


def cluster_config(argv: Optional[Sequence[str]] = None
                   ) -> config_lib.PipelineConfig:
  """The run configuration, with paths as the containers will see them."""
  config = config_lib.from_args(argv)
  return dataclasses.replace(
      config, pipeline_name=kubeflow.kubernetes_name(config.pipeline_name),
      schema_path=os.path.join(
          config.kubeflow.source_root_in_image,
          os.path.relpath(config_lib.SCHEMA_PATH, config_lib.PROJECT_ROOT)))


def main(argv=None) -> int:
  config = cluster_config(argv)
  output_dir = os.environ.get('KFP_PIPELINE_DIR',
                              kubeflow.DEFAULT_PIPELINE_DIR)
  # Compiling writes the module wheels under the pipeline root: through the
  # S3 endpoint in this environment if one is set (e.g. a port-forward), else
  # through the components' own.
  object_storage.apply_environment(config, keep_existing=True)
  orchestrators.print_notice(orchestrators.KUBEFLOW)
  if not names_a_registry(config.kubeflow.image):
    print(f'WARNING: the image {config.kubeflow.image!r} names no registry: '
          'a cluster pulls it from Docker Hub, where it is not. Push it and '
          'pass --image REGISTRY/imdb-sentiment-tfx:TAG (KFP_IMAGE).',
          file=sys.stderr)
  try:
    path = compile_pipeline(config, output_dir)
  except (data.DataSourceError, ClusterLocationError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  except (tf.errors.OpError, OSError) as e:
    print(f'error: {storage_error_message(e, config)}', file=sys.stderr)
    return 2
  manifests = []
  for name, text in serving.render(config).items():
    manifests.append(os.path.join(output_dir, name))
    with open(manifests[-1], 'w') as f:
      f.write(text)
  print(json.dumps({'pipeline_spec': path, 'serving_manifests': manifests,
                    'image': config.kubeflow.image,
                    'pipeline_root': config.pipeline_root}))
  return 0


if __name__ == '__main__':
  object_storage.exit_with(main(sys.argv[1:]), cluster_config(sys.argv[1:]))
