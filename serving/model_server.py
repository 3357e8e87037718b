"""Local model server: the serving directory over TF Serving's REST protocol.

    make serve                      # 127.0.0.1:8501, SERVE_PORT to change
    .venv-serving/bin/python -m serving.model_server [--output-dir DIR |
        --serving-dir DIR] [--port N] [--model-config FILE]

KServe's Python model server (its V1 protocol is TF Serving's REST API) runs
one model, `imdb_sentiment`, answering
`POST /v1/models/imdb_sentiment:predict` with the default version and
`POST /v1/models/imdb_sentiment/versions/<N>:predict` with a given one. Every
`--poll-seconds` it re-scans the serving directory and the model config file
(`<serving_dir>/../models.config` unless `--model-config` says otherwise) and
loads or unloads versions as TF Serving would (see contract/serving_directory.py): new
pushes are picked up, and a `specific` version policy pins the served
version (rollback). For development and tests; production runs TF Serving on
the same directory (kubeflow/serving.py).

It runs in its own venv (.venv-serving, scripts/ensure_serving_venv.sh):
KServe does not install beside TFX.
"""

import argparse
import json
import logging
import os
import sys
import threading
from typing import Dict, List, Optional

import contract
from serving import model_choice
from contract import serving_directory

logger = logging.getLogger('serving.model_server')


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      description='Serve the pushed model versions over TF Serving\'s REST '
      'predict protocol (KServe V1).')
  model_choice.add_output_dir_argument(parser)
  parser.add_argument('--serving-dir',
                      help='The Pusher\'s serving directory: <version>/ '
                      'subdirectories holding SavedModels (default: '
                      '<output-dir>/serving/imdb_sentiment).')
  parser.add_argument('--model-config', default=None,
                      help='TF Serving model config file whose version policy '
                      'picks the served versions (default: '
                      '<serving-dir>/../models.config, if it exists).')
  parser.add_argument('--model-name', default=contract.MODEL_NAME)
  parser.add_argument('--host', default='127.0.0.1',
                      help='Address to bind (default loopback only).')
  parser.add_argument('--port', type=int, default=8501)
  parser.add_argument('--poll-seconds', type=float, default=2.0,
                      help='How often the serving directory and the model '
                      'config file are re-read.')
  return parser


def build_model_class():
  """The KServe model class; KServe is imported only here (see main)."""
  import kserve  # pylint: disable=g-import-not-at-top
  from kserve import errors  # pylint: disable=g-import-not-at-top

  from serving import rest  # pylint: disable=g-import-not-at-top
  from serving.saved_model import ServedVersion  # pylint: disable=g-import-not-at-top

  class VersionedModel(kserve.Model):
    """All served versions of one model; the highest one answers requests
    that name no version."""

    def __init__(self, name: str, serving_dir: str, model_config_path: str):
      super().__init__(name)
      self.serving_dir = serving_dir
      self.model_config_path = model_config_path
      self._loaded: Dict[int, ServedVersion] = {}
      self._refresh_lock = threading.Lock()

    @property
    def served_versions(self) -> List[int]:
      return sorted(self._loaded)

    def refresh(self) -> None:
      """Loads newly selected versions and drops deselected ones."""
      with self._refresh_lock:
        try:
          model_config = serving_directory.read_version_policy(
              self.model_config_path, self.name)
        except (serving_directory.ModelConfigError, OSError) as e:
          # As TF Serving does with a bad config reload: keep serving.
          logger.error('%s; still serving versions %s', e,
                       self.served_versions)
          return
        wanted = serving_directory.select_versions(
            serving_directory.available_versions(self.serving_dir), model_config)
        loaded = {}
        for version in wanted:
          if version in self._loaded:
            loaded[version] = self._loaded[version]
            continue
          version_dir = os.path.join(self.serving_dir, str(version))
          try:
            loaded[version] = ServedVersion(version_dir)
          except Exception as e:  # pylint: disable=broad-except
            logger.error('Cannot load version %d from %s: %s', version,
                         version_dir, e)
        if sorted(loaded) != self.served_versions:
          policy = ('policy of ' + self.model_config_path if model_config
                    else 'highest version')
          logger.info('Serving %s versions %s (%s)', self.name,
                      sorted(loaded), policy)
        self._loaded = loaded  # one assignment: requests see old or new
        self.ready = bool(loaded)

    def answer(self, payload, version: Optional[int] = None):
      loaded = self._loaded
      if version is None:
        if not loaded:
          raise errors.ModelNotReady(self.name, 'no version is served yet')
        served = loaded[max(loaded)]
      elif version in loaded:
        served = loaded[version]
      else:
        raise errors.ModelNotFound(f'{self.name}/versions/{version}')
      try:
        return served.answer(payload)
      except rest.BadRequest as e:
        raise errors.InvalidInput(str(e)) from None

    def preprocess(self, payload, headers=None):
      # KServe decodes JSON only when the Content-Type says so; TF Serving
      # (and curl -d) do not depend on it.
      if isinstance(payload, (bytes, str)):
        try:
          return json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
          raise errors.InvalidInput(f'the request body is not JSON: {e}'
                                    ) from None
      return payload

    def predict(self, payload, headers=None):
      return self.answer(payload)

  return VersionedModel


def serve(args: argparse.Namespace) -> None:
  # pylint: disable=g-import-not-at-top
  # kserve.model_server parses sys.argv when imported: hide ours from it.
  argv, sys.argv = sys.argv, sys.argv[:1]
  try:
    import fastapi
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

  model_config_path = (args.model_config or
                       serving_directory.default_model_config_path(args.serving_dir))
  if args.model_config and not os.path.exists(args.model_config):
    sys.exit(f'error: {args.model_config}: model config file not found')
  # A broken config file fails at start; later it only logs (see refresh).
  try:
    serving_directory.read_version_policy(model_config_path, args.model_name)
  except serving_directory.ModelConfigError as e:
    sys.exit(f'error: {e}')
  model = build_model_class()(args.model_name, args.serving_dir,
                              model_config_path)
  model.refresh()
  if not model.ready:
    logger.warning('No version to serve in %s yet; waiting for one.',
                   args.serving_dir)

  stop = threading.Event()

  def poll():
    while not stop.wait(args.poll_seconds):
      model.refresh()

  threading.Thread(target=poll, name='version-poller', daemon=True).start()

  repository = ModelRepository()
  repository.update(model)

  # TF Serving's versioned path; KServe's V1 endpoints have no versions.
  async def predict_version(model_name: str, version: int,
                            request: fastapi.Request):
    from kserve import errors  # pylint: disable=g-import-not-at-top
    if model_name != model.name:
      raise errors.ModelNotFound(model_name)
    return model.answer(model.preprocess(await request.body()),
                        version=version)

  kserve_server.app.add_api_route(
      '/v1/models/{model_name}/versions/{version}:predict', predict_version,
      methods=['POST'])
  server = RESTServer(kserve_server.FASTAPI_APP_IMPORT_STRING,
                      DataPlane(model_registry=repository),
                      ModelRepositoryExtension(model_registry=repository),
                      http_port=args.port)
  # KServe binds every interface; a development server stays on loopback
  # unless told otherwise.
  server.config.host = args.host
  logger.info('Serving %s from %s on http://%s:%d/v1/models/%s:predict',
              model.name, args.serving_dir, args.host, args.port, model.name)
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
