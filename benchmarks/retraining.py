"""`make bench-retraining`: warm start vs from scratch on the real data as two
spans, and the wall time of a run with no new data.

The dev archive (IMDB_DATA, default ../shared/data/aclImdb_dev.tar.gz) is
split by review id into two spans, each with half of train/ and half of
test/, in a fresh data root of spans. Then, in one output directory, as a
scheduler would run it:

1. span 1 arrives: a run (trained from scratch: nothing is blessed yet);
2. span 2 arrives: a run that warm-starts from the span-1 model;
3. nothing new: the same command again (everything cached, nothing pushed);
4. span 2 again with `--no-warm-start`: the same data trained from scratch
   (Transform cached; the Evaluator compares it with step 2's model).

Prints seconds per run, Trainer seconds and the test accuracy of each model
on span 2's test split (with its standard error). Pipeline flags go after
`--` (default: hashing tokenization, which keeps every model compatible);
`-- --tokenization vocabulary` shows a vocabulary model falling back to from
scratch. A benchmark: nothing here asserts a target.
"""

import os
import sys
import tarfile
import zlib


# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from components.imdb_example_gen import layout
import contract
from pipeline import configs as config_lib

DEFAULT_PIPELINE_ARGS = ['--tokenization', 'hashing']


def span_of_review(member_name: str) -> int:
  """1 or 2, by a stable hash of the review's file name."""
  return 1 + zlib.crc32(os.path.basename(member_name).encode()) % 2


def write_two_spans(archive: str, data_root: str) -> dict:
  """Extracts train/ and test/ reviews into span-1/ and span-2/; counts."""
  counts = {}
  with tarfile.open(archive, 'r|gz') as tar:
    for member in tar:
      parts = member.name.split('/')
      if not member.isfile() or len(parts) < 3:
        continue
      location = None
      for split in (contract.TRAIN_SPLIT, contract.TEST_SPLIT):
        location = location or layout.review_location(member.name, split)
        if location:
          label_dir, file_name = location
          span = span_of_review(member.name)
          path = os.path.join(data_root, f'span-{span}', split, label_dir,
                              file_name)
          os.makedirs(os.path.dirname(path), exist_ok=True)
          with open(path, 'wb') as f:
            f.write(tar.extractfile(member).read())
          counts[(span, split)] = counts.get((span, split), 0) + 1
          break
  return {f'span-{span}/{split}': n for (span, split), n in sorted(
      counts.items())}


def run(data_root: str, output_dir: str, args, log_path: str) -> dict:
  """One pipeline run; its wall time and what the summary reports."""
  seconds, _ = common.run_pipeline(data_root, output_dir, args, log_path)
  # pylint: disable=g-import-not-at-top
  from contract import evaluation
  from runs import summary
  # pylint: enable=g-import-not-at-top
  config = config_lib.from_args(['--data', data_root, '--output-dir',
                                 output_dir] + list(args), environ={})
  latest = summary.latest_run(config.metadata_path, config.pipeline_name)
  states = {name: state for name, state, _ in latest.components}
  accuracy = latest.metrics.get(evaluation.metric_name(
      contract.PROBABILITY_OUTPUT_KEY, '', 'binary_accuracy'))
  count = latest.metrics.get(evaluation.metric_name(
      contract.PROBABILITY_OUTPUT_KEY, '', 'example_count'))
  return {
      'wall_seconds': seconds,
      'trainer_seconds': next(s for n, _, s in latest.components
                              if n == 'Trainer'),
      'trainer_state': states.get('Trainer'),
      'cached': sorted(n for n, s in states.items() if s == 'cached'),
      'test_accuracy': accuracy,
      'test_accuracy_standard_error': common.standard_error(accuracy, count)
                                      if accuracy else None,
      'test_examples': count,
      'warm_start': latest.warm_start,
      'pushed_version': latest.pushed_version,
      'blessed': latest.blessed,
      'log': log_path,
  }


def main(argv=None) -> int:
  parser = common.argument_parser(__doc__.split('\n')[0], 'bench-retraining')
  args = parser.parse_args(argv)
  if not layout.is_archive(args.data) or not os.path.isfile(args.data):
    parser.error(f'{args.data}: expected the IMDB .tar.gz archive')
  common.require_fresh_output_dir(parser, args.output_dir)
  pipeline_args = list(args.pipeline_args) or DEFAULT_PIPELINE_ARGS
  data_root = os.path.join(args.output_dir, 'reviews')
  staged = os.path.join(args.output_dir, 'incoming')
  outputs = os.path.join(args.output_dir, 'outputs')
  counts = write_two_spans(args.data, staged)
  os.makedirs(data_root)

  def arrive(span):
    os.rename(os.path.join(staged, f'span-{span}'),
              os.path.join(data_root, f'span-{span}'))

  def log(name):
    return os.path.join(args.output_dir, f'{name}.log')

  results = {}
  arrive(1)
  results['span 1 (from scratch)'] = run(data_root, outputs, pipeline_args,
                                         log('span1'))
  arrive(2)
  results['span 2, warm start'] = run(data_root, outputs, pipeline_args,
                                      log('span2-warm'))
  results['no new data'] = run(data_root, outputs, pipeline_args,
                               log('no-new-data'))
  results['span 2, from scratch'] = run(
      data_root, outputs, pipeline_args + ['--no-warm-start'],
      log('span2-scratch'))

  report = {'data': args.data, 'spans': counts, 'pipeline_args': pipeline_args,
            'cpus': os.cpu_count(), 'runs': results}
  common.write_result(args.output_dir, 'bench-retraining.json', report,
                      format_table)
  return 0


def format_table(report) -> str:
  lines = [f'Retraining on {report["data"]} as two spans '
           f'({report["spans"]}), flags {" ".join(report["pipeline_args"])}, '
           f'{report["cpus"]} CPUs',
           f'  {"run":<24} {"wall s":>8} {"Trainer s":>10} {"Trainer":>9} '
           f'{"test accuracy":>22}  warm start']
  for name, r in report['runs'].items():
    accuracy = (f'{r["test_accuracy"]:.4f} ± {r["test_accuracy_standard_error"]:.4f}'
                if r['test_accuracy'] is not None else '-')
    warm = r['warm_start'] or {}
    lines.append(
        f'  {name:<24} {r["wall_seconds"]:8.1f} {r["trainer_seconds"]:10.1f} '
        f'{r["trainer_state"] or "-":>9} {accuracy:>22}  '
        f'{"yes" if warm.get("warm_started_from") else "no"} '
        f'({warm.get("reason", "-")})')
  return '\n'.join(lines)


if __name__ == '__main__':
  sys.exit(main())
