"""The `explain` signature served: over HTTP by the local model server (row
and columnar formats, /metadata), and `predict --explain` over the
SavedModel and over REST, on a small real model (helpers/small_model.py)."""

import contextlib
import io
import re
import shutil

import pytest

import contract
from serving import predict
from serving.saved_model import ServedVersion
from serving_support import Server, http

NAME = contract.MODEL_NAME
REVIEWS = ['A wonderful, moving film. Loved it, a masterpiece! zzz',
           'Boring and awful, the worst waste of two hours.']
_K = contract.NUM_EXPLAINED_TERMS
_ANSI = re.compile('\x1b\\[[0-9;]*m')


@pytest.fixture(scope='module')
def server(serving_python, explained_model, tmp_path_factory):
  root = tmp_path_factory.mktemp('explain')
  serving_dir = root / 'serving' / NAME
  shutil.copytree(explained_model, serving_dir / '1')
  process = Server(serving_python, serving_dir, root / 'server.log',
                   '--poll-seconds', '0.5')
  try:
    process.wait_until_serving()
    yield process
  finally:
    process.stop()


def _explain(server, body):
  return http('POST', f'{server.model_url}:predict',
              {'signature_name': contract.EXPLAIN_SIGNATURE, **body})


def test_explain_over_rest_in_row_format(server, explained_model):
  status, body = _explain(server, {'instances': REVIEWS})
  assert status == 200, body
  rows = body['predictions']
  assert len(rows) == 2
  assert set(rows[0]) == {
      contract.EXPLAINED_TERM_OUTPUT_KEY, contract.CONTRIBUTION_OUTPUT_KEY,
      contract.TERM_NGRAMS_OUTPUT_KEY, contract.BIAS_OUTPUT_KEY,
      contract.LOGIT_OUTPUT_KEY, contract.CONTRIBUTION_TOTAL_OUTPUT_KEY,
      contract.PROBABILITY_OUTPUT_KEY, contract.LABEL_OUTPUT_KEY}
  for row in rows:
    assert len(row[contract.EXPLAINED_TERM_OUTPUT_KEY]) == _K
    assert len(row[contract.CONTRIBUTION_OUTPUT_KEY]) == _K
    assert row[contract.BIAS_OUTPUT_KEY] + row[
        contract.CONTRIBUTION_TOTAL_OUTPUT_KEY] == pytest.approx(
            row[contract.LOGIT_OUTPUT_KEY], abs=1e-4)
  assert [r[contract.LABEL_OUTPUT_KEY] for r in rows] == ['positive',
                                                          'negative']
  # What the server answers is what the SavedModel answers here.
  local = ServedVersion(explained_model).answer(
      {'signature_name': contract.EXPLAIN_SIGNATURE, 'instances': REVIEWS})
  for remote_row, local_row in zip(rows, local['predictions']):
    assert remote_row[contract.EXPLAINED_TERM_OUTPUT_KEY] == local_row[
        contract.EXPLAINED_TERM_OUTPUT_KEY]
    assert remote_row[contract.CONTRIBUTION_OUTPUT_KEY] == pytest.approx(
        local_row[contract.CONTRIBUTION_OUTPUT_KEY], abs=1e-6)
  # The serving_default answer agrees with the explanation's probability.
  status, served = http('POST', f'{server.model_url}:predict',
                        {'instances': REVIEWS})
  assert status == 200
  assert [r[contract.PROBABILITY_OUTPUT_KEY] for r in rows] == pytest.approx(
      [r[contract.PROBABILITY_OUTPUT_KEY] for r in served['predictions']],
      abs=1e-6)


def test_explain_over_rest_in_columnar_format(server):
  status, body = _explain(server, {'inputs': {'text': REVIEWS}})
  assert status == 200, body
  outputs = body['outputs']
  assert len(outputs[contract.EXPLAINED_TERM_OUTPUT_KEY]) == 2
  assert all(len(terms) == _K
             for terms in outputs[contract.EXPLAINED_TERM_OUTPUT_KEY])
  assert len(outputs[contract.LOGIT_OUTPUT_KEY]) == 2
  status, rows = _explain(server, {'instances': REVIEWS})
  assert outputs[contract.EXPLAINED_TERM_OUTPUT_KEY] == [
      r[contract.EXPLAINED_TERM_OUTPUT_KEY] for r in rows['predictions']]


def test_metadata_lists_explain_with_its_outputs(server):
  status, body = http('GET', f'{server.model_url}/metadata')
  assert status == 200
  explain = body['metadata']['signature_def']['signature_def'][
      contract.EXPLAIN_SIGNATURE]
  assert list(explain['inputs']) == [contract.SERVING_INPUT_KEY]
  assert explain['inputs'][contract.SERVING_INPUT_KEY]['dtype'] == 'DT_STRING'
  assert explain['outputs'][contract.EXPLAINED_TERM_OUTPUT_KEY][
      'dtype'] == 'DT_STRING'
  assert explain['outputs'][contract.CONTRIBUTION_OUTPUT_KEY][
      'dtype'] == 'DT_FLOAT'


def _run(argv):
  stdout = io.StringIO()
  with contextlib.redirect_stdout(stdout):
    code = predict.main(argv)
  return code, stdout.getvalue()


def test_predict_explain_over_rest_prints_what_the_savedmodel_prints(
    server, explained_model):
  code, local = _run(['--model-dir', explained_model, '--explain', *REVIEWS])
  assert code == 0
  code, remote = _run(['--server', server.url, '--explain', *REVIEWS])
  assert code == 0
  assert remote == local
  assert not _ANSI.search(local)  # not a terminal: signs, no colours
  lines = local.splitlines()
  first = lines.index(next(l for l in lines if l.startswith('negative')))
  positive, negative = lines[:first], lines[first:]
  assert positive[0].startswith('positive') and 'masterpiece' in positive[0]
  assert re.fullmatch(r'    logit [+-]\d+\.\d{3} = bias [+-]\d+\.\d{3} \+ '
                      r'n-grams [+-]\d+\.\d{3}', positive[1])
  terms = [re.fullmatch(r'    ([+-]\d+\.\d{3})  (.+?)'
                        r'(  \(\d+ n-grams share this id\))?', line)
           for line in positive[2:]]
  assert all(terms) and 1 <= len(terms) <= _K
  contributions = [float(t.group(1)) for t in terms]
  assert contributions == sorted(contributions, key=abs, reverse=True)
  # The strongest n-gram of a glowing review pushes it up; of a scathing
  # one, down.
  assert contributions[0] > 0
  assert float(re.match(r'    ([+-]\d+\.\d{3})', negative[2]).group(1)) < 0
  assert any('share this id' in line for line in positive)  # zzz is OOV


def test_explanation_lines_are_coloured_on_a_terminal_only():
  explanation = {
      contract.LOGIT_OUTPUT_KEY: 1.5, contract.BIAS_OUTPUT_KEY: -0.25,
      contract.CONTRIBUTION_TOTAL_OUTPUT_KEY: 1.75,
      contract.EXPLAINED_TERM_OUTPUT_KEY: ['great', 'dull', 'zzz', ''],
      contract.CONTRIBUTION_OUTPUT_KEY: [2.0, -0.5, 0.25, 0.0],
      contract.TERM_NGRAMS_OUTPUT_KEY: [1, 1, 3, 0]}
  assert predict.explanation_lines(explanation, colour=False) == [
      '    logit +1.500 = bias -0.250 + n-grams +1.750',
      '    +2.000  great',
      '    -0.500  dull',
      '    +0.250  zzz  (3 n-grams share this id)']
  coloured = predict.explanation_lines(explanation, colour=True)
  assert coloured[1] == '    \x1b[32m+2.000  great\x1b[0m'
  assert coloured[2] == '    \x1b[31m-0.500  dull\x1b[0m'

  class Terminal(io.StringIO):
    def isatty(self):
      return True

  assert predict.wants_colour(Terminal(), {})
  assert not predict.wants_colour(Terminal(), {'NO_COLOR': '1'})
  assert predict.wants_colour(Terminal(), {'NO_COLOR': ''})
  assert not predict.wants_colour(io.StringIO(), {})


def test_predict_explain_names_a_model_without_explain(tiny_models, capsys):
  code = predict.main(['--model-dir', tiny_models[1], '--explain', 'A film.'])
  out, err = capsys.readouterr()
  assert code == 1 and not out
  assert 'Serving signature name: "explain" not found' in err
  assert 'Traceback' not in err
