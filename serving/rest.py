"""TF Serving's REST predict protocol: responses, errors, and a client.

The same JSON a TF Serving (or KServe V1) endpoint takes and returns:
`POST /v1/models/<name>[/versions/<N>]:predict` with
`{"signature_name": ..., "instances": [...]}` (row format) or
`{"inputs": ...}` (columnar format), answered by `{"predictions": [...]}` or
`{"outputs": ...}`, and `{"error": "..."}` with TF Serving's HTTP status when
refused (requests are read in serving/json_tensor.py). Pure Python: no
TensorFlow is needed to be a client.
"""

import json
import urllib.error
import urllib.request
from typing import Any, Dict, List, Mapping, Optional, Sequence

import contract

# TF's canonical error codes, by number (tensorflow/core/protobuf/error_codes).
CODES = ('OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT',
         'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
         'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION',
         'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
         'DATA_LOSS', 'UNAUTHENTICATED')
# TF Serving's http_server.cc ToHTTPStatusCode; anything else is 500.
_HTTP_STATUS = {
    'OK': 200, 'CANCELLED': 499, 'INVALID_ARGUMENT': 400,
    'DEADLINE_EXCEEDED': 504, 'NOT_FOUND': 404, 'ALREADY_EXISTS': 409,
    'PERMISSION_DENIED': 403, 'RESOURCE_EXHAUSTED': 429,
    'FAILED_PRECONDITION': 400, 'ABORTED': 409, 'OUT_OF_RANGE': 400,
    'UNIMPLEMENTED': 501, 'UNAVAILABLE': 503, 'UNAUTHENTICATED': 401}


class RestError(RuntimeError):
  """A predict call that failed; the message names the URL."""


class ServingError(Exception):
  """A request TF Serving would refuse: a TF error code and its message."""

  def __init__(self, code: str, message: str):
    super().__init__(message)
    self.code = code
    self.message = message

  @property
  def http_status(self) -> int:
    return _HTTP_STATUS.get(self.code, 500)

  def body(self) -> Dict[str, str]:
    return {'error': self.message}


class BadRequest(ServingError, ValueError):
  """A predict request that does not follow the REST protocol."""

  def __init__(self, message: str):
    super().__init__('INVALID_ARGUMENT', message)


def predict_path(model_name: str = contract.MODEL_NAME,
                 version: Optional[int] = None) -> str:
  version_part = f'/versions/{version}' if version is not None else ''
  return f'/v1/models/{model_name}{version_part}:predict'


def predict_request(texts: Sequence[str],
                    signature_name: str = contract.SERVING_SIGNATURE
                    ) -> Dict[str, Any]:
  """A row-format request: one raw review per instance."""
  return {'signature_name': signature_name, 'instances': list(texts)}


def _jsonable(value: Any) -> Any:
  if isinstance(value, bytes):
    return value.decode('utf-8', errors='replace')
  if isinstance(value, list):
    return [_jsonable(v) for v in value]
  return value


def format_outputs(outputs: Mapping[str, List[Any]], request_format: str
                   ) -> Dict[str, Any]:
  """The response body for per-output lists of per-example values (plain
  Python values, as from `ndarray.tolist()`), as TF Serving shapes it: one
  output is given bare, several as objects keyed by output name."""
  names = sorted(outputs)
  if request_format == 'columnar':
    if len(names) == 1:
      return {'outputs': _jsonable(outputs[names[0]])}
    return {'outputs': {name: _jsonable(outputs[name]) for name in names}}
  batch = len(outputs[names[0]]) if names else 0
  if len(names) == 1:
    return {'predictions': _jsonable(outputs[names[0]])}
  return {'predictions': [{name: _jsonable(outputs[name][i]) for name in names}
                          for i in range(batch)]}


def post_predict(server: str, body: Mapping[str, Any],
                 model_name: str = contract.MODEL_NAME,
                 version: Optional[int] = None,
                 timeout_s: float = 60) -> Dict[str, Any]:
  """POSTs a predict request to a TF Serving REST endpoint at `server`
  (e.g. http://127.0.0.1:8501) and returns the decoded response."""
  url = server.rstrip('/') + predict_path(model_name, version)
  request = urllib.request.Request(
      url, data=json.dumps(body).encode('utf-8'),
      headers={'Content-Type': 'application/json'}, method='POST')
  try:
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
      return json.loads(response.read().decode('utf-8'))
  except urllib.error.HTTPError as e:
    detail = e.read().decode('utf-8', errors='replace').strip()
    raise RestError(f'{url}: HTTP {e.code}: {detail}') from None
  except urllib.error.URLError as e:
    raise RestError(f'{url}: cannot connect: {e.reason}') from None
  except (OSError, ValueError) as e:  # a reset, a timeout, not JSON
    raise RestError(f'{url}: no usable response: {e}') from None


def predictions_of(response: Mapping[str, Any], url_hint: str = ''
                   ) -> List[Any]:
  """The `predictions` list of a row-format response."""
  if not isinstance(response, Mapping) or 'predictions' not in response:
    raise RestError(f'{url_hint}: no "predictions" in the response: '
                    f'{json.dumps(response)[:300]}')
  return response['predictions']
