"""The run report's figures, drawn with matplotlib.

Each function takes what runs/report_data.py read and returns one
matplotlib Figure (tested as such); `png` turns it into the bytes the page
embeds. None reads an artifact.

Every figure is drawn at the width the page shows it at (report_html's
PAGE_WIDTH_PX, or HALF_WIDTH_PX in a row of two) and saved without
cropping, so the browser never scales it: text of s points is s * DPI / 72
pixels on the page, and tick labels of TICK_PT are 14 pixels.
"""

import functools
import io
import math
from typing import Dict, List, Sequence, Tuple

import matplotlib
matplotlib.use('Agg')  # files only, never a window
# pylint: disable=g-import-not-at-top,wrong-import-position
import matplotlib.pyplot as plt
from matplotlib import ticker
import numpy as np

import contract
from runs import report_data
from runs import report_html
# pylint: enable=g-import-not-at-top,wrong-import-position

DPI = 100
FULL_WIDTH = report_html.PAGE_WIDTH_PX / DPI  # inches
HALF_WIDTH = report_html.HALF_WIDTH_PX / DPI
TICK_PT = 10
_RC = {'font.size': 11, 'axes.titlesize': 12, 'axes.labelsize': 11,
       'xtick.labelsize': TICK_PT, 'ytick.labelsize': TICK_PT,
       'legend.fontsize': TICK_PT, 'figure.titlesize': 13}
_LENGTH_BINS = 40
_CANDIDATE_COLOR = '#1f77b4'
_BASELINE_COLOR = '#bbbbbb'
_VERDICT_COLORS = {'better': '#1a7f37', 'worse': '#b42318'}
_GREY = '#555555'


def png(fig) -> bytes:
  """The figure as PNG bytes, at its own size; closes it."""
  buffer = io.BytesIO()
  with plt.rc_context(_RC):
    fig.savefig(buffer, format='png', dpi=DPI)
  plt.close(fig)
  return buffer.getvalue()


def _styled(draw):
  """Draws with the report's font sizes. Tick labels are made when the
  figure is drawn, after the rc context: their size is set on the axes."""
  @functools.wraps(draw)
  def wrapper(*args, **kwargs):
    with plt.rc_context(_RC):
      fig = draw(*args, **kwargs)
    for ax in fig.axes:
      ax.tick_params(labelsize=TICK_PT)
    return fig
  return wrapper


def _grid(count: int, height: float, columns: int = 3):
  """A page-wide figure of up to `columns` axes a row for `count` charts;
  the axes left over are hidden."""
  columns = max(1, min(columns, count))
  rows = math.ceil(count / columns)
  fig, axes = plt.subplots(rows, columns, figsize=(FULL_WIDTH, height * rows),
                           squeeze=False, layout='constrained')
  for ax in list(axes.flat)[count:]:
    ax.axis('off')
  return fig, list(axes.flat)[:count]


def value_range(values: Sequence[float]) -> Tuple[float, float]:
  """The value axis of bars of `values`: from 0 when the bars' differences
  show from there; else from near the smallest, so that a 1-point
  difference between 0.90 and 0.91 is not a hair on a bar 0.9 high."""
  finite = [v for v in values if math.isfinite(v)]
  if not finite:
    return 0.0, 1.0
  low, high = min(finite), max(finite)
  pad = max((high - low) * 0.25, abs(high) * 0.02, 1e-3)
  if low < 0:
    return low - pad, max(high, 0.0) + pad
  if low == 0 or high - low >= 0.25 * high:
    return 0.0, high + pad
  step = 10 ** math.floor(math.log10(pad))
  return max(0.0, math.floor((low - pad) / step) * step), high + pad


def _value_axis(ax, values: Sequence[float], unit: str) -> None:
  low, high = value_range(values)
  ax.set_ylim(low, high)
  # A bar cut short must say so: its length is not its value.
  ax.set_ylabel(unit if low <= 0 else f'{unit} (from {low:g}, not 0)')


def _figure_legend(fig, handles_and_labels) -> None:
  """One legend for all the axes, below them: clear of bars and titles."""
  handles, labels = handles_and_labels
  fig.legend(handles, labels, loc='outside lower center',
             ncols=len(labels))


@_styled
def split_labels(order: Sequence[str], splits):
  """Horizontal stacked bars: examples per split, by label."""
  fig, ax = plt.subplots(figsize=(FULL_WIDTH, 0.45 * len(order) + 1.3),
                         layout='constrained')
  positives = [splits[s][0] * splits[s][1] for s in order]
  negatives = [splits[s][0] - p for s, p in zip(order, positives)]
  ax.barh(order, negatives, label=contract.LABEL_NAMES[0], color='#d62728')
  ax.barh(order, positives, left=negatives, label=contract.LABEL_NAMES[1],
          color='#2ca02c')
  ax.invert_yaxis()  # in split order, top down
  ax.set_xlabel('examples')
  ax.set_title('Examples per split and label (StatisticsGen)')
  _figure_legend(fig, ax.get_legend_handles_labels())
  return fig


@_styled
def review_lengths(lengths: Dict[str, np.ndarray]):
  """Histograms of words per review, one line a split; the longest 1% of
  reviews clipped, the length-bucket edges dotted."""
  fig, ax = plt.subplots(figsize=(FULL_WIDTH, 3.6), layout='constrained')
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
  return fig


@_styled
def top_words(top: Sequence[tuple]):
  """Horizontal bars of (word, count), most frequent at the top."""
  fig, ax = plt.subplots(figsize=(FULL_WIDTH, 0.24 * len(top) + 1.2),
                         layout='constrained')
  ax.barh([t.decode('utf-8', 'replace') for t, _ in reversed(top)],
          [c for _, c in reversed(top)], color=_CANDIDATE_COLOR)
  ax.set_xlabel('occurrences in train')
  ax.set_title(f'Top {len(top)} words (train)')
  return fig


@_styled
def training_curves(curves: Dict[str, Dict[str, List[float]]]):
  """One chart a metric (loss first): train and eval values per epoch."""
  names = sorted(curves, key=lambda n: (n != 'loss', n))
  fig, axes = _grid(len(names), 3)
  for ax, name in zip(axes, names):
    for run_name, label in (('train', 'train'), ('validation', 'eval')):
      values = curves[name].get(run_name)
      if values:
        ax.plot(range(1, len(values) + 1), values, marker='o', label=label)
    ax.set_title(name)
    ax.set_xlabel('epoch')
    # Epochs are whole: no tick at 1.5.
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
  _figure_legend(fig, axes[0].get_legend_handles_labels())
  fig.suptitle('Training curves (Keras, per epoch)')
  return fig


def _change_label(name: str, candidate: float, baseline: float):
  """A metric's tick label with its change and whether that is better."""
  verdict = report_data.change_verdict(name, candidate, baseline)
  label = f'{name.rsplit("/", 1)[-1]}\n{candidate - baseline:+.4f}'
  if verdict:
    label += f'\n{verdict}'
  return label, _VERDICT_COLORS.get(verdict, _GREY)


@_styled
def baseline_comparison(names: Sequence[str], candidate: Dict[str, float],
                        baseline: Dict[str, float]):
  """Bars of the overall metrics `names`, candidate beside baseline: one
  axis per output and unit (0–1 metrics apart from errors in stars), each
  from near its smallest value; the change under each metric, marked
  better or worse."""
  groups = report_data.metric_groups(names)
  fig, axes = plt.subplots(
      1, len(groups), figsize=(FULL_WIDTH, 3.8), layout='constrained',
      squeeze=False, width_ratios=[len(g) + 0.5 for _, _, g in groups])
  for ax, (output, unit, group) in zip(axes[0], groups):
    x = np.arange(len(group))
    ax.bar(x - 0.2, [candidate[n] for n in group], 0.4, label='candidate',
           color=_CANDIDATE_COLOR)
    ax.bar(x + 0.2, [baseline[n] for n in group], 0.4, label='baseline',
           color=_BASELINE_COLOR)
    _value_axis(ax, [candidate[n] for n in group]
                + [baseline[n] for n in group], unit)
    labels = [_change_label(n, candidate[n], baseline[n]) for n in group]
    ax.set_xticks(x, [text for text, _ in labels])
    for tick, (_, color) in zip(ax.get_xticklabels(), labels):
      tick.set_color(color)
    ax.set_title(f'{output} ({unit})' if output else unit)
  _figure_legend(fig, axes[0][0].get_legend_handles_labels())
  fig.suptitle('Candidate against baseline (test split); under each '
               'metric: candidate − baseline')
  return fig


@_styled
def slice_metrics(column: str, names: Sequence[str],
                  candidate: report_data.Slices,
                  baseline: report_data.Slices):
  """One chart a metric: its value per slice of `column` (n: the slice's
  examples), the candidate's beside the baseline's when there is one."""
  values = [v for v, _ in candidate]
  baseline_by_value = {v: m for v, m in baseline}
  # Many slices (star ratings) need wider charts for their n labels.
  fig, axes = _grid(len(names), 3.2, 2 if len(values) > 5 else 3)
  x = np.arange(len(values))
  width = 0.4 if baseline_by_value else 0.8
  labels = [f'{v}\nn={c:,}' if c is not None else str(v)
            for v, c in zip(values,
                            report_data.slice_example_counts(candidate))]
  for ax, name in zip(axes, names):
    ys = [m.get(name, float('nan')) for _, m in candidate]
    ax.bar(x - (width / 2 if baseline_by_value else 0), ys, width,
           label='candidate', color=_CANDIDATE_COLOR)
    plotted = list(ys)
    if baseline_by_value:
      base = [baseline_by_value.get(v, {}).get(name, float('nan'))
              for v in values]
      ax.bar(x + width / 2, base, width, label='baseline',
             color=_BASELINE_COLOR)
      plotted += base
    _value_axis(ax, plotted, report_data.metric_unit(name))
    ax.set_xticks(x, labels)
    ax.set_title(name)
  if baseline_by_value:  # one legend for all, clear of the bars
    _figure_legend(fig, axes[0].get_legend_handles_labels())
  fig.suptitle(f'Metrics by {column} (test split, TFMA)')
  return fig


@_styled
def confusion_matrix(matrix: Dict[str, float]):
  """A 2x2 confusion matrix (TFMA's field names), counts in the cells."""
  cells = np.array([[matrix.get('trueNegatives', 0.0),
                     matrix.get('falsePositives', 0.0)],
                    [matrix.get('falseNegatives', 0.0),
                     matrix.get('truePositives', 0.0)]])
  fig, ax = plt.subplots(figsize=(HALF_WIDTH, 4.4), layout='constrained')
  ax.imshow(cells, cmap='Blues')
  for (row, col), count in np.ndenumerate(cells):
    ax.text(col, row, f'{int(count):,}', ha='center', va='center',
            color='white' if count > cells.max() / 2 else 'black')
  ax.set_xticks([0, 1], [f'predicted {n}' for n in contract.LABEL_NAMES])
  ax.set_yticks([0, 1], [f'actual {n}' for n in contract.LABEL_NAMES])
  threshold = float(matrix['threshold'])
  ax.set_title(f'Confusion matrix at threshold {threshold:.3f}')
  return fig


@_styled
def calibration(bins: Dict[str, np.ndarray]):
  """Observed positive share against mean prediction per bin, the bins'
  example counts as bars behind; the legend below the axes, off the bars."""
  edges, examples = bins['edges'], bins['examples']
  filled = examples > 0
  fig, ax = plt.subplots(figsize=(HALF_WIDTH, 4.4), layout='constrained')
  counts_ax = ax.twinx()
  bars = counts_ax.bar((edges[:-1] + edges[1:]) / 2, examples, width=0.08,
                       alpha=0.2, color='grey', label='examples (bars)')
  counts_ax.set_ylabel('examples (bars)')
  perfect = ax.plot([0, 1], [0, 1], linestyle=':', color='grey',
                    label='perfect')
  model = ax.plot(bins['predictions'][filled] / examples[filled],
                  bins['labels'][filled] / examples[filled], marker='o',
                  label='model')
  ax.set_zorder(counts_ax.get_zorder() + 1)  # the line over the bars
  ax.patch.set_visible(False)
  ax.set_xlabel('mean predicted P(positive)')
  ax.set_ylabel('share actually positive')
  ax.set_xlim(0, 1)
  ax.set_ylim(0, 1)
  handles = perfect + model + [bars]
  fig.legend(handles, [h.get_label() for h in handles],
             loc='outside lower center', ncols=3)
  ax.set_title('Calibration (test split)')
  return fig
