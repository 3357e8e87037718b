"""`make bench-scale`: the pipeline on 1x, 2x, 4x and 8x the data.

For each factor, builds (or reuses, in outputs/bench-scale/data/) the
N-times data (benchmarks.scale_data: the original reviews, then synthetic
ones made of their sentences), runs `local_runner.py` on it cold in a fresh
output directory, and measures per component: wall seconds (ML Metadata),
CPU seconds and peak resident memory of the runner's whole process tree
(sampled from /proc, attributed to each component by its execution
interval). Fits cost = fixed + per review x reviews over the factors, for the
run and per component, and extrapolates to a million reviews. Then, at one
factor, ExampleGen alone on the directory form, to compare ingestion per
review with that factor's run's ExampleGen on the tarball. Prints a table;
writes bench-scale.json and bench-scale.png. A benchmark, not a test: nothing here asserts a target.
"""

import json
import os
import resource
import subprocess
import sys
import time
from typing import Any, Dict, List, Sequence

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from benchmarks import scale_data
from benchmarks import scale_measure
from benchmarks import scale_report
import contract
from pipeline import configs as config_lib

DEFAULT_FACTORS = (1, 2, 4, 8)
DATA_DIR = os.path.join(common.PROJECT_ROOT, 'outputs', 'bench-scale', 'data')
TOTAL = scale_report.TOTAL


def scaled_data(source: str, factor: int, data_dir: str, seed: int,
                as_directory: bool = False) -> str:
  """The N-times data of `source` in `data_dir`, built unless a complete
  copy from the same source file and seed is there already."""
  name = f'aclImdb_x{factor}' + ('' if as_directory else '.tar.gz')
  path = os.path.join(data_dir, name)
  recipe_path = os.path.join(data_dir, f'aclImdb_x{factor}'
                             + ('-dir' if as_directory else '') + '.json')
  stat = os.stat(source)
  recipe = {'source': os.path.abspath(source), 'size': stat.st_size,
            'mtime': stat.st_mtime, 'factor': factor, 'seed': seed,
            'tool': 'benchmarks.scale_data'}
  if os.path.exists(path) and os.path.exists(recipe_path):
    with open(recipe_path) as f:
      if json.load(f) == recipe:
        print(f'reusing {path}', flush=True)
        return path
  started = time.time()
  count = scale_data.build(source, factor, path, as_directory, seed)
  print(f'built {path}: {count} reviews in {time.time() - started:.0f} s',
        flush=True)
  with open(recipe_path, 'w') as f:
    json.dump(recipe, f)
  return path


def measured_run(command: Sequence[str], log_path: str,
                 interval: float) -> Dict[str, Any]:
  """Runs `command` with its process tree sampled; wall and CPU seconds
  (CPU exact, from the kernel's account of reaped children), the peak RSS
  of the tree, the samples, and its stdout."""
  os.makedirs(os.path.dirname(log_path), exist_ok=True)
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  started = time.time()
  with open(log_path, 'w') as log:
    child = subprocess.Popen(list(command), cwd=common.PROJECT_ROOT,
                             stdout=subprocess.PIPE, stderr=log, text=True)
    with scale_measure.TreeSampler(child.pid, interval) as sampler:
      stdout, _ = child.communicate()
  wall = time.time() - started
  with open(log_path, 'a') as log:
    log.write(stdout)
  if child.returncode:
    raise SystemExit(f'error: {command[1]} failed (exit {child.returncode}); '
                     f'see {log_path}')
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  cpu = ((after.ru_utime + after.ru_stime)
         - (before.ru_utime + before.ru_stime))
  samples = sampler.samples
  return {'wall_seconds': wall, 'cpu_seconds': cpu,
          'peak_rss_bytes': max((s.rss_bytes for s in samples), default=0),
          'samples': samples, 'stdout': stdout}


def per_component(config, measured, run_id: str) -> Dict[str, Dict]:
  """{component: wall_seconds, cpu_seconds, peak_rss_bytes}, plus what ran
  outside every component (start-up, imports, the run report) and TOTAL."""
  intervals = scale_measure.execution_intervals(
      config.metadata_path, run_id, config.pipeline_name)
  figures = scale_measure.attribute(measured['samples'], intervals)
  for interval in intervals:
    figures[interval.component]['wall_seconds'] = interval.end - interval.start
    figures[interval.component]['state'] = interval.state
  figures['outside components'] = {
      'wall_seconds': measured['wall_seconds'] - sum(
          f['wall_seconds'] for f in figures.values()),
      'cpu_seconds': max(0.0, measured['cpu_seconds'] - sum(
          f['cpu_seconds'] for f in figures.values())),
      'peak_rss_bytes': measured['peak_rss_bytes']}
  figures[TOTAL] = {key: measured[key] for key in
                    ('wall_seconds', 'cpu_seconds', 'peak_rss_bytes')}
  return figures


def review_count(config) -> int:
  uri = common.examples_uri(config.pipeline_root)
  return sum(common.count_examples(uri, split)
             for split in (contract.TRAIN_SPLIT, contract.EVAL_SPLIT,
                           contract.TEST_SPLIT))


def run_factor(data: str, output_dir: str, pipeline_args: List[str],
               interval: float) -> Dict[str, Any]:
  command = [sys.executable, common.LOCAL_RUNNER, '--data', data,
             '--output-dir', output_dir] + pipeline_args
  measured = measured_run(command, os.path.join(output_dir, 'bench-run.log'),
                          interval)
  config = _config(data, output_dir, pipeline_args)
  # pylint: disable=g-import-not-at-top
  from runs import summary
  run = summary.latest_run(config.metadata_path, config.pipeline_name)
  return {'data': data, 'reviews': review_count(config),
          'components': per_component(config, measured, run.run_id)}


def run_ingest(data: str, output_dir: str, pipeline_args: List[str],
               interval: float) -> Dict[str, Any]:
  """ExampleGen alone (benchmarks.scale_ingest) on `data`."""
  command = [sys.executable, '-m', 'benchmarks.scale_ingest', '--data', data,
             '--output-dir', output_dir] + pipeline_args
  measured = measured_run(command, os.path.join(output_dir, 'bench-run.log'),
                          interval)
  config = _config(data, output_dir, pipeline_args)
  run_id = json.loads(measured['stdout'].strip().splitlines()[-1])['run_id']
  figures = per_component(config, measured, run_id)
  return {'data': data, 'reviews': review_count(config),
          'example_gen': figures['ImdbExampleGen'], 'run': figures[TOTAL]}


def _config(data: str, output_dir: str, pipeline_args: List[str]):
  return config_lib.from_args(['--data', data, '--output-dir', output_dir]
                              + list(pipeline_args), environ={})


def fits(runs: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
  """{component: {figure: {'fixed', 'per_review'}}} over the factors, and
  each figure extrapolated to scale_report.MILLION reviews."""
  reviews = [r['reviews'] for r in runs]
  names = [n for n in runs[0]['components']
           if all(n in r['components'] for r in runs)]
  fitted = {}
  for name in names:
    fitted[name] = {}
    for figure in ('wall_seconds', 'cpu_seconds', 'peak_rss_bytes'):
      ys = [r['components'][name][figure] for r in runs]
      fixed, per_review = scale_measure.fit_line(reviews, ys)
      fitted[name][figure] = {
          'fixed': fixed, 'per_review': per_review,
          'at_million': (None if fixed is None
                         else fixed + per_review * scale_report.MILLION)}
  return fitted


def main(argv=None) -> int:
  parser = common.argument_parser(__doc__.split('\n')[0], 'bench-scale')
  parser.add_argument('--factors', type=int, nargs='+',
                      default=list(DEFAULT_FACTORS))
  parser.add_argument('--data-dir', default=DATA_DIR,
                      help='where the N-times data is built and reused '
                      '(default %(default)s)')
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--directory-factor', type=int, default=2,
                      help='the factor at which ExampleGen alone reads the '
                      'directory form, to compare with the tarball (0: not '
                      'at all; '
                      'default %(default)s, or the smallest factor if 2 is '
                      'not among them)')
  parser.add_argument('--sample-interval', type=float, default=0.2,
                      help='seconds between samples of the process tree')
  args = parser.parse_args(argv)
  if not os.path.exists(args.data):
    parser.error(f'{args.data}: no such file or directory (set IMDB_DATA)')
  if any(f < 1 for f in args.factors):
    parser.error(f'--factors {args.factors}: each must be at least 1')
  common.require_fresh_output_dir(parser, args.output_dir)
  factors = sorted(set(args.factors))
  directory_factor = args.directory_factor
  if directory_factor and directory_factor not in factors:
    directory_factor = factors[0]

  runs = []
  for factor in factors:
    data = scaled_data(args.data, factor, args.data_dir, args.seed)
    started = time.time()
    result = run_factor(data, os.path.join(args.output_dir, f'x{factor}'),
                        args.pipeline_args, args.sample_interval)
    result['factor'] = factor
    runs.append(result)
    print(f'{factor}x ({result["reviews"]} reviews): '
          f'{time.time() - started:.0f} s', flush=True)

  ingest = {}
  if directory_factor:
    # The tarball's ExampleGen is the one of that factor's whole run: the
    # same component on the same archive, measured the same way, with
    # nothing else running in its interval. Only the directory needs a run.
    [tarball_run] = [r for r in runs if r['factor'] == directory_factor]
    ingest['tarball'] = {
        'data': tarball_run['data'], 'reviews': tarball_run['reviews'],
        'example_gen': tarball_run['components']['ImdbExampleGen'],
        'measured_in': os.path.join(args.output_dir, f'x{directory_factor}')}
    directory_dir = os.path.join(args.output_dir, 'ingest-directory')
    ingest['directory'] = run_ingest(
        scaled_data(args.data, directory_factor, args.data_dir, args.seed,
                    as_directory=True),
        directory_dir, args.pipeline_args, args.sample_interval)
    ingest['directory']['measured_in'] = directory_dir
    print('ExampleGen alone on the directory: '
          f'{ingest["directory"]["example_gen"]["wall_seconds"]:.0f} s',
          flush=True)

  result = {'data': args.data, 'cpus': os.cpu_count(),
            'pipeline_args': args.pipeline_args, 'seed': args.seed,
            'runs': runs, 'fits': fits(runs),
            'ingest_factor': directory_factor or None, 'ingest': ingest,
            'targets': scale_report.TARGETS}
  result['plot'] = scale_report.plot(
      result, os.path.join(args.output_dir, 'bench-scale.png'))
  common.write_result(args.output_dir, 'bench-scale.json', result,
                      scale_report.format_table)
  return 0


if __name__ == '__main__':
  sys.exit(main())
