"""Pusher executor: TFX's filesystem push, minus duplicate and reused versions.

The stock executor names a version after the current second and, when a model
it already pushed is blessed again (the second run on unchanged data: the
Evaluator re-runs because the resolver now finds a baseline), pushes an
identical copy under a new version. This executor:

- pushes nothing when a version with the same SavedModel fingerprint is
  already in the serving directory, unless `custom_config` says
  `push_identical_model: true`; the pushed_model artifact then records
  `pushed = 0` and `identical_to_version`;
- names the new version max(now in seconds, latest version + 1), so versions
  only grow and an earlier one is never overwritten.
"""

import os
import time
from typing import Any, Dict, List, Optional

from absl import logging
from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import io_utils
from tfx.utils import json_utils
from tfx.utils import proto_utils

PUSH_IDENTICAL_KEY = 'push_identical_model'
IDENTICAL_TO_VERSION_KEY = 'identical_to_version'
_FINGERPRINT = 'fingerprint.pb'  # written by tf.saved_model.save since TF 2.12


def existing_versions(base_directory: str) -> List[int]:
  """Integer version directories under `base_directory`, ascending."""
  if not fileio.exists(base_directory):
    return []
  return sorted(int(name.rstrip('/')) for name in fileio.listdir(base_directory)
                if name.rstrip('/').isdigit())


def next_version(versions: List[int], now_s: Optional[float] = None) -> int:
  now = int(time.time() if now_s is None else now_s)
  return max([now] + [v + 1 for v in versions])


def _fingerprint(model_dir: str) -> Optional[bytes]:
  path = os.path.join(model_dir, _FINGERPRINT)
  return io_utils.read_bytes_file(path) if fileio.exists(path) else None


def identical_version(base_directory: str, model_dir: str) -> Optional[int]:
  """The newest pushed version with the same SavedModel fingerprint, if any."""
  fingerprint = _fingerprint(model_dir)
  if fingerprint is None:
    return None
  for version in reversed(existing_versions(base_directory)):
    if _fingerprint(os.path.join(base_directory, str(version))) == fingerprint:
      return version
  return None


class Executor(pusher_executor.Executor):
  """Filesystem push with growing versions and no duplicate pushes."""

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    push_destination = pusher_pb2.PushDestination()
    proto_utils.json_to_proto(
        exec_properties[standard_component_specs.PUSH_DESTINATION_KEY],
        push_destination)
    if push_destination.WhichOneof('destination') != 'filesystem':
      return super().Do(input_dict, output_dict, exec_properties)

    self._log_startup(input_dict, output_dict, exec_properties)
    model_push = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.PUSHED_MODEL_KEY])
    if not self.CheckBlessing(input_dict):
      self._MarkNotPushed(model_push)
      return
    model_path = self.GetModelPath(input_dict)
    base_directory = push_destination.filesystem.base_directory
    custom_config = json_utils.loads(
        exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
        or 'null') or {}

    same = identical_version(base_directory, model_path)
    if same is not None and not custom_config.get(PUSH_IDENTICAL_KEY):
      logging.info('Model %s is identical to version %d in %s; not pushed.',
                   model_path, same, base_directory)
      self._MarkNotPushed(model_push)
      model_push.set_string_custom_property(IDENTICAL_TO_VERSION_KEY,
                                            str(same))
      return

    version = str(next_version(existing_versions(base_directory)))
    serving_path = os.path.join(base_directory, version)
    # saved_model.pb goes last: TF Serving treats its presence as "complete".
    io_utils.copy_dir(model_path, serving_path,
                      deny_regex_patterns=[r'saved_model\.pb'])
    io_utils.copy_file(os.path.join(model_path, 'saved_model.pb'),
                       os.path.join(serving_path, 'saved_model.pb'))
    logging.info('Model written to serving path %s.', serving_path)
    io_utils.copy_dir(model_path, model_push.uri)
    self._MarkPushed(model_push, pushed_destination=serving_path,
                     pushed_version=version)
