"""The run report: one self-contained HTML file per run, with its plots.

    python -m runs.report [--output-dir DIR]   # again, for the latest run

Built only from what the run left behind, found through ML Metadata (see
`summary.latest_run`): StatisticsGen's statistics (examples per split, label
balance), the Examples tokenized by the run's Transform graph with its
vocabulary (review lengths, top words, the out-of-vocabulary rate), the
Trainer's TensorBoard logs (training curves), and TFMA's evaluation (metrics
overall and per slice, confusion matrix, calibration, the baseline comparison
and the validation result). Nothing is trained or evaluated again.

Written to `<output_dir>/runs/<run>/report.html` beside its PNGs (embedded in
the HTML as data URIs, so the file stands alone) and copied to
`<output_dir>/report.html`, always the latest run's. This module lays out the
sections; report_data.py reads the artifacts, report_plots.py draws.
"""

import argparse
import html
import os
import shutil
import sys
from typing import Optional

import numpy as np

import contract
from contract import evaluation
from contract import lineage
from runs import report_data as data
from runs import report_html
from runs import report_plots as plots
from runs import summary as summary_lib
from runs import transform_tokenizer

REPORT_FILE = 'report.html'
_TOP_WORDS = 25

Report = report_html.Report
RunSummary = summary_lib.RunSummary


def _figure(report: Report, fig, name: str, caption: str) -> None:
  report.figure(plots.png(fig), name, caption)


def outcome_section(report: Report, run: RunSummary) -> None:
  if run.blessed is None:
    outcome = 'The Evaluator did not run.'
  elif run.blessed:
    outcome = 'Blessed: every threshold met.'
  else:
    outcome = 'Not blessed: ' + '; '.join(run.not_blessed_because)
  if run.pushed:
    pushed = (f'Pushed as version {run.pushed_version}: '
              f'<code>{html.escape(run.serving_model_dir or "")}</code>')
  elif run.identical_to_version:
    pushed = ('Nothing new pushed: identical to the served version '
              f'{html.escape(run.identical_to_version)}.')
  else:
    pushed = 'Nothing pushed.'
  report.add(f'<p class="outcome">{html.escape(outcome)}<br>{pushed}</p>')
  report.add(report_html.table(
      ['component', 'status', 'seconds'],
      [[n, s, f'{t:.1f}'] for n, s, t in run.components]))


def _uri_or_missing(report: Report, run: RunSummary, component: str,
                    type_name: str, what: str) -> Optional[str]:
  """A section's artifact; when the run has none, the report says so."""
  uri = data.first_uri(run, component, type_name)
  if not uri:
    report.missing(what)
  return uri


def data_section(report: Report, run: RunSummary) -> None:
  report.add('<h2>Data</h2>')
  statistics_uri = _uri_or_missing(report, run, 'StatisticsGen',
                                   'ExampleStatistics',
                                   'StatisticsGen statistics')
  if not statistics_uri:
    return
  splits = data.split_statistics(statistics_uri)
  order = data.split_order(splits)
  report.add(report_html.table(
      ['split', 'examples', 'positive', 'negative', 'positive share'],
      [[s, f'{splits[s][0]:,}', f'{round(splits[s][0] * splits[s][1]):,}',
        f'{splits[s][0] - round(splits[s][0] * splits[s][1]):,}',
        f'{splits[s][1]:.1%}'] for s in order]))
  _figure(report, plots.split_labels(order, splits), 'data_splits',
          'Examples per split, by label.')

  examples_uri = data.first_uri(run, 'ImdbExampleGen', 'Examples')
  transform_uri = data.first_uri(run, 'Transform', 'TransformGraph')
  if not examples_uri or not transform_uri:
    report.missing('Examples or Transform graph')
    return
  vocabulary = data.vocabulary(transform_uri)
  tokenizer = transform_tokenizer.TransformTokenizer(transform_uri)
  stats = {split: data.token_statistics(
      data.read_texts(examples_uri, split), tokenizer, vocabulary)
           for split in order}
  lengths = {split: np.array(stats[split].lengths, dtype=np.int64)
             for split in order}
  _figure(report, plots.review_lengths(lengths), 'data_review_length',
          'Review length in words, per split, as the Transform graph '
          'splits words.')
  report.add(report_html.table(
      ['split', 'median words', 'mean words', 'longest'],
      [[s, f'{np.median(lengths[s]):.0f}', f'{np.mean(lengths[s]):.1f}',
        f'{np.max(lengths[s]):,}'] for s in order if len(lengths[s])]))
  train = (stats.get(contract.TRAIN_SPLIT) or stats[order[0]]).words
  _figure(report, plots.top_words(train.most_common(_TOP_WORDS)),
          'data_top_tokens', 'Most frequent words of the training split, '
          'as the Transform graph splits them.')

  if vocabulary is None:
    report.add('<p>No out-of-vocabulary rate: this run\'s Transform used no '
               'vocabulary (hashed n-gram ids), so every n-gram has an '
               'id.</p>')
    return
  ngrams = data.ngram_settings(run)
  report.add('<p>Out-of-vocabulary rate: the share of n-gram occurrences '
             f'(up to {ngrams["ngram_max"]}-grams of the first '
             f'{ngrams["max_words"]} words of each review) not among the '
             f'{len(vocabulary):,} entries of the Transform vocabulary; '
             'they fall into the OOV bucket.</p>')
  report.add(report_html.table(
      ['split', 'n-grams', 'out of vocabulary', 'OOV rate'],
      [[split, f'{stats[split].ngrams:,}',
        f'{stats[split].out_of_vocabulary:,}',
        f'{stats[split].out_of_vocabulary / stats[split].ngrams:.2%}'
        if stats[split].ngrams else '—'] for split in order]))


def training_section(report: Report, run: RunSummary) -> None:
  report.add('<h2>Training</h2>')
  model_run_uri = data.first_uri(run, 'Trainer', 'ModelRun')
  curves = data.epoch_curves(model_run_uri) if model_run_uri else {}
  if not curves:
    report.missing('Trainer TensorBoard logs')
    return
  _figure(report, plots.training_curves(curves), 'training_curves',
          'Loss and metrics per epoch on the train split and on eval '
          '(validation, early stopping).')
  epochs = max(len(v) for c in curves.values() for v in c.values())
  report.add(f'<p>{epochs} epoch(s) trained.</p>')


def _overall_subsection(report: Report, overall, baseline_overall) -> None:
  names = summary_lib.ordered_metric_names(
      set(overall) | set(baseline_overall))
  rows = []
  for name in names:
    value, base = overall.get(name), baseline_overall.get(name)
    change = (value - base if value is not None and base is not None
              else None)
    count = name.endswith('example_count')
    rows.append([name, summary_lib.format_number(value, count),
                 summary_lib.format_number(base, count),
                 '—' if change is None else f'{change:+.4f}'])
  report.add('<h3>Overall, and the baseline</h3>')
  if baseline_overall:
    report.add('<p>Baseline: the latest blessed model, evaluated on the same '
               'examples in the same Evaluator run.</p>')
  else:
    report.add('<p>No baseline: no model had been blessed before this run, '
               'so only the absolute thresholds applied.</p>')
  report.add(report_html.table(['metric', 'candidate', 'baseline', 'change'],
                               rows))
  shown = [n for n in data.plotted_overall_metrics(names)
           if n in overall and n in baseline_overall]
  if shown:
    _figure(report, plots.baseline_comparison(shown, overall,
                                              baseline_overall),
            'baseline_comparison',
            'Overall metrics of the candidate and the baseline: one axis '
            'per output and unit, each starting near its smallest value '
            '(the axis says where).')


def _slices_subsection(report: Report, candidate, baseline) -> None:
  report.add('<h3>Per slice</h3>')
  baseline_features = data.slice_features(baseline)
  for column, slices in data.slice_features(candidate).items():
    names, single_class = data.plotted_slice_metrics(slices)
    if not names:
      continue
    note = (' Every slice holds a single label, so AUC, precision, recall '
            'and calibration are left out.' if single_class else '')
    _figure(report, plots.slice_metrics(column, names, slices,
                                        baseline_features.get(column, [])),
            f'slices_{column}',
            f'TFMA metrics per {column} slice; n = examples in the slice; '
            f'each axis starts near its smallest value.{note}')


def _plots_subsection(report: Report, evaluation_uri: str) -> None:
  report.add('<h3>Confusion matrix and calibration</h3>')
  result = evaluation.load_evaluation(evaluation_uri)
  if result is None:
    report.missing('The candidate\'s TFMA plots')
    return
  for slice_key, plots_by_output in result.plots:
    if tuple(slice_key) != ():
      continue
    for output_name, by_sub_key in plots_by_output.items():
      suffix = f'_{output_name}' if output_name else ''
      row = []  # an output's two plots side by side
      for tfma_plots in by_sub_key.values():
        if 'confusionMatrixAtThresholds' in tfma_plots:
          matrix = data.confusion_at_threshold(tfma_plots)
          if matrix:
            row.append((
                plots.png(plots.confusion_matrix(matrix)),
                f'confusion_matrix{suffix}',
                'Confusion matrix on the test split (TFMA '
                'ConfusionMatrixPlot at the decision threshold)'
                + (f', output {output_name}' if output_name else '') + '.'))
        if 'calibrationHistogramBuckets' in tfma_plots:
          bins = data.calibration_bins(tfma_plots)
          if bins['examples'].any():
            row.append((
                plots.png(plots.calibration(bins)), f'calibration{suffix}',
                'Calibration: observed positive share against the mean '
                f'prediction in {data.CALIBRATION_BINS} probability bins '
                '(TFMA CalibrationPlot).'))
      if row:
        report.figure_row(row)


def evaluation_section(report: Report, run: RunSummary) -> None:
  report.add('<h2>Evaluation (test split)</h2>')
  evaluation_uri = _uri_or_missing(report, run, 'Evaluator',
                                   'ModelEvaluation', 'Evaluator evaluation')
  if not evaluation_uri:
    return
  candidate = evaluation.evaluation_metrics(evaluation_uri)
  baseline = evaluation.evaluation_metrics(evaluation_uri,
                                           evaluation.BASELINE)
  _overall_subsection(report, candidate.get((), {}), baseline.get((), {}))
  _slices_subsection(report, candidate, baseline)
  _plots_subsection(report, evaluation_uri)


def write_report(run: RunSummary, run_dir: str, pipeline_name: str,
                 output_dir: str) -> str:
  """Writes the report of `run` (of the pipeline `pipeline_name`) into
  `run_dir`, copies it to `<output_dir>/report.html`, and returns the path
  in `run_dir`."""
  os.makedirs(run_dir, exist_ok=True)
  report = Report(run_dir)
  outcome_section(report, run)
  data_section(report, run)
  training_section(report, run)
  evaluation_section(report, run)
  path = os.path.join(run_dir, REPORT_FILE)
  with open(path, 'w', encoding='utf-8') as f:
    f.write(report.page(f'{pipeline_name}: run {run.run_id}'))
  shutil.copyfile(path, os.path.join(output_dir, REPORT_FILE))
  return path


def run_dir_name(run_id: str) -> str:
  """A directory name for a run id (an ISO timestamp): no colons."""
  return run_id.replace(':', '').replace('.', '-')


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      description='Write the report of the latest run again.')
  parser.add_argument('--output-dir', default=os.environ.get(
      'OUTPUT_DIR', contract.DEFAULT_OUTPUT_DIR),
                      help='The run\'s output directory (env OUTPUT_DIR).')
  parser.add_argument('--pipeline-name', default=contract.MODEL_NAME)
  parser.add_argument('--metadata-path', help='ML Metadata\'s SQLite file '
                      '(default: <output-dir>/metadata/metadata.sqlite).')
  parser.add_argument('--run-dir', help='Where to write it (default: '
                      '<output-dir>/runs/<run id>).')
  args = parser.parse_args(argv)
  output_dir = os.path.abspath(args.output_dir)
  metadata_path = args.metadata_path or lineage.metadata_path_of(output_dir)
  run = summary_lib.latest_run(metadata_path, args.pipeline_name)
  if run is None:
    print(f'error: {metadata_path}: no pipeline run recorded',
          file=sys.stderr)
    return 1
  run_dir = args.run_dir or os.path.join(
      output_dir, 'runs', run_dir_name(run.run_id))
  print(write_report(run, run_dir, args.pipeline_name, output_dir))
  return 0


if __name__ == '__main__':
  sys.exit(main())
