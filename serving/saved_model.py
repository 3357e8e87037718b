"""Answers TF Serving REST requests with a SavedModel, loaded with TensorFlow
alone (no TFX, no tf.Transform): what `predict`, `verify` and the local model
server share, so all three give the very same JSON."""

import os
from typing import Any, Dict, Mapping

import tensorflow as tf

import contract
from serving import rest


class ServedVersion:
  """One loaded version of the model and its signatures."""

  def __init__(self, model_dir: str):
    if not os.path.isfile(os.path.join(model_dir, 'saved_model.pb')):
      raise FileNotFoundError(f'{model_dir}: no saved_model.pb: not a '
                              'SavedModel directory')
    self.model_dir = model_dir
    self._loaded = tf.saved_model.load(model_dir)
    self.signatures = dict(self._loaded.signatures)

  def _signature(self, name: str):
    if name not in self.signatures:
      raise rest.BadRequest(f'{self.model_dir} has no signature {name!r} '
                            f'(it has {sorted(self.signatures)})')
    return self.signatures[name]

  def answer(self, body: Mapping[str, Any]) -> Dict[str, Any]:
    """The REST response body for a predict request body."""
    signature = self._signature(
        body.get('signature_name') or contract.SERVING_SIGNATURE)
    input_specs = signature.structured_input_signature[1]
    columns, request_format = rest.parse_inputs(body, sorted(input_specs))
    try:
      tensors = {name: tf.constant(values, dtype=input_specs[name].dtype)
                 for name, values in columns.items()}
    except (TypeError, ValueError) as e:
      raise rest.BadRequest(f'inputs do not match the signature: {e}') from None
    outputs = signature(**tensors)
    return rest.format_outputs(
        {name: tensor.numpy().tolist() for name, tensor in outputs.items()},
        request_format)

  def predict_texts(self, texts) -> list:
    """Row-format predictions of `serving_default` for raw reviews."""
    return self.answer(rest.predict_request(texts))['predictions']
