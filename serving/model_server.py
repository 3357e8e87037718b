"""Local model server: the serving directory over TF Serving's REST API.

    make serve                      # 127.0.0.1:8501, SERVE_PORT to change
    .venv-serving/bin/python -m serving.model_server [--output-dir DIR |
        --serving-dir DIR] [--port N] [--model-config FILE]

KServe's Python model server runs one model, `imdb_sentiment`, and answers
TF Serving's REST API under /v1 (serving/api.py): model status, metadata and
predict, by default version, `/versions/<N>` or `/labels/<label>`. Every
`--poll-seconds` it re-scans the serving directory and the model config file
(`<serving_dir>/../models.config` unless `--model-config` says otherwise) and
loads or unloads versions as TF Serving would (serving/version_manager.py):
new pushes are picked up, a `specific` version policy pins the served version
(rollback), and a version that does not load leaves the served one serving.
For development and tests; production runs TF Serving on the same directory
(kubeflow/serving.py).

It runs in its own venv (.venv-serving, scripts/ensure_serving_venv.sh):
KServe does not install beside TFX.
"""

import argparse
import json
import logging
import os
import sys

import contract
from contract import serving_directory
from serving import model_choice
from serving import model_config
from serving import version_manager

logger = logging.getLogger('serving.model_server')


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      description='Serve the pushed model versions over TF Serving\'s REST '
      'API (status, metadata, predict).')
  model_choice.add_output_dir_argument(parser)
  parser.add_argument('--serving-dir',
                      help='The Pusher\'s serving directory: <version>/ '
                      'subdirectories holding SavedModels (default: '
                      '<output-dir>/serving/imdb_sentiment).')
  parser.add_argument('--model-config', default=None,
                      help='TF Serving model config file whose version policy '
                      'picks the served versions and whose version_labels '
                      'name them (default: <serving-dir>/../models.config, '
                      'if it exists).')
  parser.add_argument('--model-name', default=contract.MODEL_NAME)
  parser.add_argument('--host', default='127.0.0.1',
                      help='Address to bind (default loopback only).')
  parser.add_argument('--port', type=int, default=8501)
  parser.add_argument('--poll-seconds', type=float, default=2.0,
                      help='How often the serving directory and the model '
                      'config file are re-read.')
  parser.add_argument('--retry-seconds', type=float,
                      default=version_manager.DEFAULT_RETRY_SECONDS,
                      help='How soon a version that failed to load is tried '
                      'again if its files have not changed (a change is '
                      'tried at the next poll).')
  return parser


def build_model_class():
  """The KServe model class; KServe is imported only here (see serve)."""
  import kserve  # pylint: disable=g-import-not-at-top
  from kserve import errors  # pylint: disable=g-import-not-at-top

  class VersionedModel(kserve.Model):
    """The model in KServe's registry, for KServe's health and readiness
    endpoints; TF Serving's API under /v1 is answered by serving/api.py."""

    def __init__(self, manager: version_manager.VersionManager):
      super().__init__(manager.name)
      self.manager = manager
      self.ready = manager.ready

    def predict(self, payload, headers=None):
      # Only KServe's own protocol (V2) reaches here.
      raise errors.InvalidInput(
          'this server speaks TF Serving\'s REST API: POST '
          f'/v1/models/{self.name}:predict')

  return VersionedModel


def _add_tf_serving_routes(app, manager) -> None:
  """TF Serving's /v1 API, ahead of KServe's own /v1 routes (the first
  matching route answers), so every /v1 request gets TF Serving's answer."""
  # pylint: disable=g-import-not-at-top
  import fastapi
  from starlette.concurrency import run_in_threadpool
  from serving import api
  # pylint: enable=g-import-not-at-top

  async def tf_serving_api(request: fastapi.Request):
    body = await request.body()
    # In a worker thread: a prediction must not stall the event loop, and
    # concurrent requests run side by side.
    status, payload = await run_in_threadpool(
        api.handle, manager, request.method, request.scope['path'], body)
    # TF Serving writes NaN and Infinity as such (json.dumps does too).
    return fastapi.Response(
        json.dumps(payload, ensure_ascii=False, separators=(',', ':')),
        status_code=status, media_type='application/json')

  # Other methods too: TF Serving calls them malformed requests (400).
  app.add_api_route('/v1/{path:path}', tf_serving_api,
                    methods=['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
                    include_in_schema=False)


def serve(args: argparse.Namespace) -> None:
  # pylint: disable=g-import-not-at-top
  # kserve.model_server parses sys.argv when imported: hide ours from it.
  argv, sys.argv = sys.argv, sys.argv[:1]
  try:
    from kserve import logging as kserve_logging
    from kserve import model_server as kserve_server
    from kserve.model_repository import ModelRepository
    from kserve.protocol.model_repository_extension import ModelRepositoryExtension
    from kserve.protocol.dataplane import DataPlane
    from kserve.protocol.rest.server import RESTServer
  finally:
    sys.argv = argv
  # pylint: enable=g-import-not-at-top
  kserve_logging.configure_logging()
  # Two latency lines per request would drown the version changes.
  logging.getLogger('kserve.trace').setLevel(logging.WARNING)
  logging.getLogger('serving').setLevel(logging.INFO)
  logging.getLogger('serving').addHandler(logging.StreamHandler())
  # Once, by that handler: the root logger gets one of its own later on.
  logging.getLogger('serving').propagate = False

  model_config_path = (args.model_config or
                       serving_directory.default_model_config_path(
                           args.serving_dir))
  if args.model_config and not os.path.exists(args.model_config):
    sys.exit(f'error: {args.model_config}: model config file not found')
  # A broken config file fails at start; later it only logs (see refresh).
  try:
    model_config.read(model_config_path, args.model_name)
  except model_config.ModelConfigError as e:
    sys.exit(f'error: {e}')
  manager = version_manager.VersionManager(
      args.model_name, args.serving_dir, model_config_path,
      retry_seconds=args.retry_seconds)
  manager.refresh()
  model = build_model_class()(manager)
  if not manager.ready:
    logger.warning('No version to serve in %s yet; waiting for one.',
                   args.serving_dir)

  def after_refresh():
    model.ready = manager.ready

  stop = manager.start_polling(args.poll_seconds, after_refresh)
  repository = ModelRepository()
  repository.update(model)
  _add_tf_serving_routes(kserve_server.app, manager)
  server = RESTServer(kserve_server.FASTAPI_APP_IMPORT_STRING,
                      DataPlane(model_registry=repository),
                      ModelRepositoryExtension(model_registry=repository),
                      http_port=args.port)
  # KServe binds every interface; a development server stays on loopback
  # unless told otherwise.
  server.config.host = args.host
  logger.info('Serving %s from %s on http://%s:%d/v1/models/%s',
              manager.name, args.serving_dir, args.host, args.port,
              manager.name)
  try:
    server.run()  # until SIGINT/SIGTERM (uvicorn's own handlers)
  finally:
    stop.set()


def main(argv=None) -> int:
  args = _parser().parse_args(argv)
  args.serving_dir = os.path.abspath(args.serving_dir or
                                     model_choice.serving_dir(args))
  serve(args)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
