"""What a person sees of a real (small) run: progress lines, the log file,
the end-of-run summary and the HTML report with its plots."""

import base64
import html.parser
import io
import os
import re

import pytest
from PIL import Image

import contract
from runs import report

pytestmark = pytest.mark.e2e

# Figures every report of a run that trained and evaluated has; the TFMA
# plots are named after the model output they are of when there are several.
_FIGURES = ('data_splits', 'data_review_length', 'data_top_tokens',
            'training_curves', 'slices_rating', 'slices_length_bucket')
_OUTPUT_FIGURES = ('confusion_matrix', 'calibration')
# A metric of the sentiment output, alone or prefixed by the output's name.
_ACCURACY = rf'(?:{contract.PROBABILITY_OUTPUT_KEY}/)?binary_accuracy'
_SHARE = r'(?:0\.\d{4}|1\.0000)'  # a value in [0, 1], as the summary prints it
_COMPONENTS = ('ImdbExampleGen', 'StatisticsGen', 'Transform', 'Trainer',
               'Evaluator', 'Pusher')


class _Images(html.parser.HTMLParser):
  """The <img> tags of a page: (data-file, src)."""

  def __init__(self):
    super().__init__()
    self.images = []

  def handle_starttag(self, tag, attrs):
    if tag == 'img':
      attrs = dict(attrs)
      self.images.append((attrs.get('data-file'), attrs.get('src', '')))


def _report_path(stdout: str) -> str:
  match = re.search(r'^Report: (.+)$', stdout, re.MULTILINE)
  assert match, stdout
  return match.group(1)


def _embedded_images(path: str):
  parser = _Images()
  with open(path, encoding='utf-8') as f:
    parser.feed(f.read())
  return parser.images


def _assert_real_png(data: bytes, what: str):
  image = Image.open(io.BytesIO(data))
  assert image.format == 'PNG', what
  assert image.width >= 200 and image.height >= 150, (what, image.size)
  colors = image.convert('RGB').getcolors(maxcolors=1 << 16)
  # A blank canvas has one color; a plot has axes, text and data.
  assert colors is None or len(colors) > 20, (what, len(colors or []))


def test_run_shows_progress_lines_and_the_log_file(pushed_run):
  stdout = pushed_run.stdout
  log_path = re.search(r'^Log: (\S+)', stdout, re.MULTILINE).group(1)
  assert log_path.startswith(pushed_run.config.runs_dir + os.sep)
  for component in _COMPONENTS:
    assert re.search(rf'\] {component} +started$', stdout, re.MULTILINE), \
        component
    assert re.search(rf'\] {component} +executed +\d+\.\d s$', stdout,
                     re.MULTILINE), component
  assert re.search(r'Trainer epoch 1/\d+  loss \d\.\d{4}', stdout)
  # TFX's logs are in the file, not on the terminal.
  with open(log_path) as f:
    log = f.read()
  assert 'Component Transform is running.' in log
  assert 'Component Transform is running.' not in stdout


def test_summary_has_table_metrics_blessing_push_and_report(pushed_run):
  stdout = pushed_run.stdout
  summary = stdout[stdout.index('\nRun '):]
  for component in _COMPONENTS:
    assert re.search(rf'^  {component} +executed +\d+\.\d s$', summary,
                     re.MULTILINE), component
  assert 'no other blessed model to compare with' in summary
  assert re.search(rf'^  {_ACCURACY} +{_SHARE}$', summary, re.MULTILINE)
  assert 'Blessed: yes' in summary
  version = sorted(os.listdir(pushed_run.config.serving_dir))[-1]
  assert (f'Pushed model: {pushed_run.config.serving_dir}/{version} '
          f'(version {version})') in summary
  assert _report_path(summary).endswith('report.html')


def test_report_is_self_contained_and_its_plots_are_real_images(pushed_run):
  path = _report_path(pushed_run.stdout)
  run_dir = os.path.dirname(path)
  assert os.path.dirname(run_dir) == pushed_run.config.runs_dir
  images = dict(_embedded_images(path))
  for name in _FIGURES:
    assert f'{name}.png' in images, (name, sorted(images))
  for name in _OUTPUT_FIGURES:
    assert any(re.fullmatch(rf'{name}(_\w+)?\.png', image)
               for image in images), (name, sorted(images))
  for file_name, src in images.items():
    assert src.startswith('data:image/png;base64,'), file_name
    embedded = base64.b64decode(src[len('data:image/png;base64,'):])
    with open(os.path.join(run_dir, file_name), 'rb') as f:
      assert f.read() == embedded, file_name
    _assert_real_png(embedded, file_name)
  with open(path, encoding='utf-8') as f:
    page = f.read()
  assert 'Out-of-vocabulary rate' in page
  assert 'No baseline' in page
  assert ('ExampleValidator (the statistics against the schema): no '
          'anomalies in train, eval, test.') in page
  assert 'no previous span to compare with (span 0 is the first)' in page
  assert ('Warm start: no, trained from scratch (no blessed model trained on '
          'other examples).'
          in page)
  # The run's own model explains its worst mistakes on the test split.
  assert '<h2>Why the model got these wrong</h2>' in page
  assert re.search(r'(Of the 100 test reviews the model misclassified \d+;|'
                   r'The model misclassified none of the 100 test)', page)


def test_a_rerun_on_unchanged_data_is_cached_and_says_why(pushed_run,
                                                        cli_rerun):
  _, second_run = cli_rerun
  summary = second_run[second_run.index('\nRun '):]
  for component in ('Transform', 'Trainer', 'Evaluator', 'Pusher'):
    assert re.search(rf'^  {component} +cached', summary, re.MULTILINE), (
        component)
  # The only blessed model is the candidate itself: no baseline.
  assert 'no other blessed model to compare with' in summary
  # Its Trainer is cached: the warm start is the first run's, which had no
  # blessed model.
  assert ('Warm start: Trainer cached; its model (trained in an earlier run) '
          'was trained from scratch: no blessed model trained on other '
          'examples at the time') in summary
  path = _report_path(summary)
  assert path != _report_path(pushed_run.stdout)
  with open(path, encoding='utf-8') as f:
    page = f.read()
  assert 'Warm start: Trainer cached; its model' in page
  first_run_dir = os.path.basename(os.path.dirname(
      _report_path(pushed_run.stdout)))
  with open(os.path.join(pushed_run.config.output_dir, report.REPORT_FILE),
            encoding='utf-8') as latest:
    latest_page = latest.read()
  # Now the second run's, its link to the reused report made relative to
  # outputs/ (compared as a flag: pytest's diff of two whole pages takes
  # minutes).
  same_page = latest_page == page.replace(
      f'href="../{first_run_dir}/', f'href="runs/{first_run_dir}/')
  assert same_page, 'outputs/report.html is not the second run\'s report'
  assert f'href="runs/{first_run_dir}/report.html"' in latest_page


def test_a_new_model_is_compared_with_the_baseline(pushed_run, baseline_run):
  summary = baseline_run.stdout[baseline_run.stdout.index('\nRun '):]
  assert 'latest other blessed model as baseline' in summary
  assert re.search(rf'^  {_ACCURACY} +{_SHARE} +{_SHARE}$', summary,
                   re.MULTILINE)
  # (Transform runs again too: the copy's module wheel has another path.)
  assert re.search(r'^  Trainer +executed', summary, re.MULTILINE)
  path = _report_path(summary)
  with open(path, encoding='utf-8') as f:
    page = f.read()
  first_version = re.search(r'\(version (\d+)\)', pushed_run.stdout).group(1)
  assert (f'Baseline: the latest blessed model, pushed as version '
          f'{first_version} (model artifact ') in page
  assert re.search(r'<td>probability/binary_accuracy</td>(<td>[^<]*</td>){3}'
                   r'<td>higher</td>', page)
  images = dict(_embedded_images(path))
  assert 'baseline_comparison.png' in images
  _assert_real_png(base64.b64decode(
      images['baseline_comparison.png'].split(',', 1)[1]), 'baseline')
