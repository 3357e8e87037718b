"""Kubernetes manifests that serve the pushed model from the serving directory.

Rendered from the same PipelineConfig as the pipeline (`make kubeflow` writes
them beside the pipeline spec), so model name, port and storage path always
match what the Pusher writes:

- `inference_service.yaml`: a KServe InferenceService with the TensorFlow
  runtime (TF Serving underneath), reading `<output_dir>/serving/imdb_sentiment`.
- `tf_serving.yaml`: the same without KServe: a ConfigMap holding TF Serving's
  `models.config`, a Deployment running tensorflow/serving with
  `--model_config_file` (polled, so a changed version policy, e.g. a rollback
  to a `specific` version, takes effect without a restart) and a Service.
"""

from typing import Dict

import yaml

import contract
from kubeflow import kubernetes_name
from pipeline.configs import PipelineConfig

TF_SERVING_IMAGE = 'tensorflow/serving:2.16.1'  # the TensorFlow the model uses
REST_PORT = 8501  # TF Serving's REST API
GRPC_PORT = 8500
APP_NAME = kubernetes_name(contract.MODEL_NAME)


def models_config(config: PipelineConfig) -> str:
  """TF Serving's model config: the newest version under the serving dir."""
  return (
      'model_config_list {\n'
      '  config {\n'
      f'    name: "{contract.MODEL_NAME}"\n'
      f'    base_path: "{config.serving_dir}"\n'
      '    model_platform: "tensorflow"\n'
      '    model_version_policy { latest { num_versions: 1 } }\n'
      '  }\n'
      '}\n')


def inference_service(config: PipelineConfig) -> Dict:
  return {
      'apiVersion': 'serving.kserve.io/v1beta1',
      'kind': 'InferenceService',
      'metadata': {'name': APP_NAME},
      'spec': {'predictor': {'model': {
          'modelFormat': {'name': 'tensorflow'},
          'runtimeVersion': TF_SERVING_IMAGE.split(':')[1],
          'storageUri': config.serving_dir,
      }}},
  }


def tf_serving(config: PipelineConfig) -> list:
  labels = {'app': APP_NAME}
  return [
      {
          'apiVersion': 'v1',
          'kind': 'ConfigMap',
          'metadata': {'name': f'{APP_NAME}-models-config'},
          'data': {'models.config': models_config(config)},
      },
      {
          'apiVersion': 'apps/v1',
          'kind': 'Deployment',
          'metadata': {'name': APP_NAME, 'labels': labels},
          'spec': {
              'replicas': 1,
              'selector': {'matchLabels': labels},
              'template': {
                  'metadata': {'labels': labels},
                  'spec': {
                      'containers': [{
                          'name': 'tf-serving',
                          'image': TF_SERVING_IMAGE,
                          'args': [
                              f'--port={GRPC_PORT}',
                              f'--rest_api_port={REST_PORT}',
                              '--model_config_file=/config/models.config',
                              '--model_config_file_poll_wait_seconds=60',
                          ],
                          'ports': [
                              {'name': 'grpc', 'containerPort': GRPC_PORT},
                              {'name': 'http', 'containerPort': REST_PORT},
                          ],
                          'readinessProbe': {'httpGet': {
                              'path': f'/v1/models/{contract.MODEL_NAME}',
                              'port': REST_PORT}},
                          'volumeMounts': [{'name': 'models-config',
                                            'mountPath': '/config'}],
                      }],
                      'volumes': [{
                          'name': 'models-config',
                          'configMap': {'name': f'{APP_NAME}-models-config'},
                      }],
                  },
              },
          },
      },
      {
          'apiVersion': 'v1',
          'kind': 'Service',
          'metadata': {'name': APP_NAME, 'labels': labels},
          'spec': {
              'selector': labels,
              'ports': [
                  {'name': 'grpc', 'port': GRPC_PORT, 'targetPort': GRPC_PORT},
                  {'name': 'http', 'port': REST_PORT, 'targetPort': REST_PORT},
              ],
          },
      },
  ]


def render(config: PipelineConfig) -> Dict[str, str]:
  """File name -> YAML text."""
  return {
      'inference_service.yaml': yaml.safe_dump(inference_service(config),
                                               sort_keys=False),
      'tf_serving.yaml': yaml.safe_dump_all(tf_serving(config),
                                            sort_keys=False),
  }
