"""Which versions of the served model exist, and which ones to serve.

The serving directory is TF Serving's layout: `<serving_dir>/<int version>/`
holding a SavedModel. What is served follows TF Serving's rules:

- without a model config file, the highest version (TF Serving's default
  policy, `latest { num_versions: 1 }`);
- with one, the `model_version_policy` of the entry named `imdb_sentiment`:
  `specific { versions: N }` (how a rollback pins an older version),
  `latest { num_versions: K }` or `all {}`.

The config file is TF Serving's own text-format `ModelServerConfig`, read with
TF Serving's proto, so the very file a production server polls also steers the
local one. By default it is looked up beside the serving directory:
`<serving_dir>/../models.config` (`outputs/serving/models.config`).
"""

import json
import os
from typing import Any, List, Optional, Sequence, Tuple

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

import contract

MODEL_CONFIG_FILE = 'models.config'


class ModelConfigError(ValueError):
  """A model config file that cannot be used; the message names the file."""


def default_model_config_path(serving_dir: str) -> str:
  return os.path.join(os.path.dirname(os.path.abspath(serving_dir)),
                      MODEL_CONFIG_FILE)


def _is_uri(path: str) -> bool:
  return '://' in path


def _entries(directory: str) -> List[str]:
  """The names in a local directory or under an object-storage prefix
  (gs://, s3://: the Pusher's destination may be there); [] if absent."""
  if _is_uri(directory):
    # Only object storage needs TensorFlow's file system: the local model
    # server and the release commands stay quick to start.
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    if not tf.io.gfile.exists(directory):
      return []
    # Object stores list "directories" with a trailing slash.
    return [name.rstrip('/') for name in tf.io.gfile.listdir(directory)]
  return os.listdir(directory) if os.path.isdir(directory) else []


def is_complete_version(version_dir: str) -> bool:
  # The Pusher copies saved_model.pb last, as TF Serving expects: without it a
  # version is still being written.
  path = os.path.join(version_dir, 'saved_model.pb')
  if _is_uri(path):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf.io.gfile.exists(path)
  return os.path.isfile(path)


def _version_dirs(serving_dir: str) -> List[Tuple[int, str]]:
  """(version, its directory) of every integer-named entry, ascending."""
  return sorted((int(name), os.path.join(serving_dir, name))
                for name in _entries(serving_dir) if name.isdigit())


def version_numbers(serving_dir: str) -> List[int]:
  """Every integer-named version under `serving_dir`, ascending, complete or
  still being written: the numbers a new push must not take again."""
  return [version for version, _ in _version_dirs(serving_dir)]


def available_versions(serving_dir: str) -> List[int]:
  """Complete integer versions under `serving_dir`, ascending: the ones TF
  Serving can load."""
  return [version for version, path in _version_dirs(serving_dir)
          if is_complete_version(path)]


def latest_version_dir(serving_dir: str) -> str:
  """The directory of the highest pushed version; FileNotFoundError if none."""
  versions = available_versions(serving_dir)
  if not versions:
    raise FileNotFoundError(
        f'{serving_dir}: no pushed model version (run the pipeline first, or '
        'pass --model-dir)')
  return os.path.join(serving_dir, str(versions[-1]))


def read_version_policy(config_path: str,
                        model_name: str = contract.MODEL_NAME
                        ) -> Optional[model_server_config_pb2.ModelConfig]:
  """The entry for `model_name` in a TF Serving model config file.

  Returns None when the file does not exist (the default policy applies).
  Raises ModelConfigError, naming the file, when it cannot be parsed or has no
  entry for the model.
  """
  if not os.path.exists(config_path):
    return None
  with open(config_path, encoding='utf-8') as f:
    text = f.read()
  server_config = model_server_config_pb2.ModelServerConfig()
  try:
    text_format.Parse(text, server_config)
  except text_format.ParseError as e:
    raise ModelConfigError(
        f'{config_path}: not a TF Serving ModelServerConfig: {e}') from None
  for model_config in server_config.model_config_list.config:
    if model_config.name == model_name:
      return model_config
  raise ModelConfigError(
      f'{config_path}: no model_config_list entry named {model_name!r}')


def select_versions(available: Sequence[int],
                    model_config: Optional[model_server_config_pb2.ModelConfig]
                    ) -> List[int]:
  """The versions to serve out of `available`, by TF Serving's rules."""
  available = sorted(available)
  policy = model_config.model_version_policy if model_config else None
  choice = policy.WhichOneof('policy_choice') if policy else None
  if choice == 'all':
    return available
  if choice == 'specific':
    wanted = set(policy.specific.versions)
    return [v for v in available if v in wanted]
  num_versions = policy.latest.num_versions if choice == 'latest' else 0
  return available[-max(1, num_versions):] if available else []


def model_config_text(serving_dir: str, pinned: Optional[int] = None,
                      canary: Optional[int] = None,
                      model_name: str = contract.MODEL_NAME) -> str:
  """A TF Serving ModelServerConfig for the model, as text.

  `pinned`: serve exactly that version, labelled `stable` (a rollback);
  `canary`: serve that one too, labelled `canary`. Neither: the highest
  version, TF Serving's default (`latest { num_versions: 1 }`), written out.
  """
  config = model_server_config_pb2.ModelServerConfig()
  entry = config.model_config_list.config.add(
      name=model_name, base_path=os.path.abspath(serving_dir),
      model_platform='tensorflow')
  if pinned is None:
    if canary is not None:
      raise ValueError('a canary needs a pinned stable version beside it')
    entry.model_version_policy.latest.num_versions = 1
  else:
    entry.model_version_policy.specific.versions.append(pinned)
    entry.version_labels['stable'] = pinned
    if canary is not None:
      entry.model_version_policy.specific.versions.append(canary)
      entry.version_labels['canary'] = canary
  return text_format.MessageToString(config)


def write_model_config(config_path: str, text: str) -> None:
  """Replaces the config file in one step: a polling server never reads a
  half-written one."""
  temporary = f'{config_path}.tmp-{os.getpid()}'
  with open(temporary, 'w', encoding='utf-8') as f:
    f.write(text)
  os.replace(temporary, config_path)


def serving_dir_of(output_dir: str) -> str:
  """Where a pipeline's output directory keeps the pushed versions."""
  return os.path.join(output_dir, 'serving', contract.MODEL_NAME)


def assets_extra_path(model_dir: str, file_name: str) -> str:
  """A file shipped beside a SavedModel (release.json, training.json, the
  warm-up requests, the verification samples); the model never reads it."""
  return os.path.join(model_dir, 'assets.extra', file_name)


def read_json_asset(model_dir: str, file_name: str) -> Optional[Any]:
  """The JSON file `assets_extra_path` names, or None if there is none."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  path = assets_extra_path(model_dir, file_name)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)
