"""Uploads, runs and schedules the compiled pipeline on Kubeflow Pipelines.

    python -m kubeflow.client upload   [--host URL] [--package FILE]
    python -m kubeflow.client run      [--host URL] [--param data_root=gs://...]
    python -m kubeflow.client schedule [--host URL] --cron "0 0 3 * * *"

The host comes from --host or KFP_HOST (the KFP API endpoint, e.g.
http://localhost:8080 after `kubectl port-forward svc/ml-pipeline-ui 8080:80`
in the kubeflow namespace). The package is the YAML `make kubeflow` writes.

On a multi-user Kubeflow, --namespace (KFP_NAMESPACE) is the profile's
namespace that owns the experiment, its runs and recurring runs, and the
API wants credentials: a bearer token from KFP_TOKEN or the file
--token-file (KFP_TOKEN_FILE, e.g. a service account token), sent as
`Authorization: Bearer`, and/or the Dex login's session cookie from
KFP_SESSION_COOKIE (its value, sent as `authservice_session`). Secrets come
from the environment or a file only, never a flag that `ps` shows.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Dict, List, Optional, Sequence

import contract
from kubeflow import DEFAULT_PIPELINE_DIR
from kubeflow import PIPELINE_FILE
from kubeflow import kubernetes_name

DEFAULT_PACKAGE = os.path.join(DEFAULT_PIPELINE_DIR, PIPELINE_FILE)
PIPELINE_DISPLAY_NAME = kubernetes_name(contract.MODEL_NAME)
DEFAULT_EXPERIMENT = PIPELINE_DISPLAY_NAME
# Kubeflow's auth service (oauth2-proxy / Dex login) session cookie.
SESSION_COOKIE = 'authservice_session'


class Auth:
  """Credentials for the KFP API: a bearer token and/or a session cookie."""

  def __init__(self, token: Optional[str] = None,
               session: Optional[str] = None):
    self.token = token or None
    self.session = session or None

  @property
  def cookies(self) -> Optional[str]:
    return f'{SESSION_COOKIE}={self.session}' if self.session else None

  def headers(self) -> Dict[str, str]:
    headers = {}
    if self.token:
      headers['Authorization'] = f'Bearer {self.token}'
    if self.cookies:
      headers['Cookie'] = self.cookies
    return headers


def auth_from(environ, token_file: Optional[str]) -> Auth:
  """The credentials from KFP_TOKEN (or `token_file`) and
  KFP_SESSION_COOKIE."""
  token = environ.get('KFP_TOKEN')
  if token_file:
    with open(token_file) as f:
      token = f.read().strip()
  return Auth(token=token, session=environ.get('KFP_SESSION_COOKIE'))


class KfpUnreachableError(RuntimeError):
  """The Kubeflow Pipelines API did not answer."""


def check_reachable(host: str, auth: Optional[Auth] = None,
                    timeout_s: float = 10.0) -> None:
  """Fails fast and clearly: the KFP SDK itself retries for half a minute."""
  url = f'{host.rstrip("/")}/apis/v2beta1/healthz'
  request = urllib.request.Request(url, headers=(auth or Auth()).headers())
  try:
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
      response.read()
  except urllib.error.HTTPError:
    return  # it answered; auth or routing problems are the SDK's to report
  except (urllib.error.URLError, OSError) as e:
    reason = getattr(e, 'reason', e)
    raise KfpUnreachableError(
        f'Cannot reach Kubeflow Pipelines at {host} ({reason}). Check --host '
        'or KFP_HOST, e.g. after `kubectl port-forward -n kubeflow '
        'svc/ml-pipeline-ui 8080:80` use http://localhost:8080') from e


def parse_params(pairs: Sequence[str]) -> Dict[str, str]:
  params = {}
  for pair in pairs:
    name, sep, value = pair.partition('=')
    if not sep or not name:
      raise ValueError(f'--param {pair!r}: expected NAME=VALUE')
    params[name] = value
  return params


def _client(host: str, auth: Optional[Auth], namespace: Optional[str]):
  import kfp  # pylint: disable=g-import-not-at-top
  auth = auth or Auth()
  check_reachable(host, auth)
  options = {'namespace': namespace} if namespace else {}
  return kfp.Client(host=host, existing_token=auth.token,
                    cookies=auth.cookies, **options)


def upload(host: str, package: str, version: Optional[str],
           auth: Optional[Auth] = None,
           namespace: Optional[str] = None) -> Dict[str, str]:
  client = _client(host, auth, namespace)
  pipeline_id = client.get_pipeline_id(PIPELINE_DISPLAY_NAME)
  if pipeline_id is None:
    # Without a namespace, a shared pipeline (visible to every profile).
    pipeline = client.upload_pipeline(
        package, pipeline_name=PIPELINE_DISPLAY_NAME, namespace=namespace,
        description='IMDB sentiment: raw reviews to a served model (TFX).')
    return {'pipeline_id': pipeline.pipeline_id}
  pipeline_version = client.upload_pipeline_version(
      package, pipeline_version_name=version or os.path.basename(package),
      pipeline_id=pipeline_id)
  return {'pipeline_id': pipeline_id,
          'pipeline_version_id': pipeline_version.pipeline_version_id}


def run(host: str, package: str, params: Dict[str, str], experiment: str,
        run_name: Optional[str], auth: Optional[Auth] = None,
        namespace: Optional[str] = None) -> Dict[str, str]:
  client = _client(host, auth, namespace)
  result = client.create_run_from_pipeline_package(
      package, arguments=params, run_name=run_name,
      experiment_name=experiment, namespace=namespace, enable_caching=True)
  return {'run_id': result.run_id}


def schedule(host: str, package: str, params: Dict[str, str], experiment: str,
             cron: str, job_name: str, max_concurrency: int,
             auth: Optional[Auth] = None,
             namespace: Optional[str] = None) -> Dict[str, str]:
  """A recurring run: scheduled retraining with a KFP cron expression
  (six fields, seconds first: '0 0 3 * * *' is every day at 03:00). It
  belongs to the experiment's namespace."""
  client = _client(host, auth, namespace)
  experiment_id = client.create_experiment(
      name=experiment, namespace=namespace).experiment_id
  recurring = client.create_recurring_run(
      experiment_id=experiment_id, job_name=job_name, cron_expression=cron,
      max_concurrency=max_concurrency, pipeline_package_path=package,
      params=params, enable_caching=True)
  return {'recurring_run_id': recurring.recurring_run_id,
          'experiment_id': experiment_id}


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  common = argparse.ArgumentParser(add_help=False)
  common.add_argument('--host', default=os.environ.get('KFP_HOST'),
                      help='KFP API endpoint (env KFP_HOST)')
  common.add_argument('--package', default=DEFAULT_PACKAGE,
                      help='compiled pipeline YAML (make kubeflow)')
  common.add_argument('--namespace', default=os.environ.get('KFP_NAMESPACE'),
                      help="multi-user Kubeflow: the profile's namespace "
                      '(env KFP_NAMESPACE)')
  common.add_argument('--token-file',
                      default=os.environ.get('KFP_TOKEN_FILE'),
                      help='a file holding the bearer token (env '
                      'KFP_TOKEN_FILE; else the token in KFP_TOKEN)')
  parameters = argparse.ArgumentParser(add_help=False)
  parameters.add_argument(
      '--param', action='append', default=[],
      help='runtime parameter NAME=VALUE (data_root, train_args), repeatable')
  parameters.add_argument('--experiment', default=DEFAULT_EXPERIMENT)
  commands = parser.add_subparsers(dest='command', required=True)
  up = commands.add_parser('upload', parents=[common],
                           help='upload the pipeline (or a new version)')
  up.add_argument('--version', help='version name (default: file name)')
  one = commands.add_parser('run', parents=[common, parameters],
                            help='create one run')
  one.add_argument('--run-name')
  rec = commands.add_parser('schedule', parents=[common, parameters],
                            help='create a recurring run')
  rec.add_argument('--cron', required=True,
                   help="cron expression, seconds first: '0 0 3 * * *'")
  rec.add_argument('--job-name', default=f'{PIPELINE_DISPLAY_NAME}-retraining')
  rec.add_argument('--max-concurrency', type=int, default=1)
  return parser


def main(argv: Optional[List[str]] = None) -> int:
  args = _parser().parse_args(argv)
  if not args.host:
    print('error: no Kubeflow Pipelines host: pass --host URL or set KFP_HOST',
          file=sys.stderr)
    return 2
  if not os.path.exists(args.package):
    print(f'error: {args.package}: no compiled pipeline; run `make kubeflow` '
          'first', file=sys.stderr)
    return 2
  try:
    auth = auth_from(os.environ, args.token_file)
  except OSError as e:
    print(f'error: --token-file: {e}', file=sys.stderr)
    return 2
  where = {'auth': auth, 'namespace': args.namespace}
  try:
    if args.command == 'upload':
      result = upload(args.host, args.package, args.version, **where)
    else:
      params = parse_params(args.param)
      if args.command == 'run':
        result = run(args.host, args.package, params, args.experiment,
                     args.run_name, **where)
      else:
        result = schedule(args.host, args.package, params, args.experiment,
                          args.cron, args.job_name, args.max_concurrency,
                          **where)
  except (KfpUnreachableError, ValueError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  print(json.dumps(result))
  return 0


if __name__ == '__main__':
  sys.exit(main())
