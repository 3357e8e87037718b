"""S3-compatible object storage (AWS S3, MinIO): what every process that
reads or writes `s3://` needs, derived from the one configuration.

Two libraries do the pipeline's I/O and each has its own S3 client:
TensorFlow (`tf.io.gfile`, through tensorflow-io's filesystem: ExampleGen's
archive reader, schema and model files, the Pusher) and Beam (its `s3://`
filesystem, through boto3: the examples, statistics and Transform's
analysis). The endpoint and region reach both: tensorflow-io reads
`S3_ENDPOINT` and `AWS_REGION` from the environment, boto3
`AWS_ENDPOINT_URL_S3` and `AWS_REGION`, Beam its `--s3_*` pipeline flags.
Credentials are never part of the configuration: both read
`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` from the environment (on
Kubeflow, from a Kubernetes secret; see kubeflow/runner.py). Pure: imports
neither library.
"""

import atexit
import logging
import os
import sys
from typing import Dict, List

from pipeline.configs import PipelineConfig

S3_SCHEME = 's3://'


def uses_s3(settings: PipelineConfig) -> bool:
  """Whether a run reads or writes S3 (or names an S3 endpoint)."""
  locations = (settings.output_dir, settings.pipeline_root,
               settings.data.path or '')
  return bool(settings.storage.s3_endpoint) or any(
      location.startswith(S3_SCHEME) for location in locations)


def environment(settings: PipelineConfig) -> Dict[str, str]:
  """Environment variables for TensorFlow's and boto3's S3 clients."""
  env = {}
  if settings.storage.s3_endpoint:
    # tensorflow-io takes the scheme from the URL (http:// for a plain
    # MinIO), boto3 too.
    env['S3_ENDPOINT'] = settings.storage.s3_endpoint
    env['AWS_ENDPOINT_URL_S3'] = settings.storage.s3_endpoint
  if settings.storage.s3_region:
    env['AWS_REGION'] = settings.storage.s3_region
  return env


def beam_args(settings: PipelineConfig) -> List[str]:
  """Beam's flags for its S3 filesystem (it does not read the variables
  above on every runner: the flags travel with the job to its workers)."""
  args = []
  if settings.storage.s3_endpoint:
    args.append(f'--s3_endpoint_url={settings.storage.s3_endpoint}')
  if settings.storage.s3_region:
    args.append(f'--s3_region_name={settings.storage.s3_region}')
  return args


def apply_environment(settings: PipelineConfig,
                      keep_existing: bool = False) -> None:
  """Sets `environment(settings)` in this process, before any S3 client is
  made (tensorflow-io reads it when it makes its first). `keep_existing`
  leaves variables already set alone: the Kubeflow compiler may reach the
  cluster's endpoint another way (a port-forward) than its components do."""
  for name, value in environment(settings).items():
    if not (keep_existing and os.environ.get(name)):
      os.environ[name] = value


def exit_with(status: int, settings: PipelineConfig) -> None:
  """Ends a runner's process with `status`: through `exit_now` when the run
  touched S3, as `sys.exit` otherwise."""
  if uses_s3(settings):
    exit_now(status)
  sys.exit(status)


def exit_now(code: int) -> None:
  """Exits with `code` after Python's own clean-up, skipping C++ static
  destructors.

  tensorflow-io 0.37.1 (the last built for TensorFlow 2.16) aborts at exit
  once its S3 client was used: "pure virtual method called", exit status
  134, after all the work is done (tensorflow/io#2039; fixed after its last
  TF 2.16 release). A scheduler would see every run fail. The atexit
  handlers (Beam's, logging's) still run; then the process ends before the
  static destructors do.
  """
  atexit._run_exitfuncs()  # pylint: disable=protected-access
  logging.shutdown()
  for stream in (sys.stdout, sys.stderr):
    try:
      stream.flush()
    except (OSError, ValueError):
      pass
  os._exit(code)  # pylint: disable=protected-access
