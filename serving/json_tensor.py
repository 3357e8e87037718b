"""A predict request's JSON as tensors, checked as TF Serving checks it.

TF Serving's util/json_tensor.cc turns `{"instances": [...]}` (row format)
or `{"inputs": ...}` (columnar format) into one tensor per signature input:
each leaf must be of the input's dtype (`{"b64": ...}` for binary strings),
lists must be dense, all instances alike. This does the same, in plain
Python, with TF Serving's error messages, so that a client sees the same
refusal (HTTP 400) here as in production; shapes are also checked against
the signature, where TF Serving leaves that to the graph.
"""

import base64
import binascii
import json
from typing import (Any, Dict, List, Mapping, NamedTuple, Optional, Sequence,
                    Tuple)

from serving import rest

BadRequest = rest.BadRequest
ServingError = rest.ServingError

# TF's DataTypeString of the dtypes a JSON value can be converted to.
_TF_TYPE_NAMES = {'string': 'string', 'float32': 'float', 'float64': 'double',
                  'bool': 'bool', 'int8': 'int8', 'int16': 'int16',
                  'int32': 'int32', 'int64': 'int64', 'uint8': 'uint8',
                  'uint32': 'uint32', 'uint64': 'uint64'}
# Integers as rapidjson's IsInt (int8..int32), IsInt64, IsUint, IsUint64
# take them in TF Serving's AddValueToTensor: [low, high).
_INT_BOUNDS = {'int8': (-1 << 31, 1 << 31), 'int16': (-1 << 31, 1 << 31),
               'int32': (-1 << 31, 1 << 31), 'uint8': (-1 << 31, 1 << 31),
               'int64': (-1 << 63, 1 << 63), 'uint32': (0, 1 << 32),
               'uint64': (0, 1 << 64)}
_FLOATS = ('float16', 'bfloat16', 'float32', 'float64')
_MAX_RANK = 32  # deeper lists are refused before any recursion
_DEBUG_CHARS = 256  # TF Serving's kMaxJsonDebugStringBytes


class InputSpec(NamedTuple):
  """What a signature input takes: a TF dtype name ('string', 'float32')
  and a shape (None: unknown rank; None dims: any size)."""
  dtype: str
  shape: Optional[Tuple[Optional[int], ...]]


class Dense(NamedTuple):
  """One input tensor from JSON: its shape and its values, row-major."""
  shape: List[int]
  values: List[Any]


def _debug(value: Any) -> str:
  text = json.dumps(value, separators=(',', ':'), ensure_ascii=False)
  return text if len(text) <= _DEBUG_CHARS else text[:_DEBUG_CHARS] + '...'


def _json_type(value: Any) -> str:
  if value is None:
    return 'Null'
  if isinstance(value, bool):
    return 'True' if value else 'False'
  return {dict: 'Object', list: 'Array', str: 'String'}.get(
      type(value), 'Number')


def _format_error(value: Any, message: str) -> BadRequest:
  return BadRequest(f'JSON Value: {_debug(value)} {message}')


def parse_body(raw: bytes) -> Dict[str, Any]:
  """The JSON object of a request body; BadRequest as TF Serving words it."""
  if not raw:
    raise BadRequest('JSON Parse error: The document is empty')
  try:
    body = json.loads(raw)
  except json.JSONDecodeError as e:
    raise BadRequest(f'JSON Parse error: {e.msg} at offset: {e.pos}'
                     ) from None
  except UnicodeDecodeError as e:
    raise BadRequest('JSON Parse error: Invalid encoding in string. at '
                     f'offset: {e.start}') from None
  except RecursionError:
    raise BadRequest('JSON Parse error: the document is nested too deeply'
                     ) from None
  return check_body(body)


def check_body(body: Any) -> Dict[str, Any]:
  """`body` if it is a request object with a string signature_name."""
  if not isinstance(body, dict):
    raise _format_error(body, 'Is not object')
  if not isinstance(body.get('signature_name', ''), str):
    raise _format_error(body, "not formatted correctly. 'signature_name' key "
                        'must be a string value.')
  return body


def _is_b64(value: Any) -> bool:
  # TF Serving's binary strings: {"b64": "..."}; a "b64" of another type is
  # refused as badly formatted base64 rather than taken for an input name.
  return isinstance(value, dict) and set(value) == {'b64'}


def _decode_b64(value: Dict[str, Any]) -> bytes:
  text = value['b64']
  if not isinstance(text, str):
    raise _format_error(value, 'not formatted correctly for base64 data')
  try:
    # absl::Base64Unescape, as TF Serving uses it, takes unpadded text too.
    return base64.b64decode(text + '=' * (-len(text) % 4), validate=True)
  except (binascii.Error, ValueError):
    raise BadRequest('Unable to base64 decode') from None


def _type_error(value: Any, dtype: str) -> BadRequest:
  return BadRequest(f'JSON Value: {_debug(value)} Type: {_json_type(value)} '
                    'is not of expected type: '
                    f'{_TF_TYPE_NAMES.get(dtype, dtype)}')


def _scalar(value: Any, dtype: str) -> Any:
  """A JSON leaf as a value of `dtype`, as TF Serving's AddValueToTensor."""
  number = isinstance(value, (int, float)) and not isinstance(value, bool)
  if dtype == 'string':
    if isinstance(value, str):
      return value
    if _is_b64(value):
      return _decode_b64(value)
  elif dtype in _FLOATS:
    if number:
      return value
  elif dtype in _INT_BOUNDS:
    low, high = _INT_BOUNDS[dtype]
    if number and isinstance(value, int) and low <= value < high:
      return value
  elif dtype == 'bool':
    if isinstance(value, bool):
      return value
  else:
    raise ServingError('UNIMPLEMENTED', f'Conversion of JSON Value: '
                       f'{_debug(value)} to type: {dtype}')
  raise _type_error(value, dtype)


def _dense(value: Any, dtype: str) -> Dense:
  """A JSON value (scalar or nested lists) as a dense tensor; its shape is
  read off the first elements, as TF Serving's GetDenseTensorShape."""
  shape = []
  first = value
  while isinstance(first, list):
    shape.append(len(first))
    if len(shape) > _MAX_RANK:
      raise BadRequest(f'JSON Value: lists nested deeper than {_MAX_RANK}')
    if not first:
      break
    first = first[0]
  values = []
  _fill(value, 0, shape, dtype, values)
  return Dense(shape, values)


def _fill(value: Any, level: int, shape: List[int], dtype: str,
          values: List[Any]) -> None:
  if not isinstance(value, list):
    if level != len(shape):
      raise BadRequest(f'JSON Value: {_debug(value)} found at incorrect '
                       f'level: {level + 1} in the JSON DOM. Expected at '
                       f'level: {len(shape)}')
    values.append(_scalar(value, dtype))
    return
  if level >= len(shape):
    raise BadRequest(f'Encountered list at unexpected level: {level} '
                     f'expected < {len(shape)}')
  if len(value) != shape[level]:
    raise BadRequest(f'Encountered list at unexpected size: {len(value)} at '
                     f'level: {level} expected size: {shape[level]}')
  for item in value:
    _fill(item, level + 1, shape, dtype, values)


def _in_context(error: ServingError, message: str) -> ServingError:
  if isinstance(error, BadRequest):
    return BadRequest(message)
  return ServingError(error.code, message)


def _shape_text(shape: Optional[Sequence[Optional[int]]]) -> str:
  if shape is None:
    return '[?]'
  return '[' + ','.join('-1' if d is None else str(d) for d in shape) + ']'


def _check_shape(name: str, shape: List[int], spec: InputSpec) -> None:
  if spec.shape is None:
    return
  if len(shape) != len(spec.shape) or any(
      want is not None and want != got for got, want in zip(shape, spec.shape)):
    raise BadRequest(f'input {name!r} has shape {_shape_text(shape)}; the '
                     f'signature takes {_shape_text(spec.shape)}')


def _instances(body: Mapping[str, Any], specs: Mapping[str, InputSpec]
               ) -> Dict[str, Dense]:
  rows = body['instances']
  if not isinstance(rows, list):
    raise _format_error(body, "Expecting 'instances' to be an list/array")
  if not rows:
    raise _format_error(body, "No values in 'instances' array")
  names = sorted(specs)

  def is_object(value):
    return isinstance(value, dict) and not _is_b64(value)

  if not is_object(rows[0]) and len(names) > 1:
    raise BadRequest('instances is a plain list, but expecting list of '
                     'objects as multiple input tensors required as per '
                     'tensorinfo_map')
  objects = is_object(rows[0])
  first: Dict[str, Dense] = {}
  values: Dict[str, List[Any]] = {name: [] for name in names}
  for index, row in enumerate(rows):
    if objects and not is_object(row):
      raise BadRequest(f'Expecting object but got list at item {index} of '
                       'input list')
    if not objects and is_object(row):
      raise BadRequest(f'Expecting value/list but got object at item '
                       f'{index} of input list')
    items = row.items() if objects else [(names[0], row)]
    for name, value in items:
      where = f'element: {index}' + (f' key: {name}' if objects else '')
      try:
        if name not in specs:
          raise BadRequest(f'JSON object: does not have named input: {name}')
        tensor = _dense(value, specs[name].dtype)
        seen = first.setdefault(name, tensor)
        if len(tensor.values) != len(seen.values):
          raise BadRequest(f'Expecting tensor size: {len(seen.values)} but '
                           f'got: {len(tensor.values)}')
        if tensor.shape != seen.shape:
          raise BadRequest(f'Expecting shape {_shape_text(seen.shape)} but '
                           f'got: {_shape_text(tensor.shape)}')
      except ServingError as e:
        raise _in_context(e, f"Failed to process {where} of 'instances' "
                          f'list. Error: {e.message}') from None
      values[name] += tensor.values
    if objects and set(row) != set(names):
      raise BadRequest(f"Failed to process element: {index} of 'instances' "
                       f'list. JSON object: {_debug(row)} keys must be equal '
                       f'to: {",".join(names)}')
  return {name: Dense([len(rows)] + first[name].shape, values[name])
          for name in names}


def _inputs(body: Mapping[str, Any], specs: Mapping[str, InputSpec]
            ) -> Dict[str, Dense]:
  inputs = body['inputs']
  names = sorted(specs)
  if not isinstance(inputs, dict) or _is_b64(inputs):
    if len(names) > 1:
      raise BadRequest('inputs is a plain value/list, but expecting an object '
                       'as multiple input tensors required as per '
                       'tensorinfo_map')
    return {names[0]: _dense(inputs, specs[names[0]].dtype)}
  tensors = {}
  for name in names:
    if name not in inputs:
      raise BadRequest(f"Missing named input: {name} in 'inputs' object.")
    tensors[name] = _dense(inputs[name], specs[name].dtype)
  return tensors


def parse_inputs(body: Mapping[str, Any], specs: Mapping[str, InputSpec]
                 ) -> Tuple[Dict[str, Dense], str]:
  """({input name: Dense}, 'row' or 'columnar') of a predict request body,
  checked against the signature's inputs; BadRequest if it does not fit."""
  if not isinstance(body, Mapping):
    raise _format_error(body, 'Is not object')
  if not specs:
    raise BadRequest('Failed to get input map for signature: ' +
                     (body.get('signature_name') or 'DEFAULT'))
  if 'instances' in body and 'inputs' in body:
    raise _format_error(body, "Not formatted correctly expecting only one of "
                        "'inputs' or 'instances' keys to exist ")
  if 'instances' in body:
    tensors, request_format = _instances(body, specs), 'row'
  elif 'inputs' in body:
    tensors, request_format = _inputs(body, specs), 'columnar'
  else:
    raise BadRequest("Missing 'inputs' or 'instances' key")
  for name, tensor in tensors.items():
    _check_shape(name, tensor.shape, specs[name])
  return tensors, request_format


