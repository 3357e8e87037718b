"""`make bench`: the whole pipeline on the full data, and the served model.

Runs `pipeline/local_runner.py` on IMDB_DATA (default: the shared dev
archive) into a fresh output directory, then reads back from ML Metadata what
each component took and what the Evaluator measured, and times the pushed
SavedModel in a fresh process (benchmarks/serving.py). Writes a JSON file and
prints a table. A benchmark, not a test: nothing here asserts a target.
"""

import argparse
import datetime
import glob
import json
import os
import resource
import subprocess
import sys
import time

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PROJECT_ROOT)

# pylint: disable=g-import-not-at-top
from components.model import contract
from pipeline import config as config_lib

SHARED_ARCHIVE = os.path.join(os.path.dirname(PROJECT_ROOT), 'shared', 'data',
                              'aclImdb_dev.tar.gz')


def count_examples(examples_uri: str, split: str) -> int:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  files = glob.glob(os.path.join(examples_uri, f'Split-{split}', '*'))
  return sum(1 for _ in tf.data.TFRecordDataset(files,
                                                compression_type='GZIP'))


def directory_megabytes(path: str) -> float:
  return sum(os.path.getsize(os.path.join(root, name))
             for root, _, names in os.walk(path) for name in names) / 1e6


def run_pipeline(data: str, output_dir: str, extra_args):
  """Runs the pipeline in a child process; wall seconds and peak RSS (GB)."""
  command = [sys.executable, os.path.join(PROJECT_ROOT, 'pipeline',
                                          'local_runner.py'),
             '--data', data, '--output-dir', output_dir] + list(extra_args)
  log_path = os.path.join(output_dir, 'bench-run.log')
  os.makedirs(output_dir, exist_ok=True)
  start = time.time()
  with open(log_path, 'w') as log:
    code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT)
  seconds = time.time() - start
  if code:
    raise SystemExit(f'error: the pipeline failed (exit {code}); see '
                     f'{log_path}')
  # ru_maxrss of children: the largest resident set of any child, in KiB.
  peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
  return seconds, peak_gb


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--data', default=os.environ.get('IMDB_DATA')
                      or SHARED_ARCHIVE)
  parser.add_argument('--output-dir', default=os.path.join(
      PROJECT_ROOT, 'outputs', 'bench',
      datetime.datetime.now().strftime('%Y%m%d-%H%M%S')))
  parser.add_argument('pipeline_args', nargs='*',
                      help='extra flags for the pipeline, after --')
  args = parser.parse_args(argv)
  if not os.path.exists(args.data):
    parser.error(f'{args.data}: no such file or directory (set IMDB_DATA)')
  if os.path.exists(args.output_dir) and os.listdir(args.output_dir):
    parser.error(f'{args.output_dir}: exists and is not empty; a benchmark '
                 'needs a fresh output directory (nothing cached)')

  wall_seconds, peak_gb = run_pipeline(args.data, args.output_dir,
                                       args.pipeline_args)
  config = config_lib.from_args(
      ['--data', args.data, '--output-dir', args.output_dir]
      + list(args.pipeline_args), environ={})
  from pipeline import summary  # pylint: disable=g-import-not-at-top
  run = summary.latest_run(config)
  components = {name: seconds for name, _, seconds in run.components}
  [examples_uri] = glob.glob(os.path.join(
      config.pipeline_root, 'ImdbExampleGen', 'examples', '*'))
  train_examples = count_examples(examples_uri, contract.TRAIN_SPLIT)
  test_pattern = os.path.join(examples_uri, f'Split-{contract.TEST_SPLIT}',
                              '*')
  serving = json.loads(subprocess.check_output(
      [sys.executable, os.path.join(PROJECT_ROOT, 'benchmarks', 'serving.py'),
       '--model-dir', run.serving_model_dir,
       '--texts-from-examples', test_pattern],
      stderr=subprocess.DEVNULL).decode().strip().splitlines()[-1])

  def metric(output: str, name: str) -> float:
    # With two heads the summary names metrics `<output>/<metric>`.
    return run.metrics.get(summary.metric_name(output, '', name),
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
      'test_accuracy_standard_error':
          (accuracy * (1 - accuracy) / test_count) ** 0.5 if test_count else None,
      'test_auc': metric(sentiment, 'auc'),
      'test_rating_mae': metric(rating, 'mean_absolute_error'),
      'blessed': run.blessed,
      'pushed_model': run.serving_model_dir,
      'pushed_model_megabytes': directory_megabytes(run.serving_model_dir),
      'serving': serving,
  }
  path = os.path.join(args.output_dir, 'bench.json')
  with open(path, 'w') as f:
    json.dump(result, f, indent=1)
  print(format_table(result))
  print(f'written: {path}')
  return 0


def format_table(r) -> str:
  lines = [f'Benchmark on {r["data"]} ({r["cpus"]} CPUs)',
           f'  {"total wall time":<34} {r["wall_seconds"]:9.1f} s',
           f'  {"peak memory (largest process)":<34} {r["peak_rss_gb"]:9.2f} GB']
  lines += [f'  {"  " + name:<34} {seconds:9.1f} s'
            for name, seconds in r['component_seconds'].items()]
  serving = r['serving']
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
      f'  {"batch-256 throughput":<34} '
      f'{serving["batch256_reviews_per_second"]:9.0f} reviews/s',
  ]
  return '\n'.join(lines)


if __name__ == '__main__':
  sys.exit(main())
