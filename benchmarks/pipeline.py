"""`make bench`: the whole pipeline on the full data, and the served model.

Runs `local_runner.py` on IMDB_DATA (default: the shared dev
archive) into a fresh output directory, then reads back from ML Metadata what
each component took and what the Evaluator measured, and times the pushed
SavedModel in a fresh process (benchmarks.serving). Writes a JSON file and
prints a table. A benchmark, not a test: nothing here asserts a target.
"""

import json
import os
import subprocess
import sys


# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
import contract
from pipeline import configs as config_lib


def main(argv=None) -> int:
  parser = common.argument_parser(__doc__.split('\n')[0], 'bench')
  args = parser.parse_args(argv)
  if not os.path.exists(args.data):
    parser.error(f'{args.data}: no such file or directory (set IMDB_DATA)')
  common.require_fresh_output_dir(parser, args.output_dir)

  wall_seconds, peak_gb = common.run_pipeline(
      args.data, args.output_dir, args.pipeline_args,
      os.path.join(args.output_dir, 'bench-run.log'))
  config = config_lib.from_args(
      ['--data', args.data, '--output-dir', args.output_dir]
      + list(args.pipeline_args), environ={})
  # pylint: disable=g-import-not-at-top
  from contract import evaluation
  from runs import summary
  # pylint: enable=g-import-not-at-top
  run = summary.latest_run(config.metadata_path, config.pipeline_name)
  components = {name: seconds for name, _, seconds in run.components}
  examples_uri = common.examples_uri(config.pipeline_root)
  train_examples = common.count_examples(examples_uri, contract.TRAIN_SPLIT)
  test_pattern = os.path.join(examples_uri, f'Split-{contract.TEST_SPLIT}',
                              '*')
  serving = json.loads(subprocess.check_output(
      [sys.executable, '-m', 'benchmarks.serving',
       '--model-dir', run.serving_model_dir,
       '--texts-from-examples', test_pattern],
      stderr=subprocess.DEVNULL).decode().strip().splitlines()[-1])

  def metric(output: str, name: str) -> float:
    # With two heads the summary names metrics `<output>/<metric>`.
    return run.metrics.get(evaluation.metric_name(output, '', name),
                           run.metrics.get(name, float('nan')))

  sentiment, rating = (contract.PROBABILITY_OUTPUT_KEY,
                       contract.RATING_OUTPUT_KEY)
  accuracy = metric(sentiment, 'binary_accuracy')
  test_count = metric(sentiment, 'example_count')
  result = {
      'data': args.data,
      'settings': {**config.transform_custom_config,
                   **config.trainer_custom_config},
      'cpus': os.cpu_count(),
      'wall_seconds': wall_seconds,
      'peak_rss_gb': peak_gb,
      'component_seconds': components,
      'train_examples': train_examples,
      'transform_examples_per_second':
          train_examples / components['Transform'],
      'training_seconds': components['Trainer'],
      'test_examples': test_count,
      'test_accuracy': accuracy,
      'test_accuracy_standard_error': common.standard_error(accuracy,
                                                            test_count),
      'test_auc': metric(sentiment, 'auc'),
      'test_rating_mae': metric(rating, 'mean_absolute_error'),
      'blessed': run.blessed,
      'pushed_model': run.serving_model_dir,
      'pushed_model_megabytes': common.directory_megabytes(
          run.serving_model_dir),
      'serving': serving,
  }
  # The same command again on the same output directory, no new data: what a
  # scheduled run without new reviews costs. Everything should be cached.
  rerun_seconds, _ = common.run_pipeline(
      args.data, args.output_dir, args.pipeline_args,
      os.path.join(args.output_dir, 'bench-rerun.log'))
  rerun = summary.latest_run(config.metadata_path, config.pipeline_name)
  result['rerun'] = {
      'wall_seconds': rerun_seconds,
      'executed_components': [name for name, state, _ in rerun.components
                              if state == 'executed'],
      'pushed': rerun.pushed,
  }
  common.write_result(args.output_dir, 'bench.json', result, format_table)
  return 0


def format_table(r) -> str:
  lines = [f'Benchmark on {r["data"]} ({r["cpus"]} CPUs)',
           f'  {"total wall time":<34} {r["wall_seconds"]:9.1f} s',
           f'  {"peak memory (largest process)":<34} {r["peak_rss_gb"]:9.2f} GB']
  lines += [f'  {"  " + name:<34} {seconds:9.1f} s'
            for name, seconds in r['component_seconds'].items()]
  serving = r['serving']
  concurrent = f'batch-256 throughput, {serving["concurrent_streams"]} streams'
  lines += [
      f'  {"Transform throughput (train)":<34} '
      f'{r["transform_examples_per_second"]:9.1f} examples/s',
      f'  {"training time":<34} {r["training_seconds"]:9.1f} s',
      f'  {"test accuracy":<34} {r["test_accuracy"]:9.4f} '
      f'(± {r["test_accuracy_standard_error"]:.4f} s.e., '
      f'{r["test_examples"]:.0f} reviews)',
      f'  {"test AUC":<34} {r["test_auc"]:9.4f}',
      f'  {"test rating MAE (stars)":<34} {r["test_rating_mae"]:9.3f}',
      f'  {"pushed model size":<34} {r["pushed_model_megabytes"]:9.1f} MB',
      f'  {"batch-1 latency p50":<34} '
      f'{serving["batch1_latency_p50_ms"]:9.2f} ms',
      f'  {"batch-1 latency p99":<34} '
      f'{serving["batch1_latency_p99_ms"]:9.2f} ms',
      f'  {"batch-256 throughput, one stream":<34} '
      f'{serving["batch256_reviews_per_second"]:9.0f} reviews/s',
      f'  {concurrent:<34} '
      f'{serving["batch256_concurrent_reviews_per_second"]:9.0f} reviews/s',
  ]
  rerun = r.get('rerun')
  if rerun:
    executed = ', '.join(rerun['executed_components']) or 'none'
    lines += [
        f'  {"re-run, no new data, wall":<34} {rerun["wall_seconds"]:9.1f} s',
        f'  {"  components executed":<34} {executed}',
        f'  {"  pushed a version":<34} {"yes" if rerun["pushed"] else "no"}',
    ]
  return '\n'.join(lines)


if __name__ == '__main__':
  sys.exit(main())
