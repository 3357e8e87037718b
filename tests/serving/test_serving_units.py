"""Version selection, the REST JSON format, and the predict/verify helpers,
without a server or a model."""

import argparse
import io
import json

import pytest
from tensorflow_serving.config import model_server_config_pb2

import contract
from serving import json_tensor as jt
from serving import predict
from serving import rest
from serving import verify
from contract import serving_directory


def _policy(text):
  config = model_server_config_pb2.ModelConfig()
  from google.protobuf import text_format  # pylint: disable=g-import-not-at-top
  text_format.Parse(text, config)
  return config


@pytest.mark.parametrize('policy, served', [
    (None, [30]),
    ('model_version_policy { specific { versions: 20 } }', [20]),
    ('model_version_policy { specific { versions: 20 versions: 99 } }', [20]),
    ('model_version_policy { latest { num_versions: 2 } }', [20, 30]),
    ('model_version_policy { all {} }', [10, 20, 30]),
    ('name: "imdb_sentiment"', [30]),  # no policy: TF Serving's default
])
def test_versions_are_selected_as_tf_serving_does(policy, served):
  model_config = _policy(policy) if policy else None
  assert serving_directory.select_versions([30, 10, 20], model_config) == served


def test_incomplete_and_non_integer_versions_are_not_available(tmp_path):
  for name in ('3', '12', 'tmp', '7'):
    (tmp_path / name).mkdir()
  for name in ('3', '12', 'tmp'):
    (tmp_path / name / 'saved_model.pb').write_bytes(b'')
  # 7 has no saved_model.pb yet: the Pusher writes it last.
  assert serving_directory.available_versions(str(tmp_path)) == [3, 12]
  # Taken numbers, though: a new push must not reuse 7.
  assert serving_directory.version_numbers(str(tmp_path)) == [3, 7, 12]
  assert serving_directory.latest_version_dir(str(tmp_path)) == str(tmp_path / '12')


def test_no_version_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match='no pushed model version'):
    serving_directory.latest_version_dir(str(tmp_path / 'serving' / 'imdb_sentiment'))


def test_model_config_file_is_read_beside_the_serving_directory(tmp_path):
  serving_dir = tmp_path / 'serving' / 'imdb_sentiment'
  path = serving_directory.default_model_config_path(str(serving_dir))
  assert path == str(tmp_path / 'serving' / 'models.config')
  assert serving_directory.read_version_policy(path) is None  # absent: default policy
  (tmp_path / 'serving' ).mkdir()
  with open(path, 'w') as f:
    f.write('model_config_list { config { name: "imdb_sentiment" '
            'base_path: "/models/imdb_sentiment" model_platform: "tensorflow" '
            'model_version_policy { specific { versions: 4 } } } }')
  model_config = serving_directory.read_version_policy(path)
  assert list(model_config.model_version_policy.specific.versions) == [4]


def test_bad_model_config_files_are_named(tmp_path):
  path = tmp_path / 'models.config'
  path.write_text('model_config_list { config { name: ')
  with pytest.raises(serving_directory.ModelConfigError, match=str(path)):
    serving_directory.read_version_policy(str(path))
  path.write_text('model_config_list { config { name: "other" } }')
  with pytest.raises(serving_directory.ModelConfigError,
                     match="no model_config_list entry named 'imdb_sentiment'"):
    serving_directory.read_version_policy(str(path))


TEXT_SPEC = {contract.SERVING_INPUT_KEY: jt.InputSpec('string', (None,))}


def test_rest_requests_in_row_and_columnar_format():
  def parsed(body):
    tensors, request_format = jt.parse_inputs(body, TEXT_SPEC)
    return {k: (v.shape, v.values) for k, v in tensors.items()}, request_format

  assert parsed({'instances': ['a', 'b']}) == (
      {'text': ([2], ['a', 'b'])}, 'row')
  assert parsed({'instances': [{'text': 'a'}]}) == ({'text': ([1], ['a'])},
                                                    'row')
  assert parsed({'inputs': {'text': ['a']}}) == ({'text': ([1], ['a'])},
                                                 'columnar')
  assert parsed({'inputs': ['a']}) == ({'text': ([1], ['a'])}, 'columnar')
  assert parsed({'instances': [{'b64': 'aGk='}]}) == (
      {'text': ([1], [b'hi'])}, 'row')
  assert parsed({'instances': [{'b64': 'aGk'}]}) == (  # unpadded, as absl
      {'text': ([1], [b'hi'])}, 'row')
  for bad, message in (({}, 'Missing'), ({'instances': []}, 'No values'),
                       ({'instances': [{'txt': 'a'}]}, 'named input: txt'),
                       ([1, 2], 'Is not object')):
    with pytest.raises(rest.BadRequest, match=message):
      jt.parse_inputs(bad, TEXT_SPEC)


def test_values_are_checked_against_the_signature_dtype():
  specs = {'x': jt.InputSpec('int32', (None,))}
  assert jt.parse_inputs({'inputs': [1, -2]}, specs)[0]['x'].values == [
      1, -2]
  for value in (1.5, True, '1', 1 << 31, {'b64': 'AA=='}):
    with pytest.raises(rest.BadRequest, match='is not of expected type: int32'):
      jt.parse_inputs({'inputs': [value]}, specs)
  specs = {'x': jt.InputSpec('float32', (None,))}
  assert jt.parse_inputs({'inputs': [1, 2.5]}, specs)[0]['x'].values == [
      1, 2.5]
  with pytest.raises(rest.ServingError, match='to type: complex64') as e:
    jt.parse_inputs({'inputs': [1]}, {'x': jt.InputSpec('complex64',
                                                            None)})
  assert e.value.http_status == 501


def test_ragged_and_deep_lists_are_refused():
  specs = {'x': jt.InputSpec('string', None)}  # any shape
  assert jt.parse_inputs({'inputs': [['a', 'b'], ['c', 'd']]}, specs)[0][
      'x'] == jt.Dense([2, 2], ['a', 'b', 'c', 'd'])
  with pytest.raises(rest.BadRequest, match='unexpected size: 1'):
    jt.parse_inputs({'inputs': [['a', 'b'], ['c']]}, specs)
  with pytest.raises(rest.BadRequest, match='incorrect level'):
    jt.parse_inputs({'inputs': [['a'], 'b']}, specs)
  deep = 'a'
  for _ in range(100):
    deep = [deep]
  with pytest.raises(rest.BadRequest, match='nested deeper'):
    jt.parse_inputs({'inputs': deep}, specs)
  with pytest.raises(rest.BadRequest, match='nested too deeply'):
    jt.parse_body(b'[' * 100_000)


def test_error_codes_map_to_tf_servings_http_statuses():
  assert rest.BadRequest('x').http_status == 400
  assert rest.ServingError('NOT_FOUND', 'x').http_status == 404
  assert rest.ServingError('FAILED_PRECONDITION', 'x').http_status == 400
  assert rest.ServingError('UNAVAILABLE', 'x').http_status == 503
  assert rest.ServingError('DATA_LOSS', 'x').http_status == 500
  assert rest.ServingError('NOT_FOUND', 'gone').body() == {'error': 'gone'}


def test_rest_responses_are_shaped_like_tf_serving():
  outputs = {'probability': [0.9, 0.1], 'label': [b'positive', b'negative']}
  assert rest.format_outputs(outputs, 'row') == {'predictions': [
      {'label': 'positive', 'probability': 0.9},
      {'label': 'negative', 'probability': 0.1}]}
  assert rest.format_outputs(outputs, 'columnar') == {'outputs': {
      'label': ['positive', 'negative'], 'probability': [0.9, 0.1]}}
  assert rest.format_outputs({'probability': [0.9]}, 'row') == {
      'predictions': [0.9]}


def test_verification_compares_numbers_with_tolerance_and_strings_exactly():
  expected = [{'probability': 0.75, 'label': 'positive'}]
  assert verify.differences(expected, [{'probability': 0.750001,
                                        'label': 'positive',
                                        'rating': 8.5}], 1e-5) == []
  found = verify.differences(expected, [{'probability': 0.76,
                                         'label': 'negative'}], 1e-5)
  assert len(found) == 2
  assert any('probability' in f for f in found)
  assert any("expected 'positive', got 'negative'" in f for f in found)
  assert verify.differences(expected, [{'label': 'positive'}], 1e-5) == [
      '[0]probability: missing']
  # An empty expectation would match anything: it is a mismatch itself.
  assert verify.differences([{}], [{'label': 'positive'}], 1e-5) == [
      '[0]: the expected answer is {}, which checks nothing']


def test_bad_verification_files_are_named(tmp_path):
  path = tmp_path / 'verification.jsonl'
  with pytest.raises(verify.VerificationFileError, match='no verification'):
    verify.read_samples(str(path))
  good = json.dumps({'request': {'instances': ['a']},
                     'response': {'predictions': [0.5]}})
  for line, message in (
      ('{"request": {}}', 'not a {"request", "response": {"predictions"}} '
       'object: "response" is missing'),
      ('{"request": "a review", "response": {"predictions": []}}',
       '"request" must be a predict request (a JSON object), not a string'),
      ('[1, 2]', 'not a {"request", "response"} object but a list'),
      ('{"request": ', 'not JSON')):
    path.write_text(f'{good}\n{line}\n')
    with pytest.raises(verify.VerificationFileError) as e:
      verify.read_samples(str(path))
    assert str(e.value) == f'{path}:2: {message}' or (
        str(e.value).startswith(f'{path}:2: {message}'))
  path.write_bytes(good.encode() + b'\n{"request": "caf\xe9"}\n')
  with pytest.raises(verify.VerificationFileError,
                     match=f'{path}:2: not UTF-8 text'):
    verify.read_samples(str(path))


def _args(**kwargs):
  defaults = dict(reviews=[], file=None)
  defaults.update(kwargs)
  return argparse.Namespace(**defaults)


class _Stdin(io.StringIO):
  def isatty(self):
    return False


def test_reviews_come_from_arguments_a_file_or_stdin(tmp_path):
  assert predict.read_reviews(_args(reviews=['one', 'two'])) == ['one', 'two']
  path = tmp_path / 'reviews.txt'
  path.write_text('first review\n\nsecond review\n')
  assert predict.read_reviews(_args(file=str(path))) == [
      'first review', 'second review']
  assert predict.read_reviews(_args(), stdin=_Stdin('a\nb\n')) == ['a', 'b']
  with pytest.raises(predict.ReviewsError, match='no reviews'):
    predict.read_reviews(_args(), stdin=_Stdin('\n\n'))
  with pytest.raises(predict.ReviewsError, match='missing.txt: cannot be'):
    predict.read_reviews(_args(file=str(tmp_path / 'missing.txt')))
  path.write_bytes(b'caf\xe9\n')
  with pytest.raises(predict.ReviewsError, match='not UTF-8'):
    predict.read_reviews(_args(file=str(path)))


def test_a_prediction_line_shows_label_probability_and_other_outputs():
  line = predict.format_line('A  wonderful\tfilm. ' * 10, {
      'label': 'positive', 'probability': 0.97312, 'rating': 8.25})
  assert line.startswith('positive  0.9731  rating=8.25  A wonderful film.')
  assert line.endswith('…')


def test_a_multi_class_line_shows_the_class_its_probability_and_all():
  line = predict.format_line('The invoice is wrong', {
      'label': 'billing', 'probabilities': [0.91234, 0.05, 0.03766]})
  assert line == ('billing   0.9123  probabilities=0.9123/0.0500/0.0377  '
                  'The invoice is wrong')
