"""The run report's pieces without a run: what its figures are drawn from,
the figures themselves, and the page that embeds them."""

import io
import os

import matplotlib.text
import numpy as np
from PIL import Image
import tensorflow as tf

import contract

from runs import report_data
from runs import report_html
from runs import report_plots

_BY_SLICE = {
    (): {'binary_accuracy': 0.8},
    (('rating', 1),): {'binary_accuracy': 0.9, 'auc': float('nan'),
                       'example_count': 10.0, 'mean_label': 0.0},
    (('rating', 10),): {'binary_accuracy': 0.7, 'auc': float('nan'),
                        'example_count': 12.0, 'mean_label': 1.0},
    (('length_bucket', '400+'),): {'binary_accuracy': 0.6, 'auc': 0.7,
                                   'mean_label': 0.5},
    (('length_bucket', '0-99'),): {'binary_accuracy': 0.5, 'auc': 0.6,
                                   'mean_label': 0.4},
}


def _assert_png(data: bytes):
  image = Image.open(io.BytesIO(data))
  assert image.format == 'PNG' and image.width >= 200
  return image


def test_slices_are_grouped_by_feature_and_ordered():
  features = report_data.slice_features(_BY_SLICE)
  assert [v for v, _ in features['rating']] == [1, 10]
  assert [v for v, _ in features['length_bucket']] == ['0-99', '400+']


def test_single_label_slices_leave_out_metrics_that_need_both():
  features = report_data.slice_features(_BY_SLICE)
  assert report_data.plotted_slice_metrics(features['rating']) == (
      ['binary_accuracy'], True)
  assert report_data.plotted_slice_metrics(features['length_bucket']) == (
      ['binary_accuracy', 'auc'], False)


def test_confusion_matrix_nearest_the_decision_threshold():
  plots = {'confusionMatrixAtThresholds': {'matrices': [
      {'threshold': 0.3, 'truePositives': 9.0},
      {'threshold': 0.49, 'truePositives': 7.0},
      {'threshold': 0.7, 'truePositives': 4.0}, {}]}}
  assert report_data.confusion_at_threshold(plots)['truePositives'] == 7.0
  _assert_png(report_plots.png(report_plots.confusion_matrix(
      report_data.confusion_at_threshold(plots))))


def test_calibration_buckets_fall_into_ten_bins():
  plots = {'calibrationHistogramBuckets': {'buckets': [
      {'lowerThresholdInclusive': -1e9, 'numWeightedExamples': 0.0},
      {'lowerThresholdInclusive': 0.05, 'numWeightedExamples': 4.0,
       'totalWeightedLabel': 1.0, 'totalWeightedRefinedPrediction': 0.3},
      {'lowerThresholdInclusive': 0.95, 'numWeightedExamples': 2.0,
       'totalWeightedLabel': 2.0, 'totalWeightedRefinedPrediction': 1.9}]}}
  bins = report_data.calibration_bins(plots)
  assert bins['examples'].tolist() == [4.0] + [0.0] * 8 + [2.0]
  assert bins['labels'][-1] == 2.0
  _assert_png(report_plots.png(report_plots.calibration(bins)))


def test_figures_render_and_the_page_embeds_them(tmp_path):
  features = report_data.slice_features(_BY_SLICE)
  report = report_html.Report(str(tmp_path))
  report.figure(report_plots.png(report_plots.split_labels(
      ['train', 'test'], {'train': (100, 0.5), 'test': (40, 0.25)})),
                'splits', 'Examples per split.')
  report.figure(report_plots.png(report_plots.review_lengths(
      {'train': np.array([5, 50, 500]), 'test': np.array([], np.int64)})),
                'lengths', 'Lengths.')
  report.figure(report_plots.png(report_plots.top_words(
      [(b'good', 9), (b'bad', 4)])), 'words', 'Words.')
  report.figure(report_plots.png(report_plots.training_curves(
      {'loss': {'train': [0.7, 0.5], 'validation': [0.69, 0.6]},
       'auc': {'train': [0.6, 0.8]}})), 'curves', 'Curves.')
  report.figure(report_plots.png(report_plots.slice_metrics(
      'length_bucket', ['binary_accuracy', 'auc'], features['length_bucket'],
      features['length_bucket'][:1])), 'slices', 'Slices.')
  report.figure(report_plots.png(report_plots.baseline_comparison(
      ['auc'], {'auc': 0.9}, {'auc': 0.8})), 'baseline', 'Baseline.')
  report.figure_row([
      (report_plots.png(report_plots.calibration(_BINS)), 'calibration',
       'Calibration.'),
      (report_plots.png(report_plots.confusion_matrix(_MATRIX)), 'matrix',
       'Matrix.')])
  report.missing('Trainer TensorBoard logs')
  page = report.page('imdb: run <1>')
  assert '<title>imdb: run &lt;1&gt;</title>' in page
  assert page.count('src="data:image/png;base64,') == 8
  assert page.count('<div class="row"><figure>') == 1
  assert 'Trainer TensorBoard logs: not in this run' in page
  for name, path in report.figures.items():
    with open(path, 'rb') as f:
      _assert_png(f.read())
    assert f'data-file="{name}"' in page
  assert '<td>a&amp;b</td>' in report_html.table(['x'], [['a&b']])


# --- The figures' readability: what a person sees of them on the page ----

_MATRIX = {'threshold': 0.5, 'trueNegatives': 40.0, 'falsePositives': 10.0,
           'falseNegatives': 5.0, 'truePositives': 45.0}
# Most predictions near 0: the first bin's bar is the tallest, under where a
# legend in the upper left used to be.
_BINS = {'edges': np.linspace(0, 1, 11),
         'examples': np.array([90.0, 5, 2, 1, 1, 1, 1, 2, 5, 80]),
         'labels': np.array([3.0, 1, 1, 0, 1, 0, 1, 1, 4, 77]),
         'predictions': np.array([4.0, 0.7, 0.5, 0.35, 0.45, 0.55, 0.65,
                                  1.5, 4.2, 76.0])}
_PREFIXED_SLICES = report_data.slice_features({
    (('rating', r),): {'probability/binary_accuracy': 0.8 + r / 100,
                       'probability/example_count': 10.0 + r,
                       'probability/mean_label': float(r > 5),
                       'rating/mean_absolute_error': 1 + r / 10}
    for r in (1, 2, 3, 4, 7, 8, 9, 10)})['rating']
_OVERALL = {'probability/binary_accuracy': 0.91, 'probability/auc': 0.97,
            'probability/calibration': 0.99,
            'rating/mean_absolute_error': 1.72,
            'rating/mean_squared_error': 6.7}
_BASELINE = {'probability/binary_accuracy': 0.89, 'probability/auc': 0.972,
             'probability/calibration': 1.05,
             'rating/mean_absolute_error': 1.70,
             'rating/mean_squared_error': 6.5}


def _figures():
  """(name, figure, the width in pixels the page shows it at)."""
  page, half = report_html.PAGE_WIDTH_PX, report_html.HALF_WIDTH_PX
  return [
      ('splits', report_plots.split_labels(
          ['train', 'eval', 'test'], {'train': (22544, 0.5),
                                      'eval': (2456, 0.5),
                                      'test': (2500, 0.5)}), page),
      ('lengths', report_plots.review_lengths(
          {'train': np.arange(1, 900)}), page),
      ('words', report_plots.top_words(
          [(b'word%d' % i, 100 - i) for i in range(25)]), page),
      ('curves', report_plots.training_curves(
          {name: {'train': [0.7, 0.5, 0.4], 'validation': [0.6, 0.5, 0.45]}
           for name in ('loss', 'auc', 'probability_loss',
                        'rating_scaled_loss', 'accuracy')}), page),
      ('slices', report_plots.slice_metrics(
          'rating', ['probability/binary_accuracy',
                     'rating/mean_absolute_error'],
          _PREFIXED_SLICES, _PREFIXED_SLICES), page),
      ('baseline', report_plots.baseline_comparison(
          list(_OVERALL), _OVERALL, _BASELINE), page),
      ('matrix', report_plots.confusion_matrix(_MATRIX), half),
      ('calibration', report_plots.calibration(_BINS), half),
  ]


def _texts(fig):
  fig.canvas.draw()  # makes the tick labels as they are saved
  return [t for t in fig.findobj(matplotlib.text.Text)
          if t.get_visible() and t.get_text().strip()]


def test_figures_are_as_wide_as_the_page_shows_them():
  # They used to be 400-700 pixels wide on a 1100-pixel page, or wider and
  # then scaled down by the browser.
  for name, fig, shown_at in _figures():
    image = _assert_png(report_plots.png(fig))
    assert image.width == shown_at, (name, image.width)


def test_every_text_is_at_least_10_pixels_on_the_page():
  for name, fig, shown_at in _figures():
    width = fig.get_figwidth() * report_plots.DPI
    scale = min(1.0, shown_at / width)  # the browser shrinks wider images
    texts = _texts(fig)
    tick_labels = [t for ax in fig.axes
                   for t in ax.get_xticklabels() + ax.get_yticklabels()
                   if t.get_text()]
    assert tick_labels, name
    for text in texts + tick_labels:
      pixels = text.get_fontsize() * report_plots.DPI / 72 * scale
      assert pixels >= 10, (name, text.get_text(), pixels)


def test_slice_ticks_show_each_slice_s_example_count():
  assert report_data.slice_example_counts(_PREFIXED_SLICES) == [
      11, 12, 13, 14, 17, 18, 19, 20]
  fig = report_plots.slice_metrics(
      'rating', ['probability/binary_accuracy'], _PREFIXED_SLICES, [])
  labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
  assert labels[0] == '1\nn=11' and labels[-1] == '10\nn=20'


def test_value_axis_starts_near_the_values_when_they_are_close():
  low, high = report_plots.value_range([0.90, 0.91, 0.92, 0.93])
  assert 0.8 <= low < 0.9 and high > 0.93
  assert 0.01 / (high - low) >= 0.05  # a 1-point step is visible
  # Values far apart keep bars from 0: their lengths are honest.
  assert report_plots.value_range([0.4, 1.8])[0] == 0.0
  assert report_plots.value_range([0.0, 0.3])[0] == 0.0


def test_baseline_comparison_keeps_errors_in_stars_off_the_0_1_axis():
  assert [(o, u) for o, u, _ in report_data.metric_groups(list(_OVERALL))] == [
      ('probability', '0–1'), ('rating', 'stars'), ('rating', 'stars²')]
  fig = report_plots.baseline_comparison(list(_OVERALL), _OVERALL, _BASELINE)
  axes = [ax for ax in fig.axes if ax.patches]
  assert len(axes) == 3
  shares = axes[0]
  heights = sorted(p.get_height() for p in shares.patches)
  assert max(heights) < 1.1  # no 6.7 beside them
  low, high = shares.get_ylim()
  assert low > 0.5 and 'not 0' in shares.get_ylabel()
  # The 2-point accuracy difference is a visible step on the axis.
  assert 0.02 / (high - low) >= 0.06
  assert 'stars²' in axes[2].get_title()


def test_baseline_comparison_marks_each_change_better_or_worse():
  fig = report_plots.baseline_comparison(list(_OVERALL), _OVERALL, _BASELINE)
  labels = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels()]
  assert labels == ['binary_accuracy\n+0.0200\nbetter',
                    'auc\n-0.0020\nworse',
                    'calibration\n-0.0600\nbetter',  # nearer to 1
                    'mean_absolute_error\n+0.0200\nworse',
                    'mean_squared_error\n+0.2000\nworse']
  assert report_data.change_verdict('probability/auc', 0.9, 0.9) == 'same'
  assert report_data.change_verdict('probability/example_count', 9, 8) is None
  assert report_data.better_direction('rating/mean_squared_error') == 'lower'


def test_training_curves_tick_whole_epochs():
  fig = report_plots.training_curves(
      {'loss': {'train': [0.7, 0.5, 0.45, 0.4], 'validation': [0.6, 0.5]}})
  fig.canvas.draw()
  ticks = [t for t in fig.axes[0].get_xticks()
           if fig.axes[0].get_xlim()[0] <= t <= fig.axes[0].get_xlim()[1]]
  assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_calibration_legend_covers_no_bar():
  fig = report_plots.calibration(_BINS)
  fig.canvas.draw()
  renderer = fig.canvas.get_renderer()
  legend = (fig.legends or [ax.get_legend() for ax in fig.axes
                            if ax.get_legend()])[0]
  box = legend.get_window_extent(renderer)
  bars = [p for ax in fig.axes for p in ax.patches if p.get_height() > 0]
  assert len(bars) == 10
  for bar in bars:
    assert not box.overlaps(bar.get_window_extent(renderer))
  for ax in fig.axes:
    assert not box.overlaps(ax.get_window_extent(renderer))


def _write_split(examples_uri, split, texts):
  split_dir = os.path.join(examples_uri, f'Split-{split}')
  os.makedirs(split_dir)
  # Two files, as ExampleGen may write: the stride runs across them.
  for part, start in enumerate((0, len(texts) // 3)):
    end = len(texts) // 3 if part == 0 else len(texts)
    with tf.io.TFRecordWriter(os.path.join(split_dir, f'data-{part}.gz'),
                              options='GZIP') as writer:
      for text in texts[start:end]:
        writer.write(tf.train.Example(features=tf.train.Features(feature={
            contract.TEXT_KEY: tf.train.Feature(
                bytes_list=tf.train.BytesList(value=[text]))}))
                     .SerializeToString())


def test_evenly_spaced_texts_keep_both_ends_of_a_sorted_split(tmp_path):
  # A split is stored sorted by label: the sample must not be its first
  # reviews, which would all be negative.
  texts = [b'neg %d' % i for i in range(500)] + [
      b'pos %d' % i for i in range(500)]
  _write_split(str(tmp_path), 'train', texts)
  assert report_data.read_evenly_spaced_texts(
      str(tmp_path), 'train', 1000, 100) == texts[::10]
  _write_split(str(tmp_path), 'test', texts[:30])
  assert report_data.read_evenly_spaced_texts(
      str(tmp_path), 'test', 30, 100) == texts[:30]
  # 1,000 reviews, at most 300: every 4th (every 3rd would give 334).
  sample = report_data.read_evenly_spaced_texts(str(tmp_path), 'train',
                                                1000, 300)
  assert sample == texts[::4] and len(sample) == 250
