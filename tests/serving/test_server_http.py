"""The local model server process (its own venv) on tiny models: TF
Serving's REST API over HTTP, a rollback's `stable` label, and the faults
that used to stop it following the serving directory."""

import json
import shutil

import pytest

import contract
from serving import releases
from serving import verify
from serving_support import Server, http, push, wait_for

NAME = contract.MODEL_NAME


@pytest.fixture(scope='module')
def server(serving_python, tiny_models, tmp_path_factory):
  root = tmp_path_factory.mktemp('http')
  serving_dir = root / 'serving' / NAME
  serving_dir.mkdir(parents=True)
  shutil.copytree(tiny_models[1], serving_dir / '1')
  process = Server(serving_python, serving_dir, root / 'server.log',
                   '--poll-seconds', '0.2')
  try:
    process.wait_until_serving()
    process.serving_dir = serving_dir
    process.output_dir = root
    yield process
  finally:
    process.stop()


def predict(server, path='', body=None):
  return http('POST', f'{server.model_url}{path}:predict',
              body or {'instances': ['A review.']})


def served_probability(server, path=''):
  status, body = predict(server, path)
  return body['predictions'][0][contract.PROBABILITY_OUTPUT_KEY] \
      if status == 200 else None


def test_status_metadata_and_errors_over_http(server):
  assert http('GET', server.model_url) == (200, {'model_version_status': [
      {'version': '1', 'state': 'AVAILABLE',
       'status': {'error_code': 'OK', 'error_message': ''}}]})
  status, body = http('GET', f'{server.model_url}/versions/1/metadata')
  assert status == 200
  assert body['model_spec'] == {'name': NAME, 'signature_name': '',
                                'version': '1'}
  assert contract.SERVING_SIGNATURE in body['metadata']['signature_def'][
      'signature_def']
  assert predict(server, body=b'[1,2]') == (
      400, {'error': 'JSON Value: [1,2] Is not object'})
  status, body = predict(server, body={'signature_name': 'nope',
                                       'instances': ['a']})
  assert status == 400 and str(server.serving_dir) not in body['error']
  assert predict(server, '/versions/9') == (404, {
      'error': f'Servable not found for request: Specific({NAME}, 9)'})
  assert http('GET', f'{server.model_url}/versions/9') == (404, {
      'error': f'Could not find version 9 of model {NAME}'})
  assert http('PUT', server.model_url, b'') == (400, {
      'error': f'Malformed request: PUT /v1/models/{NAME}'})


def test_a_rollback_serves_the_stable_label(server, tiny_models):
  push(server.serving_dir, 2, 2, tiny_models)
  wait_for(lambda: served_probability(server) == 0.75, 'version 2')
  assert releases.main(['--output-dir', str(server.output_dir), 'rollback',
                        '1']) == 0
  try:
    wait_for(lambda: served_probability(server, '/labels/stable') == 0.25,
             'the stable label')
    assert served_probability(server) == 0.25
    status, body = http('GET', f'{server.model_url}/labels/stable')
    assert status == 200
    assert [v['version'] for v in body['model_version_status']] == ['1']
  finally:
    assert releases.main(['--output-dir', str(server.output_dir),
                          'latest']) == 0
  wait_for(lambda: served_probability(server) == 0.75, 'version 2 again')


def test_faults_leave_the_served_version_serving(server, tiny_models):
  before = served_probability(server)
  assert before is not None
  # A newest version without its assets yet: the old one keeps answering.
  shutil.copytree(tiny_models[1], server.serving_dir / '5',
                  ignore=shutil.ignore_patterns('assets'))
  wait_for(lambda: 'Cannot load version 5' in server.log(), 'a failed load')
  assert served_probability(server) == before
  status, body = http('GET', f'{server.model_url}/versions/5')
  assert status == 200
  assert body['model_version_status'][0]['state'] == 'END'
  shutil.rmtree(server.serving_dir / '5')
  # A config file that is not UTF-8: logged, survived, and a good one after
  # it is followed (the poller lives on).
  config = server.serving_dir.parent / 'models.config'
  config.write_bytes(b'model_config_list { config { name: "\xff" } }')
  wait_for(lambda: 'not UTF-8' in server.log(), 'the config error')
  assert served_probability(server) == before
  assert releases.main(['--output-dir', str(server.output_dir), 'rollback',
                        '1']) == 0
  wait_for(lambda: served_probability(server) == 0.25, 'the rollback')
  assert 'Traceback' not in server.log()


def test_verify_names_a_request_the_server_refuses(server, capsys):
  version_dir = server.serving_dir / '1'  # served: pinned by the rollback
  extra = version_dir / 'assets.extra'
  extra.mkdir(exist_ok=True)
  path = extra / contract.VERIFICATION_FILE
  good = {'request': {'instances': ['A review.']},
          'response': {'predictions': [{contract.PROBABILITY_OUTPUT_KEY:
                                        0.25}]}}
  nested = {'request': {'instances': [['A', 'review.']]},
            'response': good['response']}
  path.write_text(json.dumps(good) + '\n')
  assert verify.main(['--server', server.url, '--model-dir',
                      str(version_dir)]) == 0
  path.write_text(json.dumps(good) + '\n' + json.dumps(nested) + '\n')
  assert verify.main(['--server', server.url, '--model-dir',
                      str(version_dir)]) == 2
  err = capsys.readouterr().err
  assert err.startswith(f'error: {path}:2: the request gets no answer from ')
  assert "HTTP 400: {\"error\":\"input 'text' has shape [1,2]" in err
