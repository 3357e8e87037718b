"""The local model server (KServe, its own venv) on a free loopback port, and
`predict` / `verify` over its REST API and over the SavedModel itself.

The served directory holds the version the small real run pushed and, as an
older version, a stand-in model that answers a constant, so that which
version answers is visible: new pushes are picked up, and a models.config
`specific` policy (a rollback) pins the older one.
"""

import collections
import contextlib
import io
import json
import os
import shutil
import threading
import time

import pytest
import tensorflow as tf

import contract
from serving import predict
from serving import releases
from serving import verify
from serving_support import Server, free_loopback_port, http, wait_for

pytestmark = pytest.mark.e2e

STAND_IN_VERSION = 1
STAND_IN_PROBABILITY = 0.25
REVIEWS = ['A wonderful, moving film. Loved it, a masterpiece!',
           'Boring and awful, the worst waste of two hours.']


def _write_stand_in_model(model_dir: str) -> None:
  """A SavedModel with the served contract that answers a constant."""

  class StandIn(tf.Module):

    @tf.function(input_signature=[tf.TensorSpec(
        [None], tf.string, name=contract.SERVING_INPUT_KEY)])
    def serve(self, text):
      size = tf.shape(text)[:1]
      return {contract.PROBABILITY_OUTPUT_KEY:
                  tf.fill(size, STAND_IN_PROBABILITY),
              contract.LABEL_OUTPUT_KEY: tf.fill(size, contract.LABEL_NAMES[0])}

  module = StandIn()
  tf.saved_model.save(module, model_dir, signatures={
      contract.SERVING_SIGNATURE: module.serve.get_concrete_function()})


def _post(url: str, body) -> tuple:
  return http('POST', url, body)




@pytest.fixture(scope='module')
def server(pushed_run, serving_python, tmp_path_factory):
  root = tmp_path_factory.mktemp('served')
  serving_dir = root / 'serving' / contract.MODEL_NAME
  pushed = sorted(int(v) for v in os.listdir(pushed_run.config.serving_dir))
  real_version = pushed[-1]
  _write_stand_in_model(str(serving_dir / str(STAND_IN_VERSION)))
  shutil.copytree(os.path.join(pushed_run.config.serving_dir,
                               str(real_version)),
                  serving_dir / str(real_version))
  process = Server(serving_python, serving_dir, root / 'server.log',
                   '--poll-seconds', '0.5')
  try:
    process.wait_until_serving()
    yield {'url': process.url, 'port': process.port,
           'serving_dir': serving_dir, 'version': real_version,
           'log': process.log_path, 'output_dir': root}
  finally:
    process.stop()


def _run_main(main, argv):
  stdout = io.StringIO()
  with contextlib.redirect_stdout(stdout):
    code = main(argv)
  return code, stdout.getvalue()


def _predict_url(server_info, version=None):
  version_part = f'/versions/{version}' if version is not None else ''
  return (f'{server_info["url"]}/v1/models/{contract.MODEL_NAME}'
          f'{version_part}:predict')


def test_server_listens_on_loopback_only(server):
  port_hex = f'{server["port"]:04X}'
  with open('/proc/net/tcp') as f:
    listening = [line.split()[1] for line in f.readlines()[1:]
                 if line.split()[1].endswith(':' + port_hex)
                 and line.split()[3] == '0A']  # 0A: LISTEN
  assert listening == ['0100007F:' + port_hex]  # 127.0.0.1


def test_predict_over_rest_prints_what_the_savedmodel_prints(server):
  model_dir = str(server['serving_dir'] / str(server['version']))
  code, local = _run_main(predict.main, ['--model-dir', model_dir, *REVIEWS])
  assert code == 0
  code, remote = _run_main(predict.main, ['--server', server['url'],
                                          *REVIEWS])
  assert code == 0
  assert remote == local
  lines = local.splitlines()
  assert len(lines) == 2
  assert lines[0].split()[0] == 'positive' and lines[1].split()[0] == 'negative'
  # Not the stand-in: the highest version answers by default.
  assert float(lines[0].split()[1]) != STAND_IN_PROBABILITY


def test_predict_names_a_version_in_the_rest_path(server, capsys):
  code, pinned = _run_main(predict.main, [
      '--server', server['url'], '--version', str(server['version']),
      REVIEWS[0]])
  assert code == 0
  _, default = _run_main(predict.main, ['--server', server['url'], REVIEWS[0]])
  assert pinned == default
  # As with TF Serving's default policy only the highest version is loaded.
  code, _ = _run_main(predict.main, [
      '--server', server['url'], '--version', str(STAND_IN_VERSION),
      REVIEWS[0]])
  assert code == 1
  assert (f'/v1/models/{contract.MODEL_NAME}/versions/{STAND_IN_VERSION}'
          ':predict: HTTP 404') in capsys.readouterr().err


def test_verify_replays_verification_samples_over_rest(server):
  code, out = _run_main(verify.main, [
      '--server', server['url'], '--model-dir',
      str(server['serving_dir'] / str(server['version']))])
  assert code == 0, out
  assert f'versions/{server["version"]}:predict' in out
  assert 'OK: every answer matches' in out


def test_rest_errors_are_tf_serving_style(server):
  status, body = _post(_predict_url(server), {'instance': REVIEWS})
  assert (status, body) == (400, {
      'error': "Missing 'inputs' or 'instances' key"})
  status, body = _post(_predict_url(server, 999), {'instances': REVIEWS})
  assert (status, body) == (404, {
      'error': 'Servable not found for request: '
               f'Specific({contract.MODEL_NAME}, 999)'})
  for signature in (contract.EXAMPLES_SIGNATURE,
                    contract.TRANSFORM_SIGNATURE):
    status, body = _post(_predict_url(server), {
        'signature_name': signature, 'instances': [{'b64': 'AAAA'}]})
    assert status == 400, body
    status, body = _post(_predict_url(server), {
        'signature_name': signature, 'instances': [['a', 'b']]})
    assert status == 400, body
  status, body = _post(_predict_url(server), {'inputs': {'text': REVIEWS}})
  assert status == 200
  assert set(body['outputs']) >= {contract.PROBABILITY_OUTPUT_KEY,
                                  contract.LABEL_OUTPUT_KEY}


def test_new_push_is_served_and_a_tampered_verification_file_fails(server):
  """A new version directory is picked up without a restart. Its
  verification file is altered, so verify must report the mismatch."""
  new_version = server['version'] + 1
  new_dir = server['serving_dir'] / str(new_version)
  shutil.copytree(server['serving_dir'] / str(server['version']), new_dir,
                  ignore=shutil.ignore_patterns('saved_model.pb'))
  samples_path = new_dir / 'assets.extra' / contract.VERIFICATION_FILE
  samples = [json.loads(line) for line in samples_path.read_text().splitlines()]
  samples[0]['response']['predictions'][0][
      contract.PROBABILITY_OUTPUT_KEY] += 0.01
  samples_path.write_text(''.join(json.dumps(s) + '\n' for s in samples))
  # saved_model.pb last, as the Pusher does.
  shutil.copy(server['serving_dir'] / str(server['version']) / 'saved_model.pb',
              new_dir / 'saved_model.pb')
  wait_for(lambda: _post(_predict_url(server, new_version),
                          {'instances': REVIEWS})[0] == 200,
            f'version {new_version} to be served')
  code, out = _run_main(verify.main, ['--server', server['url'], '--model-dir',
                                      str(new_dir)])
  assert code == 1
  assert 'MISMATCH: 1 difference(s)' in out
  assert 'line 1: [0]probability' in out
  code, out = _run_main(verify.main, ['--model-dir', str(new_dir)])
  assert code == 1 and 'MISMATCH' in out


def test_models_config_rolls_back_and_forward(server):
  config_path = server['serving_dir'].parent / 'models.config'
  config_path.write_text(
      'model_config_list { config { name: "imdb_sentiment" '
      f'base_path: "{server["serving_dir"]}" model_platform: "tensorflow" '
      f'model_version_policy {{ specific {{ versions: {STAND_IN_VERSION} }} }}'
      ' } }')

  def default_probability():
    status, body = _post(_predict_url(server), {'instances': REVIEWS[:1]})
    return body['predictions'][0][contract.PROBABILITY_OUTPUT_KEY] \
        if status == 200 else None

  try:
    wait_for(lambda: default_probability() == STAND_IN_PROBABILITY,
              'the rollback to the stand-in version')
    status, _ = _post(_predict_url(server, server['version']),
                      {'instances': REVIEWS[:1]})
    assert status == 404  # only the pinned version is loaded
    code, out = _run_main(predict.main, ['--server', server['url'],
                                         REVIEWS[0]])
    assert code == 0
    assert out.split()[:2] == ['negative', f'{STAND_IN_PROBABILITY:.4f}']
  finally:
    config_path.unlink()
  wait_for(lambda: default_probability() not in (None, STAND_IN_PROBABILITY),
            'the highest version to be served again')


def test_predict_reads_a_file_and_says_when_the_server_is_down(server,
                                                                tmp_path):
  path = tmp_path / 'reviews.txt'
  path.write_text('\n'.join(REVIEWS) + '\n')
  code, out = _run_main(predict.main, ['--server', server['url'],
                                       '--file', str(path), '--json'])
  assert code == 0
  rows = [json.loads(line) for line in out.splitlines()]
  assert [r['review'] for r in rows] == REVIEWS
  assert all(0 <= r[contract.PROBABILITY_OUTPUT_KEY] <= 1 for r in rows)
  closed = f'http://127.0.0.1:{free_loopback_port()}'
  code, _ = _run_main(predict.main, ['--server', closed, REVIEWS[0]])
  assert code == 1


def test_metadata_lists_the_real_signatures(server):
  status, body = http('GET', f'{server["url"]}/v1/models/'
                      f'{contract.MODEL_NAME}/metadata')
  assert status == 200
  assert int(body['model_spec']['version']) >= server['version']
  signatures = body['metadata']['signature_def']['signature_def']
  assert set(signatures) >= {
      contract.SERVING_SIGNATURE, contract.EXAMPLES_SIGNATURE,
      contract.TRANSFORM_SIGNATURE}
  assert signatures[contract.SERVING_SIGNATURE]['inputs'][
      contract.SERVING_INPUT_KEY]['dtype'] == 'DT_STRING'


CLIENTS = 4
MAX_REQUESTS_PER_CLIENT = 1000
LOAD_TIME_LIMIT_S = 30


def test_load_with_a_push_and_a_rollback_mid_run(server):
  """4 clients on loopback, one review per request, each at most
  MAX_REQUESTS_PER_CLIENT requests within LOAD_TIME_LIMIT_S; meanwhile a new
  version is pushed (copied into a staging directory, renamed into place) and
  then rolled back (models.config pins the old one). No request may fail."""
  serving_dir = server['serving_dir']
  old = max(int(v) for v in os.listdir(serving_dir) if v.isdigit())
  new = old + 1
  model_url = f'{server["url"]}/v1/models/{contract.MODEL_NAME}'
  phase = ['before the push']
  answered = collections.Counter()
  failures = []
  stop = threading.Event()
  deadline = time.monotonic() + LOAD_TIME_LIMIT_S

  def client(index):
    for _ in range(MAX_REQUESTS_PER_CLIENT):
      if stop.is_set() or time.monotonic() > deadline:
        return
      now = phase[0]
      status, body = http('POST', model_url + ':predict',
                          {'instances': [REVIEWS[index % 2]]})
      if status != 200 or len(body.get('predictions', [])) != 1:
        failures.append((now, status, body))
      answered[now] += 1

  def state(version):
    status, body = http('GET', f'{model_url}/versions/{version}')
    return body['model_version_status'][0]['state'] if status == 200 else None

  threads = [threading.Thread(target=client, args=(i,))
             for i in range(CLIENTS)]
  for thread in threads:
    thread.start()
  try:
    wait_for(lambda: answered[phase[0]] >= CLIENTS, 'the first answers')
    staging = serving_dir.parent / f'.staging-{new}'
    shutil.copytree(serving_dir / str(old), staging)
    os.rename(staging, serving_dir / str(new))
    phase[0] = 'pushed'
    wait_for(lambda: state(new) == 'AVAILABLE' and state(old) == 'END',
              f'version {new} to replace {old}', timeout_s=20)
    wait_for(lambda: answered['pushed'] >= CLIENTS, 'answers by the push')
    assert releases.main(['--output-dir', str(server['output_dir']),
                          'rollback', str(old)]) == 0
    phase[0] = 'rolled back'
    wait_for(lambda: state(old) == 'AVAILABLE' and state(new) == 'END',
              f'the rollback to {old}', timeout_s=20)
    wait_for(lambda: answered['rolled back'] >= CLIENTS,
              'answers after the rollback')
  finally:
    stop.set()
    for thread in threads:
      thread.join(timeout=60)
    shutil.rmtree(serving_dir / str(new))  # not served: pinned to old
    (serving_dir.parent / 'models.config').unlink(missing_ok=True)
  assert not failures, failures[:5]
  assert all(answered[p] >= CLIENTS for p in
             ('before the push', 'pushed', 'rolled back')), answered
  assert time.monotonic() < deadline, 'the load test ran out of time'
