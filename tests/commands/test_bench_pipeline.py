"""`make bench`'s table, from a result as benchmarks/pipeline.py writes it."""

from benchmarks import pipeline as bench_pipeline


def _result(**rerun):
  return {
      'data': 'x.tar.gz', 'cpus': 2, 'wall_seconds': 140.0,
      'peak_rss_gb': 1.6, 'component_seconds': {'Transform': 30.0},
      'transform_examples_per_second': 750.0, 'training_seconds': 40.0,
      'test_accuracy': 0.92, 'test_accuracy_standard_error': 0.0054,
      'test_examples': 2500, 'test_auc': 0.97, 'test_rating_mae': 1.7,
      'pushed_model_megabytes': 60.0,
      'serving': {'batch1_latency_p50_ms': 0.9, 'batch1_latency_p99_ms': 2.0,
                  'batch256_reviews_per_second': 7500.0,
                  'concurrent_streams': 2,
                  'batch256_concurrent_reviews_per_second': 12000.0},
      'rerun': rerun,
  }


def test_the_table_says_what_the_rerun_executed_and_pushed():
  table = bench_pipeline.format_table(_result(
      wall_seconds=24.5, executed_components=[], pushed=False))
  assert 'test accuracy' in table and '(± 0.0054 s.e.' in table
  assert 'one stream' in table and '7500 reviews/s' in table
  assert '2 streams' in table and '12000 reviews/s' in table
  assert 're-run, no new data, wall' in table and '24.5 s' in table
  assert 'components executed' in table and 'none' in table
  assert 'pushed a version' in table.split('re-run')[1]
  table = bench_pipeline.format_table(_result(
      wall_seconds=60.0, executed_components=['Evaluator'], pushed=True))
  assert 'Evaluator' in table.split('re-run')[1]
  assert table.rstrip().endswith('yes')
