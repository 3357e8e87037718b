"""TF Serving's REST API (serving/api.py) over the versions a VersionManager
serves, on tiny SavedModels: model status, metadata, labels, errors, and the
faults a serving directory and its config file can have. No server process:
api.handle is what the server's /v1 route calls."""

import json
import os
import shutil
import threading
import time

from google.protobuf import json_format
import pytest
from tensorflow.core.protobuf import saved_model_pb2

import contract
from contract import serving_directory
from serving import api
from serving import version_manager
from serving_support import push

NAME = contract.MODEL_NAME
MODEL = f'/v1/models/{NAME}'


@pytest.fixture
def manager(serving_dir):
  manager = version_manager.VersionManager(
      NAME, str(serving_dir),
      serving_directory.default_model_config_path(str(serving_dir)))
  manager.refresh()
  return manager


def get(manager, path):
  return api.handle(manager, 'GET', path, b'')


def post(manager, path, body):
  raw = body if isinstance(body, bytes) else json.dumps(body).encode()
  return api.handle(manager, 'POST', path, raw)


def probability(manager, path=MODEL + ':predict'):
  status, body = post(manager, path, {'instances': ['a review']})
  assert status == 200, body
  return body['predictions'][0][contract.PROBABILITY_OUTPUT_KEY]


def write_config(serving_dir, text):
  (serving_dir.parent / 'models.config').write_bytes(
      text.encode() if isinstance(text, str) else text)


def pin(serving_dir, version):
  write_config(serving_dir, serving_directory.model_config_text(
      str(serving_dir), pinned=version))


def ok(version, state='AVAILABLE'):
  return {'version': str(version), 'state': state,
          'status': {'error_code': 'OK', 'error_message': ''}}


def test_model_status_is_tf_servings(manager, serving_dir, tiny_models):
  assert get(manager, MODEL) == (200, {'model_version_status': [ok(1)]})
  assert get(manager, MODEL + '/versions/1') == (
      200, {'model_version_status': [ok(1)]})
  push(serving_dir, 2, 2, tiny_models)
  manager.refresh()
  # Newest first, the replaced version END, as TF Serving's monitor keeps it.
  assert get(manager, MODEL) == (200, {'model_version_status': [
      ok(2), ok(1, 'END')]})
  assert get(manager, MODEL + '/versions/7') == (
      404, {'error': f'Could not find version 7 of model {NAME}'})
  assert get(manager, '/v1/models/other') == (
      404, {'error': 'Could not find any versions of model other'})


def test_a_version_loading_is_reported_loading(serving_dir, tiny_models):
  loading, release = threading.Event(), threading.Event()

  def slow_loader(version_dir, version):
    if version == 2:
      loading.set()
      release.wait(30)
    return version_manager.load_version(version_dir, version)

  manager = version_manager.VersionManager(
      NAME, str(serving_dir), str(serving_dir.parent / 'models.config'),
      loader=slow_loader)
  manager.refresh()
  push(serving_dir, 2, 2, tiny_models)
  refresh = threading.Thread(target=manager.refresh)
  refresh.start()
  try:
    assert loading.wait(30)
    assert get(manager, MODEL)[1]['model_version_status'] == [
        ok(2, 'LOADING'), ok(1)]
    assert probability(manager) == 0.25  # the old one answers meanwhile
  finally:
    release.set()
    refresh.join(30)
  assert probability(manager) == 0.75


def test_metadata_is_the_savedmodels_signature_defs(manager, serving_dir):
  status, body = get(manager, MODEL + '/metadata')
  assert status == 200
  assert body['model_spec'] == {'name': NAME, 'signature_name': '',
                                'version': '1'}
  saved_model = saved_model_pb2.SavedModel()
  saved_model.ParseFromString((serving_dir / '1' / 'saved_model.pb')
                              .read_bytes())
  signature_defs = saved_model.meta_graphs[0].signature_def
  assert body['metadata'] == {'signature_def': {'signature_def': {
      name: json_format.MessageToDict(
          signature_def, preserving_proto_field_name=True,
          including_default_value_fields=True)
      for name, signature_def in signature_defs.items()}}}
  serving = body['metadata']['signature_def']['signature_def'][
      contract.SERVING_SIGNATURE]
  assert serving['inputs']['text']['dtype'] == 'DT_STRING'
  assert serving['inputs']['text']['tensor_shape'] == {
      'dim': [{'size': '-1', 'name': ''}], 'unknown_rank': False}
  assert serving['method_name'] == 'tensorflow/serving/predict'
  assert get(manager, MODEL + '/versions/1/metadata') == (status, body)
  assert get(manager, MODEL + '/versions/9/metadata') == (404, {
      'error': f'Servable not found for request: Specific({NAME}, 9)'})


def test_labels_come_from_models_config(manager, serving_dir, tiny_models):
  assert post(manager, MODEL + '/labels/stable:predict',
              {'instances': ['x']}) == (
                  400, {'error': 'Unrecognized servable version label: '
                                 'stable'})
  push(serving_dir, 2, 2, tiny_models)
  manager.refresh()
  # What `make rollback` writes: version 1 pinned and labelled stable.
  write_config(serving_dir, serving_directory.model_config_text(
      str(serving_dir), pinned=1, canary=2))
  manager.refresh()
  assert manager.labels == {'stable': 1, 'canary': 2}
  assert probability(manager, MODEL + '/labels/stable:predict') == 0.25
  assert probability(manager, MODEL + '/labels/canary:predict') == 0.75
  assert get(manager, MODEL + '/labels/stable') == (
      200, {'model_version_status': [ok(1)]})
  status, body = get(manager, MODEL + '/labels/canary/metadata')
  assert status == 200 and body['model_spec']['version'] == '2'


def test_a_label_waits_for_its_version_to_be_available(manager, serving_dir):
  write_config(serving_dir, serving_directory.model_config_text(
      str(serving_dir), pinned=1))
  manager.refresh()
  text = (serving_dir.parent / 'models.config').read_text()
  # Label a version that is not served: TF Serving refuses the new labels.
  write_config(serving_dir, text.replace('value: 1', 'value: 5'))
  manager.refresh()
  assert manager.labels == {'stable': 1}


@pytest.mark.parametrize('body, message', [
    (b'[1,2]', 'JSON Value: [1,2] Is not object'),
    (b'', 'JSON Parse error: The document is empty'),
    (b'{"instances": [', 'JSON Parse error'),
    (b'\xff\xfe', 'JSON Parse error'),
    ({'instance': ['a']}, "Missing 'inputs' or 'instances' key"),
    ({'instances': 'a'}, "Expecting 'instances' to be an list/array"),
    ({'instances': []}, "No values in 'instances' array"),
    ({'instances': ['a'], 'inputs': ['a']}, 'expecting only one of'),
    ({'signature_name': 5, 'instances': ['a']}, "'signature_name' key must"),
    ({'instances': [{'b64': 5}]}, 'not formatted correctly for base64 data'),
    ({'instances': [{'b64': 'not base64!'}]}, 'Unable to base64 decode'),
    ({'instances': [5]}, 'is not of expected type: string'),
    ({'instances': [['a', 'b']]}, "input 'text' has shape [1,2]"),
    ({'instances': [[['a']], 'b']}, 'Expecting shape [1,1] but got: []'),
    ({'instances': [{'txt': 'a'}]}, 'does not have named input: txt'),
    ({'instances': ['a', {'text': 'b'}]}, 'Expecting value/list but got'),
    ({'inputs': {'txt': ['a']}}, "Missing named input: text in 'inputs'"),
    ({'signature_name': 'pair', 'instances': ['a']}, 'instances is a plain'),
    ({'signature_name': 'pair', 'instances': [{'a': 'x', 'b': [1]}]},
     "input 'b' has shape [1,1]; the signature takes [-1,2]"),
    ({'signature_name': 'pair', 'instances': [{'a': 'x', 'b': ['1', 2]}]},
     'is not of expected type: float'),
    ({'signature_name': contract.EXAMPLES_SIGNATURE, 'instances': ['junk']},
     'Feature: text (data type: string) is required'),
    ({'signature_name': 'nope', 'instances': ['a']},
     'Serving signature name: "nope" not found in signature def'),
])
def test_client_errors_are_400_with_tf_servings_message(
    manager, serving_dir, body, message):
  status, answer = post(manager, MODEL + ':predict', body)
  assert status == 400
  assert list(answer) == ['error'] and message in answer['error']
  assert 'Traceback' not in answer['error']
  assert str(serving_dir.parent.parent) not in answer['error']


def test_unknown_models_versions_and_paths(manager):
  request = {'instances': ['a']}
  assert post(manager, MODEL + '/versions/9:predict', request) == (
      404, {'error': f'Servable not found for request: Specific({NAME}, 9)'})
  assert post(manager, '/v1/models/other:predict', request) == (
      404, {'error': 'Servable not found for request: Latest(other)'})
  assert get(manager, '/v1/models') == (
      400, {'error': 'Missing model name in request.'})
  assert get(manager, MODEL + ':predict') == (
      400, {'error': f'Malformed request: GET {MODEL}:predict'})
  assert api.handle(manager, 'PUT', MODEL, b'') == (
      400, {'error': f'Malformed request: PUT {MODEL}'})
  status, body = post(manager, MODEL + ':classify', request)
  assert status == 400 and 'Expected classification signature' in (
      body['error'])


def test_unexpected_failures_are_500_without_details(manager, monkeypatch,
                                                     caplog):
  def broken(*unused_args, **unused_kwargs):
    raise KeyError('/very/secret/server/path')

  monkeypatch.setattr(manager, 'resolve', broken)
  status, body = post(manager, MODEL + ':predict', {'instances': ['a']})
  assert status == 500 and 'secret' not in body['error']
  assert 'secret' in caplog.text  # the log has it


def test_server_paths_are_redacted(manager, serving_dir):
  assert manager.redact(f'cannot read {serving_dir}/3/saved_model.pb and '
                        '/etc/passwd') == (
                            f'cannot read {NAME}/3/saved_model.pb and <path>')


def test_a_non_utf8_config_is_logged_and_survived(manager, serving_dir,
                                                  tiny_models, caplog):
  push(serving_dir, 2, 2, tiny_models)
  manager.refresh()
  write_config(serving_dir, b'model_config_list { config { name: "\xff" } }')
  manager.refresh()
  assert 'not UTF-8' in caplog.text and 'models.config' in caplog.text
  assert manager.served_versions == [2]
  pin(serving_dir, 1)  # a good config again is followed
  manager.refresh()
  assert manager.served_versions == [1] and probability(manager) == 0.25


def test_the_poller_survives_any_error(manager, serving_dir, monkeypatch):
  calls = []
  real = version_manager.serving_directory.available_versions

  def flaky(directory):
    calls.append(1)
    if len(calls) <= 2:
      raise RuntimeError('a passing fault')
    return real(directory)

  monkeypatch.setattr(version_manager.serving_directory,
                      'available_versions', flaky)

  def after_refresh():
    if len(calls) == 1:
      raise ValueError('so does a failing callback')

  stop = manager.start_polling(0.05, after_refresh)
  try:
    pin(serving_dir, 1)
    deadline = time.monotonic() + 10
    while len(calls) < 4 and time.monotonic() < deadline:
      time.sleep(0.05)
  finally:
    stop.set()
  assert len(calls) >= 4  # polled on after the errors
  assert manager.labels == {'stable': 1}


@pytest.mark.parametrize('damage', ['truncated graph', 'no assets yet'])
def test_an_incomplete_new_version_leaves_the_old_one_serving(
    manager, serving_dir, tiny_models, damage):
  new = serving_dir / '2'
  if damage == 'truncated graph':
    shutil.copytree(tiny_models[2], new, ignore=shutil.ignore_patterns(
        'saved_model.pb'))
    data = open(os.path.join(tiny_models[2], 'saved_model.pb'), 'rb').read()
    (new / 'saved_model.pb').write_bytes(data[:len(data) // 3])
  else:
    shutil.copytree(tiny_models[2], new, ignore=shutil.ignore_patterns(
        'assets'))
  manager.refresh()
  assert manager.served_versions == [1]
  assert probability(manager) == 0.25
  statuses = get(manager, MODEL)[1]['model_version_status']
  assert statuses[1] == ok(1)
  assert statuses[0]['version'] == '2' and statuses[0]['state'] == 'END'
  assert statuses[0]['status']['error_code'] != 'OK'
  assert str(serving_dir) not in statuses[0]['status']['error_message']
  manager.refresh()  # unchanged: not loaded again
  assert manager.served_versions == [1]
  # The copy completes: loaded at the next refresh, then swapped in.
  shutil.rmtree(new)
  push(serving_dir, 2, 2, tiny_models)
  manager.refresh()
  assert manager.served_versions == [2] and probability(manager) == 0.75
  assert get(manager, MODEL)[1]['model_version_status'] == [
      ok(2), ok(1, 'END')]
