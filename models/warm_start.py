"""Warm start: the training record exported with each model, and starting a
new model from the latest blessed one's weights when that record says they
fit."""

import hashlib
import json
from typing import Any, Dict, Optional

import tensorflow as tf

import contract
from contract import serving_directory
from models import serving_export


def training_record(tokenization: Dict[str, Any],
                    vocabulary_file: Optional[str], num_ids: int,
                    embedding_dim: int) -> Dict[str, Any]:
  """What a later model must match to start from this one's weights.

  Hashing maps an n-gram to the same id in every model; a vocabulary does so
  only if it is the same file, hence its digest.
  """
  digest = None
  if vocabulary_file:
    with tf.io.gfile.GFile(vocabulary_file, 'rb') as f:
      digest = hashlib.sha256(f.read()).hexdigest()
  return {'tokenization': dict(tokenization), 'vocabulary_sha256': digest,
          'num_ids': num_ids, 'embedding_dim': embedding_dim}


def read_training_record(model_dir: str) -> Optional[Dict[str, Any]]:
  return serving_directory.read_json_asset(model_dir, contract.TRAINING_FILE)


def warm_start_incompatibility(base: Optional[Dict[str, Any]],
                               current: Dict[str, Any]) -> Optional[str]:
  """Why a model trained as `base` cannot seed one trained as `current`;
  None when it can."""
  if base is None:
    return f'the base model has no {contract.TRAINING_FILE}'
  # A table model's classes too (absent for IMDB): its head is sized by them.
  for key in ('tokenization', 'vocabulary_sha256', 'num_ids', 'embedding_dim',
              contract.LABEL_CLASSES_KEY):
    if base.get(key) != current.get(key):
      if key == 'vocabulary_sha256':
        return 'the vocabulary changed with the new data'
      return f'{key} differs ({base.get(key)} -> {current[key]})'
  return None


def warm_start(model: tf.keras.Model, base_model_dir: Optional[str],
               record: Dict[str, Any], enabled: bool) -> Dict[str, Any]:
  """Copies the base model's weights into `model` when they fit.

  Returns what happened, for the run log and the exported training.json:
  `{'warm_started_from': dir or None, 'reason': ...}`. All weights or none:
  a partly warm-started model would be neither one thing nor the other.
  """
  if not enabled:
    return {'warm_started_from': None, 'reason': 'warm start is off'}
  if not base_model_dir:
    # The resolver gives none when no model is blessed or, on unchanged
    # data, when the blessed ones were trained on these very examples.
    return {'warm_started_from': None,
            'reason': 'no blessed model trained on other examples'}
  reason = warm_start_incompatibility(read_training_record(base_model_dir),
                                      record)
  if reason is None:
    base = {v.name: v for v in
            tf.saved_model.load(base_model_dir).model.variables}
    mismatched = [v.name for v in model.variables
                  if v.name not in base or base[v.name].shape != v.shape]
    if mismatched:
      reason = f'the base model lacks or differs in {mismatched}'
    else:
      for variable in model.variables:
        variable.assign(base[variable.name])
      return {'warm_started_from': base_model_dir,
              'reason': 'same tokenization as the latest blessed model'}
  return {'warm_started_from': None, 'reason': reason}


def write_training_file(model_dir: str, record: Dict[str, Any]) -> str:
  path = serving_export.new_assets_extra_file(model_dir, contract.TRAINING_FILE)
  with tf.io.gfile.GFile(path, 'w') as f:
    json.dump(record, f, indent=2, sort_keys=True)
  return path
