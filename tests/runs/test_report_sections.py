"""The run report's sections without a run: data validation, warm start and
the baseline, built from a RunSummary and artifacts written here."""

import json
import os

from tensorflow_metadata.proto.v0 import anomalies_pb2

import contract
from contract import serving_directory
from runs import report
from runs import report_data
from runs import report_html
from runs import summary

_CLEAN = anomalies_pb2.Anomalies()


def _anomalies(root, name: str, prefix: str, by_split) -> str:
  """An ExampleAnomalies artifact: one SchemaDiff.pb per split."""
  uri = os.path.join(str(root), name)
  for split, anomalies in by_split.items():
    os.makedirs(os.path.join(uri, f'{prefix}-{split}'))
    with open(os.path.join(uri, f'{prefix}-{split}', 'SchemaDiff.pb'),
              'wb') as f:
      f.write(anomalies.SerializeToString())
  return uri


def _anomaly(feature: str, short: str, description: str):
  anomalies = anomalies_pb2.Anomalies()
  anomalies.anomaly_info[feature].reason.add(short_description=short,
                                             description=description)
  return anomalies


def _record(artifact_id: int, type_name: str, uri: str = '', span: int = 0,
            **properties) -> summary.ArtifactRecord:
  return summary.ArtifactRecord(artifact_id, type_name, uri, span, properties)


def _run(**fields) -> summary.RunSummary:
  values = dict(run_id='2026-01-01T00:00:00', components=[], pushed=False,
                serving_model_dir=None, identical_to_version=None,
                blessed=True, metrics={})
  values.update(fields)
  return summary.RunSummary(**values)


def _page(tmp_path, section, *args) -> str:
  page = report_html.Report(str(tmp_path))
  section(page, *args)
  return '\n'.join(page.sections)


def _push(serving_dir: str, version: int, model_uri: str) -> None:
  """A pushed version's release.json, as the Pusher writes it."""
  path = serving_directory.assets_extra_path(
      os.path.join(serving_dir, str(version)), contract.RELEASE_FILE)
  os.makedirs(os.path.dirname(path))
  with open(path, 'w', encoding='utf-8') as f:
    json.dump({'version': version, 'model': model_uri}, f)


def test_first_span_clean_no_anomalies_and_no_previous_span(tmp_path):
  splits = {'train': _CLEAN, 'eval': _CLEAN, 'test': _CLEAN}
  run = _run(ingested_span=0, outputs={
      'ExampleValidator': {'anomalies': [_record(
          4, 'ExampleAnomalies', _anomalies(tmp_path, 'ev', 'Split', splits),
          blessed={'train': 1.0, 'eval': 1.0, 'test': 1.0})]},
      'DistributionValidator': {'anomalies': [_record(
          5, 'ExampleAnomalies', _anomalies(tmp_path, 'dv', 'Split', {}),
          blessed={'train': 2.0, 'eval': 2.0, 'test': 2.0})]}})
  page = _page(tmp_path, report.validation_section, run)
  assert '<h2>Data validation</h2>' in page
  assert 'no anomalies in train, eval, test' in page
  assert 'no previous span to compare with (span 0 is the first)' in page


def test_anomalies_and_drift_are_listed(tmp_path):
  run = _run(ingested_span=2, outputs={
      'ExampleValidator': {'anomalies': [_record(
          4, 'ExampleAnomalies', _anomalies(tmp_path, 'ev', 'Split', {
              'train': _anomaly('rating', 'Out-of-range values',
                                'Unexpectedly large value: 11.'),
              'test': _CLEAN}))]},
      'DistributionValidator': {'anomalies': [_record(
          5, 'ExampleAnomalies', _anomalies(tmp_path, 'dv', 'SplitPair', {
              'train_train': _anomaly('label', 'High L-infinity distance',
                                      'The label shares moved by 0.4.')}),
          blessed={'train_train': 0.0})]}},
      inputs={'DistributionValidator': {'baseline_statistics': [_record(
          3, 'ExampleStatistics', span=1)]}})
  page = _page(tmp_path, report.validation_section, run)
  assert 'ExampleValidator (the statistics against the schema) found' in page
  assert ('<td>train</td><td>rating</td><td>Out-of-range values</td>'
          '<td>Unexpectedly large value: 11.</td>') in page
  assert 'found drift from the previous span (span 1)' in page
  assert '<td>train_train</td><td>label</td>' in page
  assert 'no anomalies' not in page


def test_clean_drift_check_names_the_previous_span(tmp_path):
  run = _run(ingested_span=2, outputs={
      'DistributionValidator': {'anomalies': [_record(
          5, 'ExampleAnomalies', _anomalies(
              tmp_path, 'dv', 'SplitPair', {'train_train': _CLEAN}),
          blessed={'train_train': 1.0})]}},
      inputs={'DistributionValidator': {'baseline_statistics': [_record(
          3, 'ExampleStatistics', span=1)]}})
  page = _page(tmp_path, report.validation_section, run)
  assert 'ExampleValidator anomalies: not in this run' in page
  assert ('(drift from the previous span, span 1): no anomalies in '
          'train_train') in page
  without = _page(tmp_path / 'none', report.validation_section, _run())
  assert 'No drift check' in without


def test_warm_start_says_from_which_model_and_its_version(tmp_path):
  serving_dir = str(tmp_path / 'serving')
  model_uri = str(tmp_path / 'Trainer' / 'model' / '5')
  _push(serving_dir, 7, model_uri)
  run = _run(components=[('Trainer', 'executed', 9.0)], warm_start={
      'warm_started_from': os.path.join(model_uri, 'Format-Serving'),
      'reason': 'same tokenization as the latest blessed model'})
  page = _page(tmp_path, report.training_section, run, serving_dir)
  assert (f'Warm start: from {model_uri}/Format-Serving (same tokenization '
          'as the latest blessed model); that model was pushed as version '
          '7.') in page
  scratch = _run(components=[('Trainer', 'executed', 9.0)], warm_start={
      'warm_started_from': None,
      'reason': 'no blessed model trained on other examples'})
  assert ('Warm start: no, trained from scratch (no blessed model trained on '
          'other examples).'
          in _page(tmp_path, report.training_section, scratch, serving_dir))


def test_cached_trainer_s_warm_start_is_the_earlier_run_s(tmp_path):
  run = _run(components=[('Trainer', 'cached', 0.0)], warm_start={
      'warm_started_from': None,
      'reason': 'no blessed model trained on other examples'})
  page = _page(tmp_path, report.training_section, run, str(tmp_path))
  assert ('Warm start: Trainer cached; its model (trained in an earlier run) '
          'was trained from scratch: no blessed model trained on other '
          'examples at the time.') in page
  assert '(no blessed model trained on other examples)' not in page


def test_baseline_is_named_by_its_pushed_version(tmp_path):
  serving_dir = str(tmp_path / 'serving')
  baseline_uri = str(tmp_path / 'Trainer' / 'model' / '9')
  _push(serving_dir, 3, str(tmp_path / 'Trainer' / 'model' / '2'))
  _push(serving_dir, 7, baseline_uri)
  run = _run(inputs={'Evaluator': {
      'model': [_record(11, 'Model', str(tmp_path / 'model' / '11'))],
      'baseline_model': [_record(9, 'Model', baseline_uri)]}})
  text = report.baseline_text(run, serving_dir)
  assert text == ('the latest blessed model, pushed as version 7 (model '
                  'artifact 9)')
  unpushed = _run(inputs={'Evaluator': {
      'model': [_record(9, 'Model', str(tmp_path / 'elsewhere'))],
      'baseline_model': [_record(9, 'Model', str(tmp_path / 'elsewhere'))]}})
  assert report.baseline_text(unpushed, serving_dir) == (
      'the latest blessed model, model artifact 9 (the candidate itself), not '
      'among the pushed versions')


def test_serving_dir_is_the_pusher_s_destination(tmp_path):
  run = _run(execution_properties={'Pusher': {'push_destination': json.dumps(
      {'filesystem': {'base_directory': '/srv/models/imdb'}})}})
  assert report_data.serving_dir(run, str(tmp_path)) == '/srv/models/imdb'
  assert report_data.serving_dir(_run(), str(tmp_path)) == (
      serving_directory.serving_dir_of(str(tmp_path)))


def test_each_change_says_whether_it_is_better(tmp_path):
  page = _page(tmp_path, report.overall_subsection,
               {'probability/binary_accuracy': 0.91,
                'rating/mean_absolute_error': 1.75,
                'probability/example_count': 100.0},
               {'probability/binary_accuracy': 0.89,
                'rating/mean_absolute_error': 1.70,
                'probability/example_count': 100.0},
               'the latest blessed model, pushed as version 7')
  assert 'Baseline: the latest blessed model, pushed as version 7' in page
  assert '<th>better when</th>' in page
  assert ('<td>probability/binary_accuracy</td><td>0.9100</td>'
          '<td>0.8900</td><td>+0.0200 (better)</td><td>higher</td>') in page
  assert ('<td>rating/mean_absolute_error</td><td>1.7500</td><td>1.7000</td>'
          '<td>+0.0500 (worse)</td><td>lower</td>') in page
  assert '<td>+0.0000</td><td></td>' in page  # a count: no direction
