"""The run report: one self-contained HTML file per run, with its plots.

    python -m pipeline.report [--output-dir DIR]   # again, for the latest run

Built only from what the run left behind, found through ML Metadata (see
`summary.latest_run`): StatisticsGen's statistics (examples per split, label
balance), the Examples and the Transform graph's vocabulary (review lengths,
top n-grams, the out-of-vocabulary rate), the Trainer's TensorBoard logs
(training curves), and TFMA's evaluation (metrics overall and per slice,
confusion matrix, calibration, the baseline comparison and the validation
result). Nothing is trained or evaluated again.

Written to `<output_dir>/runs/<run>/report.html` beside its PNGs (embedded in
the HTML as data URIs, so the file stands alone) and copied to
`<output_dir>/report.html`, always the latest run's.
"""

import argparse
import base64
import collections
import html
import io
import json
import math
import os
import shutil
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib
matplotlib.use('Agg')  # files only, never a window
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
# Artifacts may be on object storage: read them through TFX's filesystem.
from tfx.dsl.io import fileio  # pylint: disable=g-import-not-at-top

import contract  # pylint: disable=g-import-not-at-top
from contract import evaluation  # pylint: disable=g-import-not-at-top
from models import settings  # pylint: disable=g-import-not-at-top
from pipeline import configs as config_lib  # pylint: disable=g-import-not-at-top
from runs import summary as summary_lib  # pylint: disable=g-import-not-at-top

REPORT_FILE = 'report.html'
_TOP_TOKENS = 25
_LENGTH_BINS = 40
_CALIBRATION_BINS = 10
_BATCH = 512


class Report:
  """Sections of HTML and the PNG figures they embed."""

  def __init__(self, directory: str):
    self.directory = directory
    self.sections: List[str] = []
    self.figures: Dict[str, str] = {}  # file name -> path

  def add(self, html_text: str) -> None:
    self.sections.append(html_text)

  def figure(self, fig, name: str, caption: str) -> None:
    """Saves `fig` as <name>.png and embeds it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=100, bbox_inches='tight')
    plt.close(fig)
    data = buffer.getvalue()
    path = os.path.join(self.directory, f'{name}.png')
    with open(path, 'wb') as f:
      f.write(data)
    self.figures[f'{name}.png'] = path
    encoded = base64.b64encode(data).decode('ascii')
    self.add(f'<figure><img alt="{html.escape(caption)}" '
             f'data-file="{name}.png" src="data:image/png;base64,{encoded}">'
             f'<figcaption>{html.escape(caption)}</figcaption></figure>')


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
  head = ''.join(f'<th>{html.escape(str(h))}</th>' for h in header)
  body = ''.join(
      '<tr>' + ''.join(f'<td>{html.escape(str(c))}</td>' for c in row)
      + '</tr>' for row in rows)
  return f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _number(value: Optional[float], count: bool = False) -> str:
  """A metric value for a table; counts as integers."""
  if value is None:
    return '—'
  if math.isnan(value):
    return 'nan'
  return f'{int(value):,}' if count else f'{value:.4f}'


def _first_uri(run: summary_lib.RunSummary, component: str,
               type_name: str) -> Optional[str]:
  uris = run.artifact_uris.get(component, {}).get(type_name, [])
  return uris[0] if uris else None


def _missing(report: Report, what: str) -> None:
  report.add(f'<p class="missing">{html.escape(what)}: not in this run\'s '
             'artifacts.</p>')


# --- Data -----------------------------------------------------------------


def _split_statistics(statistics_uri: str) -> Dict[str, Tuple[int, float]]:
  """{split: (examples, share of positive labels)} from StatisticsGen."""
  import tensorflow_data_validation as tfdv  # pylint: disable=g-import-not-at-top
  splits = {}
  for path in sorted(fileio.glob(os.path.join(statistics_uri, 'Split-*',
                                              'FeatureStats.pb'))):
    split = os.path.basename(os.path.dirname(path))[len('Split-'):]
    dataset = tfdv.load_stats_binary(path).datasets[0]
    positive_share = float('nan')
    for feature in dataset.features:
      if list(feature.path.step) == [contract.LABEL_KEY]:
        positive_share = feature.num_stats.mean  # labels are 0/1
    splits[split] = (int(dataset.num_examples), positive_share)
  return splits


def _split_order(splits) -> List[str]:
  known = [contract.TRAIN_SPLIT, contract.EVAL_SPLIT, contract.TEST_SPLIT]
  return ([s for s in known if s in splits]
          + sorted(s for s in splits if s not in known))


def _read_texts(examples_uri: str, split: str) -> List[bytes]:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  files = sorted(fileio.glob(os.path.join(examples_uri, f'Split-{split}',
                                          '*')))
  spec = {contract.TEXT_KEY: tf.io.FixedLenFeature([], tf.string)}
  texts = []
  dataset = tf.data.TFRecordDataset(files, compression_type='GZIP').batch(
      _BATCH)
  for batch in dataset:
    texts.extend(tf.io.parse_example(batch, spec)[contract.TEXT_KEY]
                 .numpy().tolist())
  return texts


class _TokenStatistics:
  """Words per review, word counts and the n-grams' out-of-vocabulary count
  of one split, with the Transform's own tokenizer and n-grams
  (models/preprocessing.py), as the model sees them."""

  def __init__(self):
    self.lengths: List[int] = []
    self.words = collections.Counter()
    self.ngrams = 0
    self.out_of_vocabulary = 0


def _token_statistics(texts: List[bytes], vocabulary_settings: Dict[str, int],
                      vocabulary: Optional[set]) -> _TokenStatistics:
  # Only words are counted: counting every n-gram of a large split (up to
  # trigrams by default) would take gigabytes for the sake of one chart.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from models import preprocessing  # pylint: disable=g-import-not-at-top
  stats = _TokenStatistics()
  for start in range(0, len(texts), _BATCH):
    words = preprocessing.split_words(tf.constant(texts[start:start + _BATCH]))
    stats.lengths.extend(words.row_lengths().numpy().tolist())
    stats.words.update(words.flat_values.numpy().tolist())
    if vocabulary is not None:
      terms = preprocessing.ngrams(
          words[:, :vocabulary_settings['max_words']],
          vocabulary_settings['ngram_max']).flat_values.numpy().tolist()
      stats.ngrams += len(terms)
      stats.out_of_vocabulary += sum(1 for t in terms if t not in vocabulary)
  return stats


def _vocabulary(transform_graph_uri: str) -> Optional[set]:
  """The Transform vocabulary's terms; None when the run used none (hashed
  n-gram ids)."""
  import tensorflow_transform as tft  # pylint: disable=g-import-not-at-top
  path = tft.TFTransformOutput(transform_graph_uri).vocabulary_file_by_name(
      contract.VOCABULARY_NAME)  # None if the graph has no such vocabulary
  if not path or not fileio.exists(path):
    return None
  with fileio.open(path, 'rb') as f:
    return {line.rstrip(b'\n') for line in f}


def _vocabulary_settings(run: summary_lib.RunSummary) -> Dict[str, int]:
  """The tokenization settings the run's Transform used."""
  custom_config = run.execution_properties.get('Transform', {}).get(
      'custom_config')
  return settings.vocabulary_settings(
      json.loads(custom_config) if custom_config else None)


def data_section(report: Report, run: summary_lib.RunSummary) -> None:
  report.add('<h2>Data</h2>')
  statistics_uri = _first_uri(run, 'StatisticsGen', 'ExampleStatistics')
  if not statistics_uri:
    _missing(report, 'StatisticsGen statistics')
    return
  splits = _split_statistics(statistics_uri)
  order = _split_order(splits)
  report.add(_table(
      ['split', 'examples', 'positive', 'negative', 'positive share'],
      [[s, f'{splits[s][0]:,}', f'{round(splits[s][0] * splits[s][1]):,}',
        f'{splits[s][0] - round(splits[s][0] * splits[s][1]):,}',
        f'{splits[s][1]:.1%}'] for s in order]))
  fig, ax = plt.subplots(figsize=(6, 3))
  positives = [splits[s][0] * splits[s][1] for s in order]
  negatives = [splits[s][0] - p for s, p in zip(order, positives)]
  ax.bar(order, negatives, label=contract.LABEL_NAMES[0], color='#d62728')
  ax.bar(order, positives, bottom=negatives, label=contract.LABEL_NAMES[1],
         color='#2ca02c')
  ax.set_ylabel('examples')
  ax.set_title('Examples per split and label (StatisticsGen)')
  ax.legend()
  report.figure(fig, 'data_splits', 'Examples per split, by label.')

  examples_uri = _first_uri(run, 'ImdbExampleGen', 'Examples')
  transform_uri = _first_uri(run, 'Transform', 'TransformGraph')
  if not examples_uri or not transform_uri:
    _missing(report, 'Examples or Transform graph')
    return
  vocabulary = _vocabulary(transform_uri)
  vocabulary_settings = _vocabulary_settings(run)
  stats = {split: _token_statistics(_read_texts(examples_uri, split),
                                    vocabulary_settings, vocabulary)
           for split in order}
  lengths = {split: np.array(stats[split].lengths, dtype=np.int64)
             for split in order}

  fig, ax = plt.subplots(figsize=(7, 3.5))
  longest = max((np.percentile(v, 99) for v in lengths.values() if len(v)),
                default=1)
  bins = np.linspace(0, max(longest, 10), _LENGTH_BINS + 1)
  for split in order:
    ax.hist(np.clip(lengths[split], 0, bins[-1]), bins=bins, histtype='step',
            density=True, linewidth=1.5, label=split)
  for boundary in contract.LENGTH_BUCKET_BOUNDARIES:
    if boundary < bins[-1]:
      ax.axvline(boundary, color='grey', linestyle=':', linewidth=1)
  ax.set_xlim(0, bins[-1])
  ax.set_xlabel('words per review (dotted: length-bucket edges; '
                'longest 1% clipped)')
  ax.set_ylabel('share of reviews')
  ax.set_title('Review length')
  ax.legend()
  report.figure(fig, 'data_review_length', 'Review length in words, per '
                'split, as the Transform graph splits words.')
  report.add(_table(
      ['split', 'median words', 'mean words', 'longest'],
      [[s, f'{np.median(lengths[s]):.0f}', f'{np.mean(lengths[s]):.1f}',
        f'{np.max(lengths[s]):,}'] for s in order if len(lengths[s])]))

  train = (stats.get(contract.TRAIN_SPLIT) or stats[order[0]]).words
  top = train.most_common(_TOP_TOKENS)
  fig, ax = plt.subplots(figsize=(7, 0.25 * len(top) + 1))
  ax.barh([t.decode('utf-8', 'replace') for t, _ in reversed(top)],
          [c for _, c in reversed(top)], color='#1f77b4')
  ax.set_xlabel('occurrences in train')
  ax.set_title(f'Top {len(top)} words (train)')
  report.figure(fig, 'data_top_tokens', 'Most frequent words of the '
                'training split, as the Transform graph splits them.')

  if vocabulary is None:
    report.add('<p>No out-of-vocabulary rate: this run\'s Transform used no '
               'vocabulary (hashed n-gram ids), so every n-gram has an '
               'id.</p>')
    return
  report.add('<p>Out-of-vocabulary rate: the share of n-gram occurrences '
             f'(up to {vocabulary_settings["ngram_max"]}-grams of the first '
             f'{vocabulary_settings["max_words"]} words of each review) not '
             f'among the {len(vocabulary):,} entries of the Transform '
             'vocabulary; they fall into the OOV bucket.</p>')
  report.add(_table(
      ['split', 'n-grams', 'out of vocabulary', 'OOV rate'],
      [[split, f'{stats[split].ngrams:,}',
        f'{stats[split].out_of_vocabulary:,}',
        f'{stats[split].out_of_vocabulary / stats[split].ngrams:.2%}'
        if stats[split].ngrams else '—'] for split in order]))


# --- Training -------------------------------------------------------------


def _epoch_curves(model_run_uri: str) -> Dict[str, Dict[str, List[float]]]:
  """{metric: {'train'|'validation': [value per epoch]}} from the Keras
  TensorBoard callback's event files."""
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf
  from tensorboard.backend.event_processing import event_accumulator
  # pylint: enable=g-import-not-at-top
  curves = collections.defaultdict(dict)
  for run_name in ('train', 'validation'):
    directory = os.path.join(model_run_uri, run_name)
    if not fileio.isdir(directory):
      continue
    events = event_accumulator.EventAccumulator(
        directory, size_guidance={event_accumulator.TENSORS: 0})
    events.Reload()
    for tag in events.Tags()['tensors']:
      if tag.startswith('epoch_'):
        points = sorted((e.step, float(tf.make_ndarray(e.tensor_proto)))
                        for e in events.Tensors(tag))
        curves[tag[len('epoch_'):]][run_name] = [v for _, v in points]
  return dict(curves)


def training_section(report: Report, run: summary_lib.RunSummary) -> None:
  report.add('<h2>Training</h2>')
  model_run_uri = _first_uri(run, 'Trainer', 'ModelRun')
  curves = _epoch_curves(model_run_uri) if model_run_uri else {}
  if not curves:
    _missing(report, 'Trainer TensorBoard logs')
    return
  names = sorted(curves, key=lambda n: (n != 'loss', n))
  columns = min(3, len(names))
  rows = math.ceil(len(names) / columns)
  fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3 * rows),
                           squeeze=False, layout='constrained')
  for ax, name in zip(axes.flat, names):
    for run_name, label in (('train', 'train'), ('validation', 'eval')):
      values = curves[name].get(run_name)
      if values:
        ax.plot(range(1, len(values) + 1), values, marker='o', label=label)
    ax.set_title(name)
    ax.set_xlabel('epoch')
    ax.legend()
  for ax in list(axes.flat)[len(names):]:
    ax.axis('off')
  fig.suptitle('Training curves (Keras, per epoch)')
  report.figure(fig, 'training_curves', 'Loss and metrics per epoch on the '
                'train split and on eval (validation, early stopping).')
  epochs = max(len(v) for c in curves.values() for v in c.values())
  report.add(f'<p>{epochs} epoch(s) trained.</p>')


# --- Evaluation -----------------------------------------------------------


def _slice_features(by_slice) -> Dict[str, List[Tuple[object, dict]]]:
  features = collections.defaultdict(list)
  for slice_key, metrics in by_slice.items():
    if len(slice_key) == 1:
      column, value = slice_key[0]
      features[column].append((value, metrics))
  for column in features:
    features[column].sort(key=lambda item: _slice_sort_key(item[0]))
  return dict(features)


def _slice_sort_key(value):
  if isinstance(value, (int, float)):
    return (0, value, '')
  text = str(value)
  if text in contract.LENGTH_BUCKET_NAMES:
    return (0, contract.LENGTH_BUCKET_NAMES.index(text), text)
  return (1, 0, text)


_PLOTTED_SLICE_METRICS_EXCLUDED = ('example_count', 'mean_label',
                                   'mean_prediction')
# Undefined or meaningless on a slice whose examples all have one label (IMDB
# star ratings: 1-4 are all negative, 7-10 all positive).
_NEEDS_BOTH_CLASSES = ('auc', 'auc_precision_recall', 'precision', 'recall',
                       'calibration')


def _single_class_slices(slices) -> bool:
  labels = [v for _, m in slices for n, v in m.items()
            if n.rsplit('/', 1)[-1] == 'mean_label']
  return bool(labels) and all(v in (0.0, 1.0) for v in labels)


def _slice_figure(report: Report, column: str, candidate_slices,
                  baseline_slices) -> None:
  values = [v for v, _ in candidate_slices]
  # Metrics undefined on every slice (AUC where each slice holds one class)
  # would only be empty axes.
  names = [n for n in summary_lib.ordered_metric_names(
      {n for _, m in candidate_slices for n in m})
           if n.rsplit('/', 1)[-1] not in _PLOTTED_SLICE_METRICS_EXCLUDED
           and any(math.isfinite(m.get(n, math.nan))
                   for _, m in candidate_slices)]
  single_class = _single_class_slices(candidate_slices)
  if single_class:
    names = [n for n in names
             if n.rsplit('/', 1)[-1] not in _NEEDS_BOTH_CLASSES]
  if not names:
    return
  baseline = {v: m for v, m in baseline_slices}
  columns = min(3, len(names))
  rows = math.ceil(len(names) / columns)
  fig, axes = plt.subplots(rows, columns, figsize=(4.4 * columns, 3 * rows),
                           squeeze=False, layout='constrained')
  x = np.arange(len(values))
  width = 0.4 if baseline else 0.8
  counts = [m.get('example_count') for _, m in candidate_slices]
  labels = [f'{v}\n(n={int(c)})' if c is not None else str(v)
            for v, c in zip(values, counts)]
  for ax, name in zip(axes.flat, names):
    ys = [m.get(name, float('nan')) for _, m in candidate_slices]
    ax.bar(x - (width / 2 if baseline else 0), ys, width, label='candidate')
    if baseline:
      ax.bar(x + width / 2,
             [baseline.get(v, {}).get(name, float('nan')) for v in values],
             width, label='baseline', color='#bbbbbb')
    ax.set_xticks(x, labels, fontsize='x-small')
    ax.set_title(name)
  for ax in list(axes.flat)[len(names):]:
    ax.axis('off')
  if baseline:  # one legend for all, clear of the bars
    fig.legend(*axes.flat[0].get_legend_handles_labels(),
               loc='outside upper right', fontsize='small')
  fig.suptitle(f'Metrics by {column} (test split, TFMA)')
  note = (' Every slice holds a single label, so AUC, precision, recall and '
          'calibration are left out.' if single_class else '')
  report.figure(fig, f'slices_{column}',
                f'TFMA metrics per {column} slice; n = examples in the '
                f'slice.{note}')


def _confusion_figure(report: Report, output_name: str, plots) -> None:
  matrices = [m for m in plots['confusionMatrixAtThresholds']['matrices']
              if 'threshold' in m]
  if not matrices:
    return
  chosen = min(matrices, key=lambda m: abs(float(m['threshold'])
                                           - contract.DECISION_THRESHOLD))
  cells = np.array([[chosen.get('trueNegatives', 0.0),
                     chosen.get('falsePositives', 0.0)],
                    [chosen.get('falseNegatives', 0.0),
                     chosen.get('truePositives', 0.0)]])
  fig, ax = plt.subplots(figsize=(4, 3.5))
  ax.imshow(cells, cmap='Blues')
  for (row, col), count in np.ndenumerate(cells):
    ax.text(col, row, f'{int(count):,}', ha='center', va='center',
            color='white' if count > cells.max() / 2 else 'black')
  ax.set_xticks([0, 1], [f'predicted {n}' for n in contract.LABEL_NAMES])
  ax.set_yticks([0, 1], [f'actual {n}' for n in contract.LABEL_NAMES])
  ax.set_title(f'Confusion matrix at threshold {float(chosen["threshold"]):.3f}')
  suffix = f'_{output_name}' if output_name else ''
  report.figure(fig, f'confusion_matrix{suffix}',
                'Confusion matrix on the test split (TFMA '
                'ConfusionMatrixPlot at the decision threshold)'
                + (f', output {output_name}' if output_name else '') + '.')


def _calibration_figure(report: Report, output_name: str, plots) -> None:
  edges = np.linspace(0, 1, _CALIBRATION_BINS + 1)
  examples = np.zeros(_CALIBRATION_BINS)
  labels = np.zeros(_CALIBRATION_BINS)
  predictions = np.zeros(_CALIBRATION_BINS)
  for bucket in plots['calibrationHistogramBuckets']['buckets']:
    count = float(bucket.get('numWeightedExamples', 0.0))
    if not count:
      continue
    low = float(bucket.get('lowerThresholdInclusive', 0.0))
    index = int(np.clip(np.searchsorted(edges, max(low, 0.0), side='right')
                        - 1, 0, _CALIBRATION_BINS - 1))
    examples[index] += count
    labels[index] += float(bucket.get('totalWeightedLabel', 0.0))
    predictions[index] += float(bucket.get('totalWeightedRefinedPrediction',
                                           0.0))
  filled = examples > 0
  if not filled.any():
    return
  fig, ax = plt.subplots(figsize=(5, 4))
  ax.plot([0, 1], [0, 1], linestyle=':', color='grey', label='perfect')
  ax.plot(predictions[filled] / examples[filled], labels[filled] /
          examples[filled], marker='o', label='model')
  ax.set_xlabel('mean predicted P(positive)')
  ax.set_ylabel('share actually positive')
  ax.set_xlim(0, 1)
  ax.set_ylim(0, 1)
  counts_ax = ax.twinx()
  counts_ax.bar((edges[:-1] + edges[1:]) / 2, examples, width=0.08,
                alpha=0.2, color='grey')
  counts_ax.set_ylabel('examples (bars)')
  ax.legend(loc='upper left')
  ax.set_title('Calibration (test split)')
  suffix = f'_{output_name}' if output_name else ''
  report.figure(fig, f'calibration{suffix}',
                'Calibration: observed positive share against the mean '
                f'prediction in {_CALIBRATION_BINS} probability bins (TFMA '
                'CalibrationPlot).')


def evaluation_section(report: Report, run: summary_lib.RunSummary) -> None:
  import tensorflow_model_analysis as tfma  # pylint: disable=g-import-not-at-top
  report.add('<h2>Evaluation (test split)</h2>')
  evaluation_uri = _first_uri(run, 'Evaluator', 'ModelEvaluation')
  if not evaluation_uri:
    _missing(report, 'Evaluator evaluation')
    return
  candidate = evaluation.evaluation_metrics(evaluation_uri,
                                            tfma.CANDIDATE_KEY)
  baseline = evaluation.evaluation_metrics(evaluation_uri, tfma.BASELINE_KEY)
  overall, baseline_overall = candidate.get((), {}), baseline.get((), {})
  names = summary_lib.ordered_metric_names(
      set(overall) | set(baseline_overall))
  rows = []
  for name in names:
    value, base = overall.get(name), baseline_overall.get(name)
    change = (value - base if value is not None and base is not None
              else None)
    count = name.endswith('example_count')
    rows.append([name, _number(value, count), _number(base, count),
                 '—' if change is None else f'{change:+.4f}'])
  report.add('<h3>Overall, and the baseline</h3>')
  if baseline_overall:
    report.add('<p>Baseline: the latest blessed model, evaluated on the same '
               'examples in the same Evaluator run.</p>')
  else:
    report.add('<p>No baseline: no model had been blessed before this run, '
               'so only the absolute thresholds applied.</p>')
  report.add(_table(['metric', 'candidate', 'baseline', 'change'], rows))
  if baseline_overall:
    shown = [n for n in names
             if n.rsplit('/', 1)[-1] not in _PLOTTED_SLICE_METRICS_EXCLUDED
             and n in overall and n in baseline_overall]
    if shown:
      fig, ax = plt.subplots(figsize=(1.1 * len(shown) + 2, 3.2))
      x = np.arange(len(shown))
      ax.bar(x - 0.2, [overall[n] for n in shown], 0.4, label='candidate')
      ax.bar(x + 0.2, [baseline_overall[n] for n in shown], 0.4,
             label='baseline', color='#bbbbbb')
      ax.set_xticks(x, shown, rotation=30, ha='right', fontsize='small')
      ax.legend(loc='upper left', bbox_to_anchor=(1.0, 1.0))
      ax.set_title('Candidate against baseline (test split)')
      report.figure(fig, 'baseline_comparison',
                    'Overall metrics of the candidate and the baseline.')

  report.add('<h3>Per slice</h3>')
  baseline_features = _slice_features(baseline)
  for column, slices in _slice_features(candidate).items():
    _slice_figure(report, column, slices, baseline_features.get(column, []))

  report.add('<h3>Confusion matrix and calibration</h3>')
  result = evaluation.load_evaluation(evaluation_uri, tfma.CANDIDATE_KEY)
  for slice_key, plots_by_output in result.plots:
    if tuple(slice_key) != ():
      continue
    for output_name, by_sub_key in plots_by_output.items():
      for plots in by_sub_key.values():
        if 'confusionMatrixAtThresholds' in plots:
          _confusion_figure(report, output_name, plots)
        if 'calibrationHistogramBuckets' in plots:
          _calibration_figure(report, output_name, plots)


# --- The page -------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1em 0; } img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; }
.missing { color: #a00; } .outcome { font-size: 1.1em; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def outcome_section(report: Report, run: summary_lib.RunSummary) -> None:
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
  report.add(_table(['component', 'status', 'seconds'],
                    [[n, s, f'{t:.1f}'] for n, s, t in run.components]))


def write_report(config: config_lib.PipelineConfig,
                 run: summary_lib.RunSummary, run_dir: str) -> str:
  """Writes the report of `run` into `run_dir`, copies it to
  `<output_dir>/report.html`, and returns the path in `run_dir`."""
  os.makedirs(run_dir, exist_ok=True)
  report = Report(run_dir)
  outcome_section(report, run)
  data_section(report, run)
  training_section(report, run)
  evaluation_section(report, run)
  title = f'{config.pipeline_name}: run {run.run_id}'
  page = (f'<!DOCTYPE html><html><head><meta charset="utf-8">'
          f'<title>{html.escape(title)}</title><style>{_STYLE}</style>'
          f'</head><body><h1>{html.escape(title)}</h1>'
          + '\n'.join(report.sections) + '</body></html>')
  path = os.path.join(run_dir, REPORT_FILE)
  with open(path, 'w', encoding='utf-8') as f:
    f.write(page)
  shutil.copyfile(path, os.path.join(config.output_dir, REPORT_FILE))
  return path


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      description='Write the report of the latest run again.')
  parser.add_argument('--output-dir', default=os.environ.get(
      'OUTPUT_DIR', config_lib.PipelineConfig.output_dir))
  parser.add_argument('--run-dir', help='Where to write it (default: '
                      '<output-dir>/runs/report-<run id>).')
  args = parser.parse_args(argv)
  config = config_lib.PipelineConfig(
      output_dir=config_lib.absolute(args.output_dir))
  run = summary_lib.latest_run(config.metadata_path, config.pipeline_name)
  if run is None:
    print(f'error: {config.metadata_path}: no pipeline run recorded',
          file=sys.stderr)
    return 1
  run_dir = args.run_dir or os.path.join(
      config.output_dir, 'runs', run_dir_name(run.run_id))
  print(write_report(config, run, run_dir))
  return 0


def run_dir_name(run_id: str) -> str:
  """A directory name for a run id (an ISO timestamp): no colons."""
  return run_id.replace(':', '').replace('.', '-')


if __name__ == '__main__':
  sys.exit(main())
