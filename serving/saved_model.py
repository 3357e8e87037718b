"""Answers TF Serving REST requests with a SavedModel, loaded with TensorFlow
alone (no TFX, no tf.Transform): what `predict`, `verify` and the local model
server share, so all three give the very same JSON."""

import os
import re
from typing import Any, Dict, Mapping, Optional

from google.protobuf import json_format
from google.protobuf import message as protobuf_message
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

import contract
from serving import json_tensor
from serving import model_choice
from serving import rest

_SERVE_TAG = 'serve'


ModelLoadError = model_choice.ModelLoadError


def tf_error_text(text: str) -> str:
  """TF's error message without the eager wrapper's decoration: the
  'Graph execution error' and 'Detected at node ... defined at' trace (Python
  frames, with paths), the [[{{node}}]] and [Op:...] internals, and the
  device hint tf.saved_model.load appends to every failure."""
  lines = []
  in_trace = False
  for line in text.splitlines():
    if line.startswith('Detected at node'):
      in_trace = True
      continue
    if in_trace and (line.startswith((' ', '\t', '<stack traces')) or
                     line.startswith('Node:')):
      continue
    in_trace = False
    if (not line.strip() or line.startswith('Graph execution error') or
        line.lstrip().startswith('[[') or
        line.lstrip().startswith('You may be trying to load on a different')):
      continue
    lines.append(re.sub(r'\s*\[\[\{\{.*$|\s*\[Op:[^\]]*\]$', '', line))
  return '\n'.join(lines).strip() or text.strip()


def _to_dict(proto) -> Dict[str, Any]:
  # As TF Serving prints protos: field names as in the .proto, and fields at
  # their default value too (always_print_fields_with_no_presence).
  try:
    return json_format.MessageToDict(
        proto, preserving_proto_field_name=True,
        including_default_value_fields=True)
  except TypeError:  # protobuf >= 5.26 renamed the option
    return json_format.MessageToDict(
        proto, preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True)


def _read_signature_defs(model_dir: str):
  path = os.path.join(model_dir, 'saved_model.pb')
  saved_model = saved_model_pb2.SavedModel()
  try:
    with open(path, 'rb') as f:
      saved_model.ParseFromString(f.read())
  except (OSError, protobuf_message.DecodeError) as e:
    raise ModelLoadError('DATA_LOSS', f'{path}: not a SavedModel: {e}'
                         ) from None
  for meta_graph in saved_model.meta_graphs:
    if _SERVE_TAG in meta_graph.meta_info_def.tags:
      return meta_graph.signature_def
  raise ModelLoadError('NOT_FOUND', f'{path}: no MetaGraph tagged '
                       f'{_SERVE_TAG!r}')


def _load_error(model_dir: str, error: Exception) -> ModelLoadError:
  if isinstance(error, tf.errors.OpError):
    code = rest.CODES[error.error_code]
  elif isinstance(error, FileNotFoundError):
    code = 'NOT_FOUND'
  else:
    code = 'UNKNOWN'
  text = tf_error_text(str(error)).splitlines()
  return ModelLoadError(code, f'{model_dir}: cannot load the SavedModel: '
                        f'{text[0] if text else type(error).__name__}')


class ServedVersion:
  """One loaded version of the model and its signatures."""

  def __init__(self, model_dir: str, version: Optional[int] = None):
    if not os.path.isfile(os.path.join(model_dir, 'saved_model.pb')):
      raise FileNotFoundError(f'{model_dir}: no saved_model.pb: not a '
                              'SavedModel directory')
    self.model_dir = model_dir
    self.version = version
    self.signature_defs = _read_signature_defs(model_dir)
    self._metadata = None
    try:
      self._loaded = tf.saved_model.load(model_dir)
    except Exception as e:  # pylint: disable=broad-except
      # Whatever TF raises (OSError, OpError, ValueError, ...) means this
      # directory cannot be served.
      raise _load_error(model_dir, e) from None
    self.signatures = dict(self._loaded.signatures)

  def metadata(self) -> Dict[str, Any]:
    """TF Serving's SignatureDefMap of this version, as JSON."""
    if self._metadata is None:
      self._metadata = {'signature_def': {
          name: _to_dict(signature_def)
          for name, signature_def in self.signature_defs.items()}}
    return self._metadata

  def method_name(self, signature_name: str) -> Optional[str]:
    signature_def = self.signature_defs.get(signature_name)
    return signature_def.method_name if signature_def is not None else None

  def _signature(self, name: str):
    if name not in self.signatures:
      raise rest.BadRequest(f'Serving signature name: "{name}" not found in '
                            'signature def')
    return self.signatures[name]

  def answer(self, body: Mapping[str, Any]) -> Dict[str, Any]:
    """The REST response body for a predict request body; rest.ServingError
    (a client error unless its code says otherwise) if it has none."""
    name = (json_tensor.check_body(body).get('signature_name') or
            contract.SERVING_SIGNATURE)
    signature = self._signature(name)
    specs = {
        key: json_tensor.InputSpec(
            spec.dtype.name,
            None if spec.shape.rank is None else tuple(spec.shape.as_list()))
        for key, spec in signature.structured_input_signature[1].items()}
    dense, request_format = json_tensor.parse_inputs(body, specs)
    tensors = {}
    for key, tensor in dense.items():
      dtype = tf.as_dtype(specs[key].dtype)
      values = (np.array(tensor.values, dtype=object) if dtype == tf.string
                else tensor.values)
      try:
        tensors[key] = tf.constant(values, dtype=dtype, shape=tensor.shape)
      except (TypeError, ValueError) as e:
        raise rest.BadRequest(f'input {key!r}: {e}') from None
    try:
      outputs = signature(**tensors)
    except tf.errors.OpError as e:
      raise rest.ServingError(rest.CODES[e.error_code],
                              tf_error_text(e.message)) from None
    except (TypeError, ValueError) as e:
      raise rest.BadRequest(f'inputs do not match signature {name!r}: '
                            f'{str(e).splitlines()[0]}') from None
    return rest.format_outputs(
        {key: tensor.numpy().tolist() for key, tensor in outputs.items()},
        request_format)

  def predict_texts(self, texts) -> list:
    """Row-format predictions of `serving_default` for raw reviews."""
    return self.answer(rest.predict_request(texts))['predictions']
