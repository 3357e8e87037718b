"""TF Serving's REST API over a VersionManager, independent of any web
framework: `handle(manager, method, path, body)` gives the HTTP status and
JSON body TF Serving would (https://www.tensorflow.org/tfx/serving/api_rest):

    GET  /v1/models/<name>[/versions/<N>|/labels/<L>]           model status
    GET  /v1/models/<name>[/versions/<N>|/labels/<L>]/metadata  signature defs
    POST /v1/models/<name>[/versions/<N>|/labels/<L>]:predict   predict

Paths are matched with TF Serving's own regular expressions
(http_rest_api_util.cc) and errors are `{"error": "..."}` with TF Serving's
messages and HTTP statuses (client errors 400, unknown model or version 404).
No error carries a traceback or a server path: unexpected failures are
logged in full and answered 500 with a one-line message.
"""

import logging
import re
from typing import Any, Dict, Optional, Tuple

from serving import json_tensor
from serving import rest

logger = logging.getLogger('serving.api')

_LOCATOR = r'(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?'
_PREDICTION_PATH = re.compile(
    rf'/v1/models/([^/:]+){_LOCATOR}:(classify|regress|predict)', re.I)
_STATUS_PATH = re.compile(rf'/v1/models(?:/([^/:]+))?{_LOCATOR}'
                          r'(?:/(metadata))?', re.I)
_INT64_MAX = (1 << 63) - 1
_METHOD_NAMES = {'classify': 'tensorflow/serving/classify',
                 'regress': 'tensorflow/serving/regress'}


def _version(text: Optional[str]) -> Optional[int]:
  if text is None:
    return None
  if int(text) > _INT64_MAX:
    raise rest.BadRequest(f'Failed to convert version: {text} to numeric.')
  return int(text)


def handle(manager, method: str, path: str, body: bytes
           ) -> Tuple[int, Dict[str, Any]]:
  """(HTTP status, JSON body) of one request to TF Serving's REST API."""
  try:
    return 200, _dispatch(manager, method.upper(), path, body)
  except rest.ServingError as e:
    return e.http_status, {'error': manager.redact(e.message)}
  except Exception:  # pylint: disable=broad-except
    logger.exception('Internal error answering %s %s', method, path)
    return 500, {'error': 'Internal server error (the server log has the '
                          'details)'}


def _dispatch(manager, method: str, path: str, body: bytes) -> Dict[str, Any]:
  pattern = {'POST': _PREDICTION_PATH, 'GET': _STATUS_PATH}.get(method)
  match = pattern.fullmatch(path) if pattern else None
  if not match:
    raise rest.BadRequest(f'Malformed request: {method} {path}')
  name, version_text, label, action = match.groups()
  version = _version(version_text)
  if method == 'POST':
    return _predict(manager, name, version, label, action.lower(), body)
  if not name:
    raise rest.BadRequest('Missing model name in request.')
  if action:  # metadata
    served = manager.resolve(name, version, label)
    return {'model_spec': {'name': name, 'signature_name': '',
                           'version': str(served.version)},
            'metadata': {'signature_def': served.metadata()}}
  return {'model_version_status': manager.statuses(name, version, label)}


def _predict(manager, name: str, version: Optional[int], label: Optional[str],
             action: str, body: bytes) -> Dict[str, Any]:
  # TF Serving's order: the body is JSON, then the servable, then the
  # signature and its inputs.
  request = json_tensor.parse_body(body)
  served = manager.resolve(name, version, label)
  if action != 'predict':
    signature_name = request.get('signature_name') or 'serving_default'
    method_name = served.method_name(signature_name)
    if method_name is not None and method_name != _METHOD_NAMES[action]:
      kind = 'classification' if action == 'classify' else 'regression'
      raise rest.BadRequest(f'Expected {kind} signature method_name to be '
                            f'{_METHOD_NAMES[action]}. Was: {method_name}')
    raise rest.ServingError('UNIMPLEMENTED', f'{action} is not implemented '
                            'by the local server: use :predict')
  return served.answer(request)
