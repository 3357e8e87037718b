"""The Pusher executor: growing versions, no duplicate pushes."""

import os

import pytest
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.utils import json_utils
from tfx.utils import proto_utils

from components.pusher import executor


def test_next_version_grows_past_existing_and_clock():
  assert executor.next_version([], now_s=100.7) == 100
  assert executor.next_version([5, 200], now_s=100) == 201
  assert executor.next_version([5], now_s=100) == 100


def _model(tmp_path, name, fingerprint):
  model = standard_artifacts.Model()
  model.uri = str(tmp_path / name)
  serving = os.path.join(model.uri, 'Format-Serving')
  os.makedirs(os.path.join(serving, 'variables'))
  for file_name, content in (('saved_model.pb', b'graph'),
                             ('fingerprint.pb', fingerprint),
                             ('variables/variables.index', b'v')):
    with open(os.path.join(serving, file_name), 'wb') as f:
      f.write(content)
  return model


def _push(tmp_path, model, base, push_identical=False, blessed=True):
  blessing = standard_artifacts.ModelBlessing()
  blessing.uri = str(tmp_path / 'blessing')
  blessing.set_int_custom_property('blessed', int(blessed))
  pushed = standard_artifacts.PushedModel()
  pushed.uri = str(tmp_path / f'pushed_{len(os.listdir(tmp_path))}')
  executor.Executor().Do(
      {standard_component_specs.MODEL_KEY: [model],
       standard_component_specs.MODEL_BLESSING_KEY: [blessing]},
      {standard_component_specs.PUSHED_MODEL_KEY: [pushed]},
      {standard_component_specs.PUSH_DESTINATION_KEY:
           proto_utils.proto_to_json(pusher_pb2.PushDestination(
               filesystem=pusher_pb2.PushDestination.Filesystem(
                   base_directory=base))),
       standard_component_specs.CUSTOM_CONFIG_KEY: json_utils.dumps(
           {executor.PUSH_IDENTICAL_KEY: push_identical})})
  return pushed


def test_push_writes_a_new_version_and_never_overwrites(tmp_path):
  base = str(tmp_path / 'serving')
  os.makedirs(os.path.join(base, '99999999999'))  # a version from the future
  first = _push(tmp_path, _model(tmp_path, 'm1', b'one'), base)
  assert first.get_int_custom_property('pushed') == 1
  assert executor.existing_versions(base) == [99999999999, 100000000000]
  new_dir = os.path.join(base, '100000000000')
  assert open(os.path.join(new_dir, 'saved_model.pb'), 'rb').read() == b'graph'
  assert os.path.exists(os.path.join(new_dir, 'variables', 'variables.index'))
  assert os.listdir(os.path.join(base, '99999999999')) == []


def test_identical_model_is_not_pushed_again_unless_asked(tmp_path):
  base = str(tmp_path / 'serving')
  model = _model(tmp_path, 'm1', b'same')
  _push(tmp_path, model, base)
  [version] = executor.existing_versions(base)
  again = _push(tmp_path, model, base)
  assert again.get_int_custom_property('pushed') == 0
  assert again.get_string_custom_property('identical_to_version') == str(
      version)
  assert executor.existing_versions(base) == [version]
  forced = _push(tmp_path, model, base, push_identical=True)
  assert forced.get_int_custom_property('pushed') == 1
  assert len(executor.existing_versions(base)) == 2
  other = _push(tmp_path, _model(tmp_path, 'm2', b'different'), base)
  assert other.get_int_custom_property('pushed') == 1
  assert len(executor.existing_versions(base)) == 3


def test_unblessed_model_is_not_pushed(tmp_path):
  base = str(tmp_path / 'serving')
  pushed = _push(tmp_path, _model(tmp_path, 'm', b'x'), base, blessed=False)
  assert pushed.get_int_custom_property('pushed') == 0
  assert executor.existing_versions(base) == []
