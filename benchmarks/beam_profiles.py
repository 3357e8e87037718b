"""`make bench-beam`: the Beam components on the full data, per runner profile.

Runs ExampleGen, StatisticsGen and Transform (`python -m orchestration.beam.stage`,
nothing cached) on IMDB_DATA (default: the shared dev archive) once per
profile: `direct` (in process), `local` (DirectRunner, worker processes) and
`portable` (a loopback job service with an external worker pool, started here
and stopped after), BEAM_WORKERS workers each (default 2). Prints seconds and
examples per second per component and profile, and writes a JSON file. A
benchmark, not a test: nothing here asserts a target.
"""

import json
import os
import subprocess
import sys
import time


# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
import contract
from orchestration.beam import cluster as beam_cluster
from orchestration.beam import profiles as beam_profiles
from pipeline import configs as config_lib

DEFAULT_PROFILES = (beam_profiles.DIRECT, beam_profiles.LOCAL,
                    beam_profiles.PORTABLE)
COMPONENTS = ('ImdbExampleGen', 'StatisticsGen', 'Transform')


def run_stage(data: str, output_dir: str, env) -> dict:
  """ExampleGen to Transform in a child process; seconds per component."""
  os.makedirs(output_dir, exist_ok=True)
  log_path = os.path.join(output_dir, 'bench-run.log')
  with open(log_path, 'w') as log:
    result = subprocess.run(
        [sys.executable, '-m', 'orchestration.beam.stage', '--data', data,
         '--output-dir', output_dir, '--no-cache'],
        cwd=common.PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=log,
        text=True, check=False)
  if result.returncode:
    raise SystemExit(f'error: the stage failed (exit {result.returncode}); '
                     f'see {log_path}')
  return json.loads(result.stdout.strip().splitlines()[-1])


def run_profile(profile: str, data: str, output_dir: str, workers: int):
  env = dict(beam_cluster.worker_environment(), BEAM_PROFILE=profile,
             BEAM_WORKERS=str(workers))
  for name in ('BEAM_ARGS', 'VERBOSE'):
    env.pop(name, None)
  if profile != beam_profiles.PORTABLE:
    return run_stage(data, output_dir, env)
  cluster_dir = os.path.join(output_dir, 'beam-cluster')
  cluster = beam_cluster.start(cluster_dir, job_port=0, worker_pool_port=0,
                               owner_pid=os.getpid())
  try:
    return run_stage(data, output_dir, {**env, **cluster.settings})
  finally:
    beam_cluster.stop(cluster_dir)


def main(argv=None) -> int:
  parser = common.argument_parser(__doc__.split('\n')[0], 'bench-beam',
                                  pipeline_args=False)
  parser.add_argument('--profiles', default=','.join(DEFAULT_PROFILES),
                      help='comma-separated (default %(default)s)')
  parser.add_argument('--workers', type=int,
                      default=int(os.environ.get('BEAM_WORKERS') or 2))
  args = parser.parse_args(argv)
  if not os.path.exists(args.data):
    parser.error(f'{args.data}: no such file or directory (set IMDB_DATA)')
  profiles = args.profiles.split(',')
  unknown = set(profiles) - set(DEFAULT_PROFILES)
  if unknown:
    parser.error(f'--profiles: {", ".join(sorted(unknown))}: only '
                 f'{", ".join(DEFAULT_PROFILES)} run on one machine')

  seconds = {}
  for profile in profiles:
    started = time.time()
    seconds[profile] = run_profile(
        profile, args.data, os.path.join(args.output_dir, profile),
        args.workers)
    print(f'{profile}: {time.time() - started:.0f} s', flush=True)

  # Every profile read the same data; count it once.
  config = config_lib.from_args(
      ['--output-dir', os.path.join(args.output_dir, profiles[0])], environ={})
  examples_uri = common.examples_uri(config.pipeline_root)
  counts = {split: common.count_examples(examples_uri, split)
            for split in (contract.TRAIN_SPLIT, contract.EVAL_SPLIT,
                          contract.TEST_SPLIT)}
  # What each component goes through: ExampleGen and StatisticsGen every
  # review, Transform's analysis the train split (it writes no transformed
  # copy, as in the pipeline).
  examples = {'ImdbExampleGen': sum(counts.values()),
              'StatisticsGen': sum(counts.values()),
              'Transform': counts[contract.TRAIN_SPLIT]}
  result = {'data': args.data, 'cpus': os.cpu_count(), 'workers': args.workers,
            'examples': examples, 'component_seconds': seconds}
  common.write_result(args.output_dir, 'bench-beam.json', result,
                      format_table)
  return 0


def format_table(r) -> str:
  profiles = list(r['component_seconds'])
  width = 22
  lines = [f'Beam profiles on {r["data"]} ({r["cpus"]} CPUs, '
           f'{r["workers"]} workers for local and portable)',
           f'  {"component (examples)":<28}'
           + ''.join(f'{p:>{width}}' for p in profiles)]
  for component in COMPONENTS:
    count = r['examples'][component]
    cells = []
    for profile in profiles:
      seconds = r['component_seconds'][profile][component]
      cells.append(f'{seconds:7.1f} s {count / seconds:7.0f}/s')
    lines.append(f'  {f"{component} ({count})":<28}'
                 + ''.join(f'{c:>{width}}' for c in cells))
  return '\n'.join(lines)


if __name__ == '__main__':
  sys.exit(main())
