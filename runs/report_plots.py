"""The run report's figures, drawn with matplotlib and returned as PNG bytes.

Each function takes what runs/report_data.py read and draws one figure;
none reads an artifact.
"""

import io
import math
from typing import Dict, List, Sequence

import matplotlib
matplotlib.use('Agg')  # files only, never a window
# pylint: disable=g-import-not-at-top,wrong-import-position
import matplotlib.pyplot as plt
import numpy as np

import contract
from runs import report_data
# pylint: enable=g-import-not-at-top,wrong-import-position

_LENGTH_BINS = 40
_BASELINE_COLOR = '#bbbbbb'


def _png(fig) -> bytes:
  buffer = io.BytesIO()
  fig.savefig(buffer, format='png', dpi=100, bbox_inches='tight')
  plt.close(fig)
  return buffer.getvalue()


def _grid(count: int, width: float, height: float):
  """A figure of up to three axes a row for `count` charts; the axes left
  over are hidden."""
  columns = min(3, count)
  rows = math.ceil(count / columns)
  fig, axes = plt.subplots(rows, columns, figsize=(width * columns,
                                                   height * rows),
                           squeeze=False, layout='constrained')
  for ax in list(axes.flat)[count:]:
    ax.axis('off')
  return fig, list(axes.flat)[:count]


def split_labels(order: Sequence[str], splits) -> bytes:
  """Stacked bars: examples per split, by label."""
  fig, ax = plt.subplots(figsize=(6, 3))
  positives = [splits[s][0] * splits[s][1] for s in order]
  negatives = [splits[s][0] - p for s, p in zip(order, positives)]
  ax.bar(order, negatives, label=contract.LABEL_NAMES[0], color='#d62728')
  ax.bar(order, positives, bottom=negatives, label=contract.LABEL_NAMES[1],
         color='#2ca02c')
  ax.set_ylabel('examples')
  ax.set_title('Examples per split and label (StatisticsGen)')
  ax.legend()
  return _png(fig)


def review_lengths(lengths: Dict[str, np.ndarray]) -> bytes:
  """Histograms of words per review, one line a split; the longest 1% of
  reviews clipped, the length-bucket edges dotted."""
  fig, ax = plt.subplots(figsize=(7, 3.5))
  longest = max((np.percentile(v, 99) for v in lengths.values() if len(v)),
                default=1)
  bins = np.linspace(0, max(longest, 10), _LENGTH_BINS + 1)
  for split, values in lengths.items():
    if not len(values):  # pylint: disable=g-explicit-length-test
      continue  # an empty split has no distribution to draw
    ax.hist(np.clip(values, 0, bins[-1]), bins=bins, histtype='step',
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
  return _png(fig)


def top_words(top: Sequence[tuple]) -> bytes:
  """Horizontal bars of (word, count), most frequent at the top."""
  fig, ax = plt.subplots(figsize=(7, 0.25 * len(top) + 1))
  ax.barh([t.decode('utf-8', 'replace') for t, _ in reversed(top)],
          [c for _, c in reversed(top)], color='#1f77b4')
  ax.set_xlabel('occurrences in train')
  ax.set_title(f'Top {len(top)} words (train)')
  return _png(fig)


def training_curves(curves: Dict[str, Dict[str, List[float]]]) -> bytes:
  """One chart a metric (loss first): train and eval values per epoch."""
  names = sorted(curves, key=lambda n: (n != 'loss', n))
  fig, axes = _grid(len(names), 4.2, 3)
  for ax, name in zip(axes, names):
    for run_name, label in (('train', 'train'), ('validation', 'eval')):
      values = curves[name].get(run_name)
      if values:
        ax.plot(range(1, len(values) + 1), values, marker='o', label=label)
    ax.set_title(name)
    ax.set_xlabel('epoch')
    ax.legend()
  fig.suptitle('Training curves (Keras, per epoch)')
  return _png(fig)


def baseline_comparison(names: Sequence[str], candidate: Dict[str, float],
                        baseline: Dict[str, float]) -> bytes:
  """Bars of the overall metrics `names`, candidate beside baseline."""
  fig, ax = plt.subplots(figsize=(1.1 * len(names) + 2, 3.2))
  x = np.arange(len(names))
  ax.bar(x - 0.2, [candidate[n] for n in names], 0.4, label='candidate')
  ax.bar(x + 0.2, [baseline[n] for n in names], 0.4, label='baseline',
         color=_BASELINE_COLOR)
  ax.set_xticks(x, names, rotation=30, ha='right', fontsize='small')
  ax.legend(loc='upper left', bbox_to_anchor=(1.0, 1.0))
  ax.set_title('Candidate against baseline (test split)')
  return _png(fig)


def slice_metrics(column: str, names: Sequence[str],
                  candidate: report_data.Slices,
                  baseline: report_data.Slices) -> bytes:
  """One chart a metric: its value per slice of `column`, the candidate's
  beside the baseline's when there is one."""
  values = [v for v, _ in candidate]
  baseline_by_value = {v: m for v, m in baseline}
  fig, axes = _grid(len(names), 4.4, 3)
  x = np.arange(len(values))
  width = 0.4 if baseline_by_value else 0.8
  counts = [m.get('example_count') for _, m in candidate]
  labels = [f'{v}\n(n={int(c)})' if c is not None else str(v)
            for v, c in zip(values, counts)]
  for ax, name in zip(axes, names):
    ys = [m.get(name, float('nan')) for _, m in candidate]
    ax.bar(x - (width / 2 if baseline_by_value else 0), ys, width,
           label='candidate')
    if baseline_by_value:
      ax.bar(x + width / 2, [baseline_by_value.get(v, {}).get(
          name, float('nan')) for v in values], width, label='baseline',
             color=_BASELINE_COLOR)
    ax.set_xticks(x, labels, fontsize='x-small')
    ax.set_title(name)
  if baseline_by_value:  # one legend for all, clear of the bars
    fig.legend(*axes[0].get_legend_handles_labels(),
               loc='outside upper right', fontsize='small')
  fig.suptitle(f'Metrics by {column} (test split, TFMA)')
  return _png(fig)


def confusion_matrix(matrix: Dict[str, float]) -> bytes:
  """A 2x2 confusion matrix (TFMA's field names), counts in the cells."""
  cells = np.array([[matrix.get('trueNegatives', 0.0),
                     matrix.get('falsePositives', 0.0)],
                    [matrix.get('falseNegatives', 0.0),
                     matrix.get('truePositives', 0.0)]])
  fig, ax = plt.subplots(figsize=(4, 3.5))
  ax.imshow(cells, cmap='Blues')
  for (row, col), count in np.ndenumerate(cells):
    ax.text(col, row, f'{int(count):,}', ha='center', va='center',
            color='white' if count > cells.max() / 2 else 'black')
  ax.set_xticks([0, 1], [f'predicted {n}' for n in contract.LABEL_NAMES])
  ax.set_yticks([0, 1], [f'actual {n}' for n in contract.LABEL_NAMES])
  threshold = float(matrix['threshold'])
  ax.set_title(f'Confusion matrix at threshold {threshold:.3f}')
  return _png(fig)


def calibration(bins: Dict[str, np.ndarray]) -> bytes:
  """Observed positive share against mean prediction per bin, the bins'
  example counts as bars behind."""
  edges, examples = bins['edges'], bins['examples']
  filled = examples > 0
  fig, ax = plt.subplots(figsize=(5, 4))
  ax.plot([0, 1], [0, 1], linestyle=':', color='grey', label='perfect')
  ax.plot(bins['predictions'][filled] / examples[filled],
          bins['labels'][filled] / examples[filled], marker='o',
          label='model')
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
  return _png(fig)
