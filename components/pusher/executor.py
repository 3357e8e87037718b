"""Pusher executor: TFX's filesystem push, as a release history.

The stock executor names a version after the current second and, when a model
it already pushed is blessed again (the second run on unchanged data: the
Evaluator re-runs because the resolver now finds a baseline), pushes an
identical copy under a new version. This executor:

- pushes nothing when a version with the same SavedModel fingerprint is
  already in the serving directory, unless `custom_config` says
  `push_identical_model: true`; the pushed_model artifact then records
  `pushed = 0` and `identical_to_version`;
- names the new version max(now in seconds, latest version + 1), so versions
  only grow and an earlier one is never overwritten;
- writes the version into a hidden staging directory and renames it into
  place, so a push killed midway leaves no partial version (TF Serving and
  the local server ignore non-integer names; the next push removes the
  leftover). On object storage, where no rename is atomic, `saved_model.pb`
  is copied last instead: TF Serving loads a version only once it exists;
- writes `assets.extra/release.json` into the version: its number, the spans
  it was trained on, its evaluation metrics and the baseline's;
- keeps the newest `keep_versions` versions (0: all), never removing the one
  `models.config` serves.
"""

import datetime
import json
import os
import time
from typing import Any, Dict, List, Optional, Sequence

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

import contract
from components import resolvers
from contract import evaluation as evaluation_lib
from contract import serving_directory

PUSH_IDENTICAL_KEY = 'push_identical_model'
KEEP_VERSIONS_KEY = 'keep_versions'
IDENTICAL_TO_VERSION_KEY = 'identical_to_version'
_STAGING_SUFFIX = '.partial'
_FINGERPRINT = 'fingerprint.pb'  # written by tf.saved_model.save since TF 2.12


def next_version(versions: List[int], now_s: Optional[float] = None) -> int:
  now = int(time.time() if now_s is None else now_s)
  return max([now] + [v + 1 for v in versions])


def _fingerprint(model_dir: str) -> Optional[bytes]:
  path = os.path.join(model_dir, _FINGERPRINT)
  return io_utils.read_bytes_file(path) if fileio.exists(path) else None


def identical_version(base_directory: str, model_dir: str) -> Optional[int]:
  """The newest complete version with the same SavedModel fingerprint, if
  any."""
  fingerprint = _fingerprint(model_dir)
  if fingerprint is None:
    return None
  # Not the incomplete ones: a push to object storage killed before
  # saved_model.pb leaves the fingerprint of a model TF Serving cannot load.
  for version in reversed(serving_directory.available_versions(
      base_directory)):
    if _fingerprint(os.path.join(base_directory, str(version))) == fingerprint:
      return version
  return None


def staging_name(version: int) -> str:
  return f'.{version}{_STAGING_SUFFIX}'


def remove_leftover_staging(base_directory: str) -> List[str]:
  """Deletes staging directories of pushes that were killed midway."""
  removed = []
  if fileio.exists(base_directory):
    for name in fileio.listdir(base_directory):
      name = name.rstrip('/')
      if name.startswith('.') and name.endswith(_STAGING_SUFFIX):
        fileio.rmtree(os.path.join(base_directory, name))
        removed.append(name)
  return removed


def versions_to_remove(versions: Sequence[int], keep: int,
                       protected: Sequence[int]) -> List[int]:
  """The versions beyond the newest `keep` (0 keeps all), minus `protected`."""
  if keep <= 0:
    return []
  return [v for v in sorted(versions)[:-keep] if v not in protected]


def served_versions(base_directory: str) -> List[int]:
  """What TF Serving serves from `base_directory`, by models.config if any."""
  policy = serving_directory.read_version_policy(
      serving_directory.default_model_config_path(base_directory))
  return serving_directory.select_versions(
      serving_directory.version_numbers(base_directory), policy)


def release_record(version: int, model: types.Artifact,
                   examples: Sequence[types.Artifact],
                   evaluation: Optional[types.Artifact]) -> Dict[str, Any]:
  """What `release.json` says of a pushed version."""
  record = {
      'version': version,
      'pushed_at': datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec='seconds'),
      'model': model.uri,
      'spans': sorted({resolvers.span_of(a) for a in examples}),
      'examples': [a.uri for a in examples],
  }
  if evaluation is not None:
    record['metrics'] = evaluation_lib.overall_metrics(evaluation.uri)
    record['baseline_metrics'] = evaluation_lib.overall_metrics(
        evaluation.uri, evaluation_lib.BASELINE)
  return record


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
    if not input_dict.get(standard_component_specs.MODEL_KEY):
      # LocalDagRunner skips a component whose inputs fail to resolve and
      # carries on: the Pusher then runs with nothing to push.
      raise RuntimeError(
          'The Pusher got no model: the Trainer or Evaluator did not run '
          '(look for "Input resolution error" in the run\'s log).')
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

    for name in remove_leftover_staging(base_directory):
      logging.warning('Removed %s, left by a push that did not finish.',
                      os.path.join(base_directory, name))
    version = next_version(serving_directory.version_numbers(base_directory))
    serving_path = os.path.join(base_directory, str(version))
    release = release_record(
        version, artifact_utils.get_single_instance(
            input_dict[standard_component_specs.MODEL_KEY]),
        input_dict.get(standard_component_specs.EXAMPLES_KEY) or [],
        (input_dict.get('model_evaluation') or [None])[0])
    if '://' in base_directory:
      self._copy_saved_model_last(model_path, serving_path, release)
    else:
      staging_path = os.path.join(base_directory, staging_name(version))
      io_utils.copy_dir(model_path, staging_path)
      _write_release(staging_path, release)
      os.rename(staging_path, serving_path)  # atomic on one file system
    logging.info('Model written to serving path %s.', serving_path)
    self._apply_retention(base_directory, custom_config, version)
    io_utils.copy_dir(model_path, model_push.uri)
    self._MarkPushed(model_push, pushed_destination=serving_path,
                     pushed_version=str(version))

  @staticmethod
  def _copy_saved_model_last(model_path: str, serving_path: str,
                             release: Dict[str, Any]) -> None:
    # saved_model.pb goes last: TF Serving treats its presence as "complete".
    io_utils.copy_dir(model_path, serving_path,
                      deny_regex_patterns=[r'saved_model\.pb'])
    _write_release(serving_path, release)
    io_utils.copy_file(os.path.join(model_path, 'saved_model.pb'),
                       os.path.join(serving_path, 'saved_model.pb'))

  @staticmethod
  def _apply_retention(base_directory: str, custom_config: Dict[str, Any],
                       pushed: int) -> None:
    keep = int(custom_config.get(KEEP_VERSIONS_KEY) or 0)
    protected = set(served_versions(base_directory)) | {pushed}
    for old in versions_to_remove(
        serving_directory.version_numbers(base_directory), keep,
        sorted(protected)):
      logging.info('Retention (keep %d): removing version %d.', keep, old)
      fileio.rmtree(os.path.join(base_directory, str(old)))


def _write_release(version_dir: str, release: Dict[str, Any]) -> None:
  path = serving_directory.assets_extra_path(version_dir, contract.RELEASE_FILE)
  fileio.makedirs(os.path.dirname(path))
  with fileio.open(path, 'w') as f:
    f.write(json.dumps(release, indent=2, sort_keys=True))
