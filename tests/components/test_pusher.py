"""The Pusher executor: growing versions, no duplicate pushes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import imdb_data
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.utils import json_utils
from tfx.utils import proto_utils

from components.pusher import executor
from contract import serving_directory


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


def _push(tmp_path, model, base, push_identical=False, blessed=True,
          keep_versions=0):
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
           {executor.PUSH_IDENTICAL_KEY: push_identical,
            executor.KEEP_VERSIONS_KEY: keep_versions})})
  return pushed


def test_push_writes_a_new_version_and_never_overwrites(tmp_path):
  base = str(tmp_path / 'serving')
  os.makedirs(os.path.join(base, '99999999999'))  # a version from the future
  first = _push(tmp_path, _model(tmp_path, 'm1', b'one'), base)
  assert first.get_int_custom_property('pushed') == 1
  assert serving_directory.version_numbers(base) == [99999999999, 100000000000]
  new_dir = os.path.join(base, '100000000000')
  assert open(os.path.join(new_dir, 'saved_model.pb'), 'rb').read() == b'graph'
  assert os.path.exists(os.path.join(new_dir, 'variables', 'variables.index'))
  assert os.listdir(os.path.join(base, '99999999999')) == []


def test_identical_model_is_not_pushed_again_unless_asked(tmp_path):
  base = str(tmp_path / 'serving')
  model = _model(tmp_path, 'm1', b'same')
  _push(tmp_path, model, base)
  [version] = serving_directory.version_numbers(base)
  again = _push(tmp_path, model, base)
  assert again.get_int_custom_property('pushed') == 0
  assert again.get_string_custom_property('identical_to_version') == str(
      version)
  assert serving_directory.version_numbers(base) == [version]
  forced = _push(tmp_path, model, base, push_identical=True)
  assert forced.get_int_custom_property('pushed') == 1
  assert len(serving_directory.version_numbers(base)) == 2
  other = _push(tmp_path, _model(tmp_path, 'm2', b'different'), base)
  assert other.get_int_custom_property('pushed') == 1
  assert len(serving_directory.version_numbers(base)) == 3


def test_a_version_without_saved_model_pb_is_not_identical(tmp_path):
  """What a push to object storage killed midway leaves: everything but
  saved_model.pb, the fingerprint included. The model is pushed again."""
  base = str(tmp_path / 'serving')
  model = _model(tmp_path, 'm1', b'same')
  os.makedirs(os.path.join(base, '5'))
  with open(os.path.join(base, '5', 'fingerprint.pb'), 'wb') as f:
    f.write(b'same')
  pushed = _push(tmp_path, model, base)
  assert pushed.get_int_custom_property('pushed') == 1
  assert serving_directory.available_versions(base) == [
      serving_directory.version_numbers(base)[-1]]


def test_unblessed_model_is_not_pushed(tmp_path):
  base = str(tmp_path / 'serving')
  pushed = _push(tmp_path, _model(tmp_path, 'm', b'x'), base, blessed=False)
  assert pushed.get_int_custom_property('pushed') == 0
  assert serving_directory.version_numbers(base) == []


def test_release_json_names_version_spans_and_model(tmp_path):
  base = str(tmp_path / 'serving')
  model = _model(tmp_path, 'm1', b'one')
  pushed = _push(tmp_path, model, base)
  [version] = serving_directory.version_numbers(base)
  with open(os.path.join(base, str(version), 'assets.extra',
                         'release.json')) as f:
    release = json.load(f)
  assert release['version'] == version
  assert release['model'] == model.uri
  assert release['spans'] == []  # no examples given to this push
  assert pushed.get_string_custom_property('pushed_version') == str(version)


def test_retention_keeps_newest_and_the_served_version(tmp_path):
  base = str(tmp_path / 'serving')
  for version in (1, 2, 3):
    os.makedirs(os.path.join(base, str(version)))
  # models.config pins version 1 (a rollback): it must survive retention.
  with open(os.path.join(tmp_path, 'models.config'), 'w') as f:
    f.write(serving_directory.model_config_text(base, pinned=1))
  _push(tmp_path, _model(tmp_path, 'm1', b'one'), base, keep_versions=2)
  kept = serving_directory.version_numbers(base)
  assert kept[0] == 1 and 2 not in kept and len(kept) == 3, kept
  assert executor.versions_to_remove([1, 2, 3], keep=0, protected=[]) == []


def test_leftover_staging_of_a_killed_push_is_removed(tmp_path):
  base = str(tmp_path / 'serving')
  leftover = os.path.join(base, executor.staging_name(7))
  os.makedirs(os.path.join(leftover, 'variables'))
  _push(tmp_path, _model(tmp_path, 'm1', b'one'), base)
  assert not os.path.exists(leftover)
  assert len(serving_directory.version_numbers(base)) == 1


_KILLABLE_PUSH = '''
import os, sys, time
from tfx.utils import io_utils
copy_dir = io_utils.copy_dir
def slow_copy_dir(src, dst, *args, **kwargs):
  copy_dir(src, dst, *args, **kwargs)
  open(sys.argv[2], 'w').close()  # tells the test the copy is under way
  time.sleep(600)
io_utils.copy_dir = slow_copy_dir
import test_pusher
test_pusher._push_for_kill(sys.argv[1])
'''


def _push_for_kill(root):
  import pathlib  # pylint: disable=g-import-not-at-top
  root = pathlib.Path(root)
  _push(root, _model(root, 'm1', b'one'), str(root / 'serving'))


def test_a_push_killed_midway_leaves_no_version(tmp_path):
  """SIGKILL while the model is being copied: nothing integer-named appears,
  so neither TF Serving nor the local server can load a partial model."""
  started = tmp_path / 'copying'
  process = subprocess.Popen(
      [sys.executable, '-c', _KILLABLE_PUSH, str(tmp_path), str(started)],
      cwd=imdb_data.PROJECT_ROOT,
      # The project, tests/ (helpers) and this folder (this module).
      env=dict(os.environ, PYTHONPATH=os.pathsep.join(
          [imdb_data.PROJECT_ROOT, os.path.join(imdb_data.PROJECT_ROOT, 'tests'),
           os.path.dirname(os.path.abspath(__file__))])))
  try:
    deadline = time.time() + 300
    while not started.exists():
      assert process.poll() is None, 'the push exited before copying'
      assert time.time() < deadline, 'the push never started copying'
      time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
  finally:
    if process.poll() is None:
      process.kill()
  base = str(tmp_path / 'serving')
  names = os.listdir(base)
  assert serving_directory.version_numbers(base) == []
  assert serving_directory.available_versions(base) == []
  assert len(names) == 1 and names[0].endswith('.partial'), names
