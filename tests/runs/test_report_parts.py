"""The run report's pieces without a run: what its figures are drawn from,
the figures themselves, and the page that embeds them."""

import io

import numpy as np
from PIL import Image

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
  _assert_png(report_plots.confusion_matrix(
      report_data.confusion_at_threshold(plots)))


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
  _assert_png(report_plots.calibration(bins))


def test_figures_render_and_the_page_embeds_them(tmp_path):
  features = report_data.slice_features(_BY_SLICE)
  report = report_html.Report(str(tmp_path))
  report.figure(report_plots.split_labels(
      ['train', 'test'], {'train': (100, 0.5), 'test': (40, 0.25)}),
                'splits', 'Examples per split.')
  report.figure(report_plots.review_lengths(
      {'train': np.array([5, 50, 500]), 'test': np.array([], np.int64)}),
                'lengths', 'Lengths.')
  report.figure(report_plots.top_words([(b'good', 9), (b'bad', 4)]),
                'words', 'Words.')
  report.figure(report_plots.training_curves(
      {'loss': {'train': [0.7, 0.5], 'validation': [0.69, 0.6]},
       'auc': {'train': [0.6, 0.8]}}), 'curves', 'Curves.')
  report.figure(report_plots.slice_metrics(
      'length_bucket', ['binary_accuracy', 'auc'], features['length_bucket'],
      features['length_bucket'][:1]), 'slices', 'Slices.')
  report.figure(report_plots.baseline_comparison(
      ['auc'], {'auc': 0.9}, {'auc': 0.8}), 'baseline', 'Baseline.')
  report.missing('Trainer TensorBoard logs')
  page = report.page('imdb: run <1>')
  assert '<title>imdb: run &lt;1&gt;</title>' in page
  assert page.count('src="data:image/png;base64,') == 6
  assert 'Trainer TensorBoard logs: not in this run' in page
  for name, path in report.figures.items():
    with open(path, 'rb') as f:
      _assert_png(f.read())
    assert f'data-file="{name}"' in page
  assert '<td>a&amp;b</td>' in report_html.table(['x'], [['a&b']])
