"""A report reuses an earlier report's artifact-only sections exactly when
the run read and wrote the same artifacts and the serving directory holds
the same versions; what belongs to the run itself is always written anew."""

import json
import os

import pytest

from runs import report
from runs import report_reuse
from runs import summary

_PNG = b'\x89PNG\r\n\x1a\n fake figure bytes'


def _run(run_id: str, model_id: int = 7, components=()) -> summary.RunSummary:
  return summary.RunSummary(
      run_id=run_id, components=list(components), pushed=False,
      serving_model_dir=None, identical_to_version=None, blessed=True,
      metrics={}, outputs={'Trainer': {'model': [summary.ArtifactRecord(
          model_id, 'Model', f'/artifacts/Trainer/model/{model_id}', 0, {})]}})


@pytest.fixture(name='calls')
def _counting_sections(monkeypatch):
  """data_section and evaluation_section replaced by stand-ins that count
  their calls and draw a figure each."""
  calls = {'data': 0, 'evaluation': 0}

  def data_section(page, run):
    calls['data'] += 1
    page.add(f'<p>data of model {run.outputs["Trainer"]["model"][0].id}</p>')
    page.figure(_PNG, 'data_figure', 'a data figure')

  def evaluation_section(page, run, serving_dir):
    calls['evaluation'] += 1
    page.add('<p>evaluation</p>')
    page.figure(_PNG, 'evaluation_figure', 'an evaluation figure')

  monkeypatch.setattr(report, 'data_section', data_section)
  monkeypatch.setattr(report, 'evaluation_section', evaluation_section)
  return calls


def _write(tmp_path, run, name):
  output_dir = str(tmp_path / 'outputs')
  run_dir = os.path.join(output_dir, 'runs', name)
  path = report.write_report(run, run_dir, 'imdb_sentiment', output_dir)
  with open(path, encoding='utf-8') as f:
    return run_dir, f.read()


def test_same_artifacts_reuse_the_sections_and_their_figures(tmp_path, calls):
  first_dir, first = _write(tmp_path, _run('2026-01-01T00:00:00'), 'a')
  assert calls == {'data': 1, 'evaluation': 1}
  assert 'reused rather than computed again' not in first
  cached = [('Trainer', 'cached', 0.0), ('Evaluator', 'cached', 0.0)]
  second_dir, second = _write(
      tmp_path, _run('2026-01-02T00:00:00', components=cached), 'b')
  assert calls == {'data': 1, 'evaluation': 1}  # nothing computed again
  assert 'href="../a/report.html"' in second
  # The copy at <output_dir>/report.html links to the same report.
  with open(tmp_path / 'outputs' / 'report.html', encoding='utf-8') as f:
    assert 'href="runs/a/report.html"' in f.read()
  assert 'data of model 7' in second and '<p>evaluation</p>' in second
  # The run's own part is this run's: its id and its components' states.
  assert '2026-01-02T00:00:00' in second and 'cached' in second
  for name in ('data_figure.png', 'evaluation_figure.png'):
    with open(os.path.join(second_dir, name), 'rb') as f:
      assert f.read() == _PNG
  with open(os.path.join(second_dir, report_reuse.SECTIONS_FILE)) as f:
    saved = json.load(f)
  assert sorted(saved['figures']) == ['data_figure.png',
                                      'evaluation_figure.png']
  # A third run reuses the second's (the newest with the same key).
  _, third = _write(tmp_path, _run('2026-01-03T00:00:00'), 'c')
  assert 'href="../b/report.html"' in third
  assert calls == {'data': 1, 'evaluation': 1}
  assert first_dir != second_dir


def test_another_artifact_or_serving_version_computes_them_again(tmp_path,
                                                                 calls):
  _write(tmp_path, _run('2026-01-01T00:00:00'), 'a')
  _, page = _write(tmp_path, _run('2026-01-02T00:00:00', model_id=8), 'b')
  assert calls == {'data': 2, 'evaluation': 2}
  assert 'data of model 8' in page and 'reused' not in page
  # A new version in the serving directory (a push, a rollback) changes
  # which version the baseline is named by: computed again too.
  os.makedirs(tmp_path / 'outputs' / 'serving' / 'imdb_sentiment' / '5')
  _, page = _write(tmp_path, _run('2026-01-03T00:00:00', model_id=8), 'c')
  assert calls == {'data': 3, 'evaluation': 3}


def test_a_report_whose_figures_are_gone_is_not_reused(tmp_path, calls):
  first_dir, _ = _write(tmp_path, _run('2026-01-01T00:00:00'), 'a')
  os.remove(os.path.join(first_dir, 'data_figure.png'))
  _, page = _write(tmp_path, _run('2026-01-02T00:00:00'), 'b')
  assert calls == {'data': 2, 'evaluation': 2}
  assert 'reused' not in page
