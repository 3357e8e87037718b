"""One SDK worker of `make beam-cluster`'s pool: Beam's SDK boot, in Python.

The worker pool starts each worker as (see orchestration/beam/cluster.py)

    python -m orchestration.beam.worker --id=ID --provision_endpoint=E \\
        --artifact_endpoint=E --control_endpoint=E --logging_endpoint=E

the arguments Beam's SDK image gives its boot program. Like that program, it
fetches the job's provision info, installs the Python packages the job staged
(`--extra_package`: TFX ships each run's module files, e.g. Transform's
`preprocessing_fn`, as such a wheel) into a directory of its own, and runs the
SDK harness. Beam's bare process workers skip the packages, so tf.Transform
could not import the preprocessing module on them.
"""

import argparse
import atexit
import importlib.metadata
import os
import shutil
import signal
import subprocess
import sys
import tempfile

# pylint: disable=g-import-not-at-top,wrong-import-position
import grpc
from google.protobuf import json_format
from google.protobuf import text_format

from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_artifact_api_pb2
from apache_beam.portability.api import beam_artifact_api_pb2_grpc
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.portability.api import beam_provision_api_pb2_grpc
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.portability.api import endpoints_pb2
from apache_beam.runners.portability import stager
from apache_beam.runners.worker import sdk_worker_main
# pylint: enable=g-import-not-at-top,wrong-import-position

_EPHEMERAL = '_ephemeral'


def _staged_name(artifact) -> str:
  if artifact.role_urn != common_urns.artifact_roles.STAGING_TO.urn:
    return ''
  return beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(
      artifact.role_payload).staged_name


def _fetch_artifacts(endpoint: str, metadata, artifacts, staged_dir: str):
  """Writes each staged artifact to `staged_dir`; their names."""
  os.makedirs(staged_dir, exist_ok=True)
  stub = beam_artifact_api_pb2_grpc.ArtifactRetrievalServiceStub(
      grpc.insecure_channel(endpoint))
  names = []
  for artifact in artifacts:
    name = _staged_name(artifact)
    if not name:
      continue
    with open(os.path.join(staged_dir, name), 'wb') as f:
      for chunk in stub.GetArtifact(
          beam_artifact_api_pb2.GetArtifactRequest(artifact=artifact),
          metadata=metadata):
        f.write(chunk.data)
    names.append(name)
  return names


def _already_installed(package: str) -> bool:
  """Whether this environment has the staged `name-version...` package.

  TFX stages a copy of itself, `tfx_ephemeral-<version>.tar.gz`, for workers
  that may lack it; these have TFX from requirements.lock, and building that
  sdist on every worker of every job would only slow them down.
  """
  name, _, rest = os.path.basename(package).partition('-')
  version = rest.split('-')[0]
  for suffix in ('.tar.gz', '.zip'):
    version = version[:-len(suffix)] if version.endswith(suffix) else version
  name = name[:-len(_EPHEMERAL)] if name.endswith(_EPHEMERAL) else name
  try:
    return importlib.metadata.version(name) == version
  except importlib.metadata.PackageNotFoundError:
    return False


def _install_extra_packages(staged_dir: str, names, site_dir: str) -> None:
  """Installs what the job's `extra_packages.txt` lists, as Beam's boot does,
  but into `site_dir` (first on sys.path) rather than the shared venv."""
  if stager.EXTRA_PACKAGES_FILE not in names:
    return
  with open(os.path.join(staged_dir, stager.EXTRA_PACKAGES_FILE)) as f:
    packages = [os.path.join(staged_dir, line.strip()) for line in f
                if line.strip() and not _already_installed(line.strip())]
  if packages:
    # The dependencies are this environment's (requirements.lock); nothing
    # is downloaded.
    subprocess.check_call(
        [sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps',
         '--no-index', '--disable-pip-version-check', '--target', site_dir]
        + packages)
    sys.path.insert(0, site_dir)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  for name in ('id', 'provision_endpoint', 'artifact_endpoint',
               'control_endpoint', 'logging_endpoint'):
    parser.add_argument('--' + name, required=True)
  args, _ = parser.parse_known_args(argv)

  work_dir = tempfile.mkdtemp(prefix=f'beam-worker-{args.id}-')
  atexit.register(shutil.rmtree, work_dir, ignore_errors=True)
  # The pool stops a worker with SIGTERM: leave through atexit.
  signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
  metadata = [('worker_id', args.id)]
  info = beam_provision_api_pb2_grpc.ProvisionServiceStub(
      grpc.insecure_channel(args.provision_endpoint)).GetProvisionInfo(
          beam_provision_api_pb2.GetProvisionInfoRequest(),
          metadata=metadata).info
  # sdk_worker_main looks for the pickled main session in <dir>/staged.
  staged_dir = os.path.join(work_dir, 'staged')
  names = _fetch_artifacts(args.artifact_endpoint, metadata,
                           info.dependencies, staged_dir)
  _install_extra_packages(staged_dir, names, os.path.join(work_dir, 'site'))

  def descriptor(url: str) -> str:
    return text_format.MessageToString(
        endpoints_pb2.ApiServiceDescriptor(url=url))

  os.environ.update(
      WORKER_ID=args.id,
      CONTROL_API_SERVICE_DESCRIPTOR=descriptor(args.control_endpoint),
      LOGGING_API_SERVICE_DESCRIPTOR=descriptor(args.logging_endpoint),
      PIPELINE_OPTIONS=json_format.MessageToJson(info.pipeline_options),
      SEMI_PERSISTENT_DIRECTORY=work_dir,
      RUNNER_CAPABILITIES=' '.join(info.runner_capabilities))
  sdk_worker_main.main([])


if __name__ == '__main__':
  main(sys.argv[1:])
