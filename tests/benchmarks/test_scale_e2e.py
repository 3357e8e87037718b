"""`python -m benchmarks.scale --factors 1 2` on a small generated archive:
two whole pipeline runs and ExampleGen alone on a directory (minutes)."""

import json
import os
import subprocess
import sys

import pytest

from helpers import imdb_data

pytestmark = pytest.mark.e2e

PER_SPLIT_AND_CLASS = {'train': 100, 'test': 40}
REVIEWS = 2 * sum(PER_SPLIT_AND_CLASS.values())


@pytest.fixture(scope='module', name='bench')
def _bench(tmp_path_factory):
  root = tmp_path_factory.mktemp('bench_scale')
  archive = imdb_data.write_archive(
      str(root / 'small.tar.gz'),
      imdb_data.generated_corpus(PER_SPLIT_AND_CLASS, seed=3))
  env = dict(os.environ, PYTHONPATH=imdb_data.PROJECT_ROOT)
  env.pop('VERBOSE', None)
  output_dir = root / 'out'
  command = [sys.executable, '-m', 'benchmarks.scale', '--data', archive,
             '--factors', '1', '2', '--data-dir', str(root / 'data'),
             '--output-dir', str(output_dir)]
  # Two pipeline runs and one of ExampleGen: longer than one run's timeout.
  result = subprocess.run(command, env=env, cwd=imdb_data.PROJECT_ROOT,
                          capture_output=True, text=True, timeout=3600,
                          check=False)
  assert result.returncode == 0, (result.stdout[-4000:], result.stderr[-6000:])
  stdout = result.stdout
  with open(output_dir / 'bench-scale.json') as f:
    return json.load(f), stdout, output_dir


def test_each_factor_ran_with_its_reviews_counted(bench):
  result, _, _ = bench
  assert [(r['factor'], r['reviews']) for r in result['runs']] == [
      (1, REVIEWS), (2, 2 * REVIEWS)]
  for run in result['runs']:
    components = run['components']
    for name in ('ImdbExampleGen', 'StatisticsGen', 'Transform', 'Trainer',
                 'Evaluator', 'Pusher'):
      assert components[name]['state'] == 'complete', name
    total = components['total']
    assert 0 < components['Trainer']['wall_seconds'] < total['wall_seconds']
    for name in ('ImdbExampleGen', 'Transform', 'Trainer'):
      assert components[name]['cpu_seconds'] > 0, name
      assert 0 < components[name]['peak_rss_bytes'] <= total['peak_rss_bytes']
    # The parts (sampled) add up to at most the whole (the kernel's count).
    parts = sum(f['cpu_seconds'] for n, f in components.items()
                if n != 'total')
    assert parts <= total['cpu_seconds'] * 1.05
    # A pipeline run imports TensorFlow and TFX: well over 300 MB resident.
    assert total['peak_rss_bytes'] > 300 * 2**20


def test_the_fit_goes_through_both_factors(bench):
  result, _, _ = bench
  small, large = result['runs']
  for name, fit in result['fits'].items():
    for figure, line in fit.items():
      for run in (small, large):
        assert (line['fixed'] + line['per_review'] * run['reviews']
                == pytest.approx(run['components'][name][figure],
                                 rel=1e-6, abs=1e-6)), (name, figure)
      assert line['at_million'] == pytest.approx(
          line['fixed'] + line['per_review'] * 1e6)


def test_example_gen_read_the_tarball_in_its_run_and_the_directory_alone(
    bench):
  result, _, output_dir = bench
  assert result['ingest_factor'] == 2
  tarball = result['ingest']['tarball']
  directory = result['ingest']['directory']
  # The tarball's figures are the 2x run's own ExampleGen.
  [run] = [r for r in result['runs'] if r['factor'] == 2]
  assert tarball['example_gen'] == run['components']['ImdbExampleGen']
  assert tarball['data'] == run['data'] and os.path.isfile(tarball['data'])
  assert tarball['measured_in'] == str(output_dir / 'x2')
  assert os.path.isdir(directory['data'])
  assert directory['measured_in'] == str(output_dir / 'ingest-directory')
  assert os.path.exists(output_dir / 'ingest-directory' / 'bench-run.log')
  for ingest in (tarball, directory):
    assert ingest['reviews'] == 2 * REVIEWS
    assert ingest['example_gen']['state'] == 'complete'
    assert ingest['example_gen']['wall_seconds'] > 0
    assert ingest['example_gen']['cpu_seconds'] > 0


def test_the_table_and_the_plot(bench):
  result, stdout, output_dir = bench
  assert f'1x: {REVIEWS:,} reviews' in stdout
  assert 'Fitted over the factors' in stdout
  assert 'At 1,000,000 reviews (extrapolated)' in stdout
  assert 'ExampleGen alone on the directory' in stdout
  assert 'ExampleGen of the 2x run on the tarball' in stdout
  with open(result['plot'], 'rb') as f:
    assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  assert os.path.getsize(output_dir / 'bench-scale.png') > 10_000


def test_a_used_output_directory_is_refused(bench):
  _, _, output_dir = bench
  result = subprocess.run(
      [sys.executable, '-m', 'benchmarks.scale', '--data',
       str(output_dir.parent / 'small.tar.gz'), '--output-dir',
       str(output_dir)], cwd=imdb_data.PROJECT_ROOT, capture_output=True,
      text=True, check=False)
  assert result.returncode == 2
  assert 'exists and is not empty' in result.stderr
