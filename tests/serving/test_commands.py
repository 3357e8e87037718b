"""`make verify`, `make predict` and `make versions` on unusable input: a
clear error naming the file and the problem, exit status 2 (1 stays a
mismatch, or a failed prediction), and no traceback."""

import json
import shutil

import pytest

import contract
from serving import predict
from serving import releases
from serving import verify
from serving.saved_model import ServedVersion

REVIEWS = ['A fine film.', 'A dull one.']


@pytest.fixture
def version_dir(serving_dir):
  """Tiny version 1 with a verification file of its own answers."""
  directory = serving_dir / '1'
  served = ServedVersion(str(directory))
  extra = directory / 'assets.extra'
  extra.mkdir()
  with open(extra / contract.VERIFICATION_FILE, 'w') as f:
    for review in REVIEWS:
      request = {'signature_name': contract.SERVING_SIGNATURE,
                 'instances': [review]}
      f.write(json.dumps({'request': request,
                          'response': served.answer(request)}) + '\n')
  return directory


def samples_path(version_dir):
  return version_dir / 'assets.extra' / contract.VERIFICATION_FILE


def edit_samples(version_dir, edit):
  path = samples_path(version_dir)
  samples = [json.loads(line) for line in path.read_text().splitlines()]
  edit(samples)
  path.write_text(''.join(json.dumps(s) + '\n' for s in samples))


def run(main, argv, capsys):
  code = main(argv)
  out, err = capsys.readouterr()
  assert 'Traceback' not in out + err
  return code, out, err


def test_verify_passes_on_its_own_answers(version_dir, capsys):
  code, out, _ = run(verify.main, ['--model-dir', str(version_dir)], capsys)
  assert code == 0 and 'OK: every answer matches' in out


@pytest.mark.parametrize('request_, message', [
    ('a review', '"request" must be a predict request (a JSON object), not '
     'a string'),
    ({'instances': [['a review']]}, "the request gets no answer from "),
    ({'request': {'instances': ['a review']}},
     "Missing 'inputs' or 'instances' key"),
])
def test_verify_names_an_unusable_request(version_dir, capsys, request_,
                                          message):
  def edit(samples):
    samples[1]['request'] = request_
  edit_samples(version_dir, edit)
  code, _, err = run(verify.main, ['--model-dir', str(version_dir)], capsys)
  assert code == 2
  assert err.startswith(f'error: {samples_path(version_dir)}:2: ')
  assert message in err


def test_verify_names_a_non_utf8_file(version_dir, capsys):
  path = samples_path(version_dir)
  path.write_bytes(path.read_bytes() + b'{"request": "caf\xe9"}\n')
  code, _, err = run(verify.main, ['--model-dir', str(version_dir)], capsys)
  assert code == 2
  assert f'{path}:3: not UTF-8 text' in err


def test_verify_and_predict_name_a_garbage_saved_model(version_dir, capsys):
  (version_dir / 'saved_model.pb').write_bytes(b'not a protocol buffer')
  code, _, err = run(verify.main, ['--model-dir', str(version_dir)], capsys)
  assert code == 2
  assert f'{version_dir}/saved_model.pb: not a SavedModel' in err
  code, _, err = run(predict.main, ['--model-dir', str(version_dir),
                                    *REVIEWS], capsys)
  assert code == 2
  assert f'{version_dir}/saved_model.pb: not a SavedModel' in err


def test_a_model_that_does_not_load_is_named(version_dir, capsys):
  shutil.rmtree(version_dir / 'assets')
  code, _, err = run(predict.main, ['--model-dir', str(version_dir),
                                    REVIEWS[0]], capsys)
  assert code == 2
  assert f'error: {version_dir}: cannot load the SavedModel: ' in err
  assert 'labels.txt' in err


def test_an_empty_expectation_is_a_mismatch(version_dir, capsys):
  def edit(samples):
    samples[0]['response']['predictions'] = [{}]
    samples[1]['response']['predictions'] = []
  edit_samples(version_dir, edit)
  code, out, _ = run(verify.main, ['--model-dir', str(version_dir)], capsys)
  assert code == 1
  assert 'line 1: [0]: the expected answer is {}, which checks nothing' in out
  assert 'line 2: expected no predictions, which checks nothing' in out


def test_predict_exit_statuses(version_dir, tmp_path, capsys):
  code, out, _ = run(predict.main, ['--model-dir', str(version_dir),
                                    *REVIEWS], capsys)
  assert code == 0 and len(out.splitlines()) == 2
  code, _, err = run(predict.main, ['--model-dir', str(tmp_path / 'none'),
                                    REVIEWS[0]], capsys)
  assert code == 2 and 'none: no such directory' in err
  path = tmp_path / 'reviews.txt'
  path.write_bytes(b'caf\xe9\n')
  code, _, err = run(predict.main, ['--model-dir', str(version_dir),
                                    '--file', str(path)], capsys)
  assert code == 2 and f'{path}: not UTF-8 text' in err


def write_release(version_dir, text):
  (version_dir / 'assets.extra').mkdir(exist_ok=True)
  (version_dir / 'assets.extra' / contract.RELEASE_FILE).write_bytes(
      text.encode() if isinstance(text, str) else text)


@pytest.mark.parametrize('text, problem', [
    ('{\n  "spans": [1],\n', 'not valid JSON: Expecting'),
    (b'{"pushed_at": "caf\xe9"}', 'not UTF-8 text (byte 18)'),
    ('[1, 2]', 'not a JSON object but list'),
    ('{"spans": "1,2"}', '"spans" is not a list of integers: "1,2"'),
    ('{"metrics": {"probability/auc": "high"}}',
     "metric 'probability/auc' is not a number: \"high\""),
])
def test_versions_names_a_bad_release_file(serving_dir, capsys, text,
                                           problem):
  write_release(serving_dir / '1', text)
  output_dir = str(serving_dir.parent.parent)
  code, out, err = run(releases.main, ['--output-dir', output_dir, 'list'],
                       capsys)
  assert code == 2
  path = serving_dir / '1' / 'assets.extra' / contract.RELEASE_FILE
  assert f'error: {path}: {problem}' in err
  assert out.splitlines()[1].startswith('1 ')  # still listed


def test_versions_lists_good_release_files(serving_dir, capsys):
  write_release(serving_dir / '1', json.dumps({
      'spans': [3], 'pushed_at': '2026-12-01T10:00:00',
      'metrics': {'probability/auc': 0.91}}))
  code, out, err = run(releases.main, [
      '--output-dir', str(serving_dir.parent.parent), 'list'], capsys)
  assert code == 0 and not err
  assert out.splitlines()[1].split()[:4] == ['1', '*', '3',
                                             '2026-12-01T10:00:00']
  assert '0.9100' in out


def test_versions_names_an_unusable_config_file(serving_dir, capsys):
  config = serving_dir.parent / 'models.config'
  config.write_bytes(b'model_config_list { config { name: "\xff" } }')
  code, _, err = run(releases.main, [
      '--output-dir', str(serving_dir.parent.parent), 'list'], capsys)
  assert code == 2
  assert f'error: {config}: not UTF-8 text (byte 36' in err
