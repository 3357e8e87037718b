"""The model config file (TF Serving's models.config), read so that any file
that cannot be used is one error naming it: not found is TF Serving's default
policy, anything else unusable (not text, unreadable, not a ModelServerConfig,
no entry for the model) is a ModelConfigError.

contract/serving_directory.py parses the file; this adds the failures a file
on disk can have besides bad syntax (a copy in another encoding, a directory
in its place), which the server, `make versions` and `make rollback` must all
report and survive alike.
"""

from typing import Dict, Optional

import contract
from contract import serving_directory

ModelConfigError = serving_directory.ModelConfigError


def read(config_path: str, model_name: str = contract.MODEL_NAME):
  """The config file's entry for the model (a ModelConfig proto), or None
  without a file; ModelConfigError, naming the file, if it is unusable."""
  try:
    return serving_directory.read_version_policy(config_path, model_name)
  except UnicodeDecodeError as e:
    raise ModelConfigError(
        f'{config_path}: not UTF-8 text (byte {e.start}: '
        f'{e.object[e.start:e.start + 1]!r})') from None
  except FileNotFoundError:
    return None  # removed since it was looked for: as if never there
  except OSError as e:
    raise ModelConfigError(f'{config_path}: cannot be read: '
                           f'{e.strerror or e}') from None


def labels(model_config) -> Dict[str, int]:
  """The entry's `version_labels` (e.g. stable -> 1795...)."""
  return dict(model_config.version_labels) if model_config else {}


def policy_name(model_config) -> Optional[str]:
  """'specific', 'latest', 'all', or None (the default policy)."""
  if model_config is None:
    return None
  return model_config.model_version_policy.WhichOneof('policy_choice')
