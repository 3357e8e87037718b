"""What the benchmarks share: where data and results go, running the
pipeline in a child process, counting examples, writing the result.

A benchmark prints figures and writes them as JSON; it asserts no target.
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
from typing import Any, Callable, Dict, Sequence, Tuple

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_ARCHIVE = os.path.join(os.path.dirname(PROJECT_ROOT), 'shared', 'data',
                              'aclImdb_dev.tar.gz')
LOCAL_RUNNER = os.path.join(PROJECT_ROOT, 'local_runner.py')


def argument_parser(description: str, results_dir: str,
                    pipeline_args: bool = True) -> argparse.ArgumentParser:
  """--data (default IMDB_DATA, else the shared dev archive), --output-dir
  (default a fresh outputs/<results_dir>/<time>/) and, if `pipeline_args`,
  extra pipeline flags after `--`."""
  parser = argparse.ArgumentParser(description=description)
  parser.add_argument('--data', default=os.environ.get('IMDB_DATA')
                      or SHARED_ARCHIVE)
  parser.add_argument('--output-dir', default=os.path.join(
      PROJECT_ROOT, 'outputs', results_dir,
      datetime.datetime.now().strftime('%Y%m%d-%H%M%S')))
  if pipeline_args:
    parser.add_argument('pipeline_args', nargs='*',
                        help='extra flags for the pipeline, after --')
  return parser


def require_fresh_output_dir(parser: argparse.ArgumentParser,
                             output_dir: str) -> None:
  """A benchmark measures uncached runs: its output directory starts empty."""
  if os.path.exists(output_dir) and os.listdir(output_dir):
    parser.error(f'{output_dir}: exists and is not empty; a benchmark needs '
                 'a fresh output directory (nothing cached)')


def run_pipeline(data: str, output_dir: str, extra_args: Sequence[str],
                 log_path: str) -> Tuple[float, float]:
  """local_runner.py in a child process, its output in `log_path`;
  wall seconds and the peak resident memory of any child so far (GB)."""
  command = [sys.executable, LOCAL_RUNNER, '--data', data,
             '--output-dir', output_dir] + list(extra_args)
  os.makedirs(os.path.dirname(log_path), exist_ok=True)
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


def examples_uri(pipeline_root: str,
                 example_gen: str = 'ImdbExampleGen') -> str:
  """The one Examples artifact of a fresh benchmark run."""
  return artifact_uri(pipeline_root, example_gen, 'examples')


def artifact_uri(pipeline_root: str, component: str, output: str) -> str:
  """The one artifact of a component's output in a fresh benchmark run."""
  [uri] = glob.glob(os.path.join(pipeline_root, component, output, '*'))
  return uri


def count_examples(uri: str, split: str) -> int:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  files = glob.glob(os.path.join(uri, f'Split-{split}', '*'))
  return sum(1 for _ in tf.data.TFRecordDataset(files,
                                                compression_type='GZIP'))


def directory_megabytes(path: str) -> float:
  return sum(os.path.getsize(os.path.join(root, name))
             for root, _, names in os.walk(path) for name in names) / 1e6


def standard_error(accuracy: float, count: float):
  """One standard error of an accuracy measured on `count` examples."""
  return (accuracy * (1 - accuracy) / count) ** 0.5 if count else None


def write_result(output_dir: str, file_name: str, result: Dict[str, Any],
                 format_table: Callable[[Dict[str, Any]], str]) -> str:
  """Writes the result as JSON and prints its table; the JSON's path."""
  path = os.path.join(output_dir, file_name)
  with open(path, 'w') as f:
    json.dump(result, f, indent=1)
  print(format_table(result))
  print(f'written: {path}')
  return path
