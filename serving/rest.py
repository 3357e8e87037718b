"""TF Serving's REST predict protocol: requests, responses, and a client.

The same JSON a TF Serving (or KServe V1) endpoint takes and returns:
`POST /v1/models/<name>[/versions/<N>]:predict` with
`{"signature_name": ..., "instances": [...]}` (row format) or
`{"inputs": ...}` (columnar format), answered by `{"predictions": [...]}` or
`{"outputs": ...}`. Pure Python: no TensorFlow is needed to be a client.
"""

import base64
import json
import urllib.error
import urllib.request
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import contract


class RestError(RuntimeError):
  """A predict call that failed; the message names the URL."""


class BadRequest(ValueError):
  """A predict request that does not follow the REST protocol."""


def predict_path(model_name: str = contract.MODEL_NAME,
                 version: Optional[int] = None) -> str:
  version_part = f'/versions/{version}' if version is not None else ''
  return f'/v1/models/{model_name}{version_part}:predict'


def predict_request(texts: Sequence[str],
                    signature_name: str = contract.SERVING_SIGNATURE
                    ) -> Dict[str, Any]:
  """A row-format request: one raw review per instance."""
  return {'signature_name': signature_name, 'instances': list(texts)}


def _decode_value(value: Any) -> Any:
  # TF Serving's JSON encoding of binary strings: {"b64": "..."}.
  if isinstance(value, dict) and set(value) == {'b64'}:
    return base64.b64decode(value['b64'])
  return value


def parse_inputs(body: Mapping[str, Any], input_names: Sequence[str]
                 ) -> Tuple[Dict[str, List[Any]], str]:
  """({input name: values}, 'row' or 'columnar') of a predict request body."""
  if not isinstance(body, Mapping):
    raise BadRequest('the request body must be a JSON object')
  if 'instances' in body:
    rows = body['instances']
    if not isinstance(rows, list) or not rows:
      raise BadRequest('"instances" must be a non-empty list')
    columns = {name: [] for name in input_names}
    for index, row in enumerate(rows):
      if not isinstance(row, Mapping) or set(row) == {'b64'}:
        if len(input_names) != 1:
          raise BadRequest(f'instance {index}: the signature takes '
                           f'{list(input_names)}: send objects')
        row = {input_names[0]: row}
      missing = set(input_names) - set(row)
      if missing:
        raise BadRequest(f'instance {index}: missing {sorted(missing)}')
      for name in input_names:
        columns[name].append(_decode_value(row[name]))
    return columns, 'row'
  if 'inputs' in body:
    inputs = body['inputs']
    if not isinstance(inputs, Mapping):
      if len(input_names) != 1:
        raise BadRequest(f'the signature takes {list(input_names)}: '
                         '"inputs" must be an object')
      inputs = {input_names[0]: inputs}
    missing = set(input_names) - set(inputs)
    if missing:
      raise BadRequest(f'"inputs" lacks {sorted(missing)}')
    return ({name: [_decode_value(v) for v in inputs[name]]
             for name in input_names}, 'columnar')
  raise BadRequest('the request has neither "instances" nor "inputs"')


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
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise RestError(f'{url}: the response is not JSON: {e}') from None


def predictions_of(response: Mapping[str, Any], url_hint: str = ''
                   ) -> List[Any]:
  """The `predictions` list of a row-format response."""
  if 'predictions' not in response:
    raise RestError(f'{url_hint}: no "predictions" in the response: '
                    f'{json.dumps(response)[:300]}')
  return response['predictions']
