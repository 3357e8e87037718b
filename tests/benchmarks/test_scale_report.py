"""bench-scale's fits, table and plot on a made-up result."""

import pytest

from benchmarks import scale
from benchmarks import scale_report

MB = 2**20


def _run(factor, reviews):
  # Costs on known lines: ExampleGen 5 s + 1 ms/review wall, 2 ms CPU;
  # the run 60 s + 3 ms/review, 4 ms CPU, 800 MB + 0.25 KB/review.
  def figures(wall, cpu, rss):
    return {'wall_seconds': wall, 'cpu_seconds': cpu, 'peak_rss_bytes': rss,
            'state': 'complete'}
  return {'factor': factor, 'reviews': reviews, 'data': f'x{factor}',
          'components': {
              'ImdbExampleGen': figures(5 + 1e-3 * reviews,
                                        4 + 2e-3 * reviews,
                                        500 * MB + 100 * reviews),
              'total': figures(60 + 3e-3 * reviews, 70 + 4e-3 * reviews,
                               800 * MB + 256 * reviews)}}


RUNS = [_run(f, 27500 * f) for f in (1, 2, 4, 8)]


def test_fits_find_the_lines_and_a_million_reviews():
  fits = scale.fits(RUNS)
  total = fits['total']
  assert total['wall_seconds']['fixed'] == pytest.approx(60)
  assert total['wall_seconds']['per_review'] == pytest.approx(3e-3)
  assert total['cpu_seconds']['at_million'] == pytest.approx(70 + 4000)
  assert total['peak_rss_bytes']['per_review'] == pytest.approx(256)
  assert fits['ImdbExampleGen']['cpu_seconds']['per_review'] == (
      pytest.approx(2e-3))


def test_a_component_missing_from_a_run_is_not_fitted():
  runs = [_run(1, 1000), _run(2, 2000)]
  del runs[1]['components']['ImdbExampleGen']
  assert list(scale.fits(runs)) == ['total']


def test_the_table_shows_runs_fits_targets_and_ingestion(tmp_path):
  ingest = {'wall_seconds': 11.0, 'cpu_seconds': 22.0,
            'peak_rss_bytes': 600 * MB}
  result = {'data': 'dev.tar.gz', 'cpus': 2, 'pipeline_args': ['--epochs',
                                                               '1'],
            'runs': RUNS, 'fits': scale.fits(RUNS), 'ingest_factor': 2,
            'ingest': {'tarball': {'reviews': 55000, 'example_gen': ingest},
                       'directory': {'reviews': 55000,
                                     'example_gen': dict(ingest,
                                                         wall_seconds=22.0)}},
            'targets': scale_report.TARGETS}
  table = scale_report.format_table(result)
  assert 'pipeline flags --epochs 1' in table
  assert '8x: 220,000 reviews' in table
  # total: 60 s + 3 ms/review wall, 70 s + 4 ms CPU, 800 MB + 0.25 KB.
  assert ('total                             60.0      3.000      70.0'
          '      4.000     800.0      0.250') in table
  # 60 + 3000 s = 51 min; 70 + 4000 s = 68 min; 800 MB + 244 MB = 1.02 GB.
  assert ('At 1,000,000 reviews (extrapolated): wall 51 min, CPU 68 min, '
          'peak RSS 1.02 GB') in table
  assert 'CPU 4.000 ms (target ≤ 1.5), peak RSS 0.250 KB (target ≤ 0.5)' in (
      table)
  assert ('ExampleGen alone on the directory (2x, 55,000 reviews): 22.0 s '
          'wall (0.400 ms/review)') in table
  assert ('ExampleGen of the 2x run on the tarball (2x, 55,000 reviews): '
          '11.0 s wall (0.200 ms/review), 22.0 s CPU (0.400 ms/review)') in (
              table)
  path = scale_report.plot(result, str(tmp_path / 'scale.png'))
  with open(path, 'rb') as f:
    assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_one_factor_gives_figures_without_a_fit():
  result = {'data': 'd', 'cpus': 2, 'pipeline_args': [], 'runs': RUNS[:1],
            'fits': scale.fits(RUNS[:1]), 'ingest_factor': None,
            'ingest': {}, 'targets': scale_report.TARGETS}
  table = scale_report.format_table(result)
  assert '1x: 27,500 reviews' in table
  assert 'At 1,000,000' not in table
  fitted = table.split('Fitted over the factors')[1]
  [total] = [line for line in fitted.splitlines()
             if line.strip().startswith('total')]
  assert total.split() == ['total'] + ['—'] * 6
