"""The run report: one self-contained HTML file per run, with its plots.

    python -m runs.report [--output-dir DIR]   # again, for the latest run

Built only from what the run left behind, found through ML Metadata (see
`summary.latest_run`): StatisticsGen's statistics (examples per split, label
balance), ExampleValidator's and DistributionValidator's anomalies, the
Examples tokenized by the run's Transform graph with its vocabulary (review
lengths, top words, the out-of-vocabulary rate), the Trainer's training.json
(warm start) and TensorBoard logs (training curves), and TFMA's evaluation
(metrics overall and per slice, confusion matrix, calibration, the baseline
comparison and the validation result), with the release.json of the pushed
versions to name the baseline's, and the test reviews the model got most
wrong, explained by its `explain` signature (report_explanations.py).
Nothing is trained or evaluated again.

Written to `<output_dir>/runs/<run>/report.html` beside its PNGs (embedded in
the HTML as data URIs, so the file stands alone) and copied to
`<output_dir>/report.html`, always the latest run's. This module lays out the
sections; report_data.py reads the artifacts, report_plots.py draws.
"""

import argparse
import html
import os
import sys
from typing import Optional

import numpy as np

import contract
from contract import evaluation
from contract import lineage
from runs import report_classes as classes
from runs import report_data as data
from runs import report_explanations
from runs import report_html
from runs import report_plots as plots
from runs import report_reuse
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
  by_class = classes.class_counts(statistics_uri)
  if by_class:
    # A table: its class names, however many.
    report.add('<p>Examples per split and class (share of the split).</p>')
    report.add(classes.class_counts_table(by_class, order))
  else:
    report.add(report_html.table(
        ['split', 'examples', 'positive', 'negative', 'positive share'],
        [[s, f'{splits[s][0]:,}', f'{round(splits[s][0] * splits[s][1]):,}',
          f'{splits[s][0] - round(splits[s][0] * splits[s][1]):,}',
          f'{splits[s][1]:.1%}'] for s in order]))
    _figure(report, plots.split_labels(order, splits), 'data_splits',
            'Examples per split, by label.')

  examples_uri = next(
      (uri for uri in (data.first_uri(run, gen, 'Examples')
                       for gen in contract.EXAMPLE_GEN_IDS) if uri), None)
  transform_uri = data.first_uri(run, 'Transform', 'TransformGraph')
  if not examples_uri or not transform_uri:
    report.missing('Examples or Transform graph')
    return
  vocabulary = data.vocabulary(transform_uri)
  tokenizer = transform_tokenizer.TransformTokenizer(transform_uri)
  tokenized = {split: data.read_evenly_spaced_texts(
      examples_uri, split, splits[split][0], data.TOKENIZED_REVIEWS)
               for split in order}
  stats = {split: data.token_statistics(tokenized[split], tokenizer,
                                        vocabulary) for split in order}
  lengths = {split: np.array(stats[split].lengths, dtype=np.int64)
             for split in order}
  sampled = [f'{split} {len(tokenized[split]):,} of {splits[split][0]:,}'
             for split in order if len(tokenized[split]) < splits[split][0]]
  if sampled:
    report.add('<p>Words, lengths and out-of-vocabulary rates below are '
               'counted on evenly spaced reviews of the larger splits ('
               + ', '.join(sampled) + ').</p>')
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


def _anomalies_table(report: Report, found) -> None:
  report.add(report_html.table(
      ['split', 'feature', 'anomaly', 'details'],
      [[split, *anomaly] for split, anomalies in found.items()
       for anomaly in anomalies]))


def validation_section(report: Report, run: RunSummary) -> None:
  """ExampleValidator's verdict (the statistics against the schema) and
  DistributionValidator's (against the previous span's statistics)."""
  report.add('<h2>Data validation</h2>')
  checked = data.first_record(run.outputs, 'ExampleValidator', 'anomalies')
  if checked is None:
    report.missing('ExampleValidator anomalies')
  else:
    found = data.anomalies(checked.uri)
    splits = ', '.join(found) or 'no split'
    if any(found.values()):
      report.add('<p>ExampleValidator (the statistics against the schema) '
                 'found anomalies:</p>')
      _anomalies_table(report, {s: a for s, a in found.items() if a})
    else:
      report.add('<p>ExampleValidator (the statistics against the schema): '
                 f'no anomalies in {html.escape(splits)}.</p>')
  drift = data.first_record(run.outputs, 'DistributionValidator', 'anomalies')
  if drift is None:
    report.add('<p>No drift check: DistributionValidator is not part of '
               'this run.</p>')
    return
  previous = data.first_record(run.inputs, 'DistributionValidator',
                               'baseline_statistics')
  verdicts = drift.properties.get('blessed') or {}
  found = data.anomalies(drift.uri)
  if previous is None or (verdicts and all(
      v == data.NO_BASELINE_STATISTICS for v in verdicts.values())):
    report.add('<p>DistributionValidator (drift from the previous span): no '
               f'previous span to compare with (span {run.ingested_span or 0}'
               ' is the first).</p>')
  elif any(found.values()):
    report.add('<p>DistributionValidator found drift from the previous span '
               f'(span {previous.span}):</p>')
    _anomalies_table(report, {s: a for s, a in found.items() if a})
  else:
    report.add('<p>DistributionValidator (drift from the previous span, '
               f'span {previous.span}): no anomalies in '
               f'{html.escape(", ".join(found))}.</p>')


def _warm_start_paragraph(report: Report, run: RunSummary,
                          serving_dir: str) -> None:
  if not run.warm_start:
    report.missing(f'The Trainer\'s {contract.TRAINING_FILE}')
    return
  text = summary_lib.warm_start_text(run)
  source = run.warm_start.get('warm_started_from')
  version = (data.pushed_version_of(os.path.dirname(source.rstrip('/')),
                                    serving_dir) if source else None)
  if version is not None:
    text += f'; that model was pushed as version {version}'
  report.add(f'<p>Warm start: {html.escape(text)}.</p>')


def training_section(report: Report, run: RunSummary,
                     serving_dir: str) -> None:
  report.add('<h2>Training</h2>')
  _warm_start_paragraph(report, run, serving_dir)
  model_run_uri = data.first_uri(run, 'Trainer', 'ModelRun')
  curves = data.epoch_curves(model_run_uri) if model_run_uri else {}
  if not curves:
    report.missing('Trainer TensorBoard logs')
    return
  cached = (' (of the earlier run that trained the model: this run\'s '
            'Trainer was cached)' if run.state_of('Trainer') == 'cached'
            else '')
  _figure(report, plots.training_curves(curves), 'training_curves',
          'Loss and metrics per epoch on the train split and on eval '
          f'(validation, early stopping){cached}.')
  epochs = max(len(v) for c in curves.values() for v in c.values())
  report.add(f'<p>{epochs} epoch(s) trained, each ending in a check of the '
             'eval loss (on larger data an epoch is part of a pass over '
             'train: <code>examples_per_check</code>).</p>')


def _change_cell(name: str, value, base) -> str:
  if value is None or base is None:
    return '—'
  verdict = data.change_verdict(name, value, base)
  return f'{value - base:+.4f}' + (f' ({verdict})' if verdict else '')


def baseline_text(run: RunSummary, serving_dir: str) -> str:
  """Which model the baseline is: its pushed version, else its artifact."""
  model = data.first_record(run.inputs, 'Evaluator', 'baseline_model')
  if model is None:
    return 'the latest blessed model'
  version = data.pushed_version_of(model.uri, serving_dir)
  candidate = data.first_record(run.inputs, 'Evaluator', 'model')
  same = (' (the candidate itself)'
          if candidate is not None and candidate.id == model.id else '')
  if version is None:
    return (f'the latest blessed model, model artifact {model.id}{same}, '
            'not among the pushed versions')
  return (f'the latest blessed model, pushed as version {version} (model '
          f'artifact {model.id}){same}')


def overall_subsection(report: Report, overall, baseline_overall,
                       baseline_name: str) -> None:
  names = summary_lib.ordered_metric_names(
      set(overall) | set(baseline_overall))
  rows = []
  for name in names:
    value, base = overall.get(name), baseline_overall.get(name)
    count = name.endswith('example_count')
    rows.append([name, summary_lib.format_number(value, count),
                 summary_lib.format_number(base, count),
                 _change_cell(name, value, base),
                 data.better_direction(name) or ''])
  report.add('<h3>Overall, and the baseline</h3>')
  if baseline_overall:
    report.add(f'<p>Baseline: {html.escape(baseline_name)}, evaluated on the '
               'same examples in the same Evaluator run. Change: candidate '
               'minus baseline, better or worse by the metric\'s better '
               'direction.</p>')
  else:
    report.add('<p>No baseline: no model had been blessed before this run, '
               'so only the absolute thresholds applied.</p>')
  report.add(report_html.table(
      ['metric', 'candidate', 'baseline', 'change', 'better when'], rows))
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


def _plots_subsection(report: Report, evaluation_uri: str,
                      class_names=None) -> None:
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
        matrix = classes.multi_class_matrix(tfma_plots)
        if matrix:
          report.add('<p>Confusion matrix on the test split (TFMA '
                     'MultiClassConfusionMatrixPlot: the most probable class '
                     'is the prediction).</p>')
          report.add(classes.confusion_table(matrix, class_names))
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


def evaluation_section(report: Report, run: RunSummary,
                       serving_dir: str) -> None:
  report.add('<h2>Evaluation (test split)</h2>')
  evaluation_uri = _uri_or_missing(report, run, 'Evaluator',
                                   'ModelEvaluation', 'Evaluator evaluation')
  if not evaluation_uri:
    return
  candidate = evaluation.evaluation_metrics(evaluation_uri)
  baseline = evaluation.evaluation_metrics(evaluation_uri,
                                           evaluation.BASELINE)
  overall_subsection(report, candidate.get((), {}), baseline.get((), {}),
                     baseline_text(run, serving_dir))
  _slices_subsection(report, candidate, baseline)
  _plots_subsection(report, evaluation_uri, classes.class_names(
      data.first_uri(run, 'Trainer', 'Model')))


# Where the link to a reused report goes, until the page is written.
_SOURCE_LINK = '\x00reused-report\x00'


def write_report(run: RunSummary, run_dir: str, pipeline_name: str,
                 output_dir: str) -> str:
  """Writes the report of `run` (of the pipeline `pipeline_name`) into
  `run_dir`, copies it to `<output_dir>/report.html`, and returns the path
  in `run_dir`."""
  os.makedirs(run_dir, exist_ok=True)
  report = Report(run_dir)
  serving_dir = data.serving_dir(run, output_dir)
  key = report_reuse.key_of(run, serving_dir)
  reused = report_reuse.find(os.path.dirname(run_dir), key, exclude=run_dir)
  source_dir, sections, figures = reused or (None, {}, [])
  computed = {}

  def reusable(group: str, *build) -> None:
    """The sections of `build`: reused when the earlier report has them."""
    if group in sections:
      report.sections.extend(sections[group])
      return
    start, figures_before = len(report.sections), set(report.figures)
    for section in build:
      section()
    computed[group] = report.sections[start:]
    figures.extend(sorted(set(report.figures) - figures_before))

  outcome_section(report, run)
  if source_dir:
    # The link is made relative to each copy of the page (below).
    report.add(
        '<p>Nothing this run read or wrote is new: the data, evaluation and '
        f'explanation sections below are those of the report of <a href="'
        f'{_SOURCE_LINK}">{html.escape(os.path.basename(source_dir))}</a>, '
        'reused rather than computed again.</p>')
    report_reuse.copy_figures(source_dir, figures, run_dir)
  reusable('data', lambda: data_section(report, run))
  validation_section(report, run)
  training_section(report, run, serving_dir)
  reusable('evaluation',
           lambda: evaluation_section(report, run, serving_dir),
           lambda: report_explanations.explanation_section(report, run))
  report_reuse.save(run_dir, key, {**sections, **computed}, figures)
  page = report.page(f'{pipeline_name}: run {run.run_id}')
  path = os.path.join(run_dir, REPORT_FILE)
  for destination in (path, os.path.join(output_dir, REPORT_FILE)):
    link = (os.path.relpath(os.path.join(source_dir, REPORT_FILE),
                            os.path.dirname(destination))
            if source_dir else '')
    with open(destination, 'w', encoding='utf-8') as f:
      f.write(page.replace(_SOURCE_LINK, html.escape(link)))
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
