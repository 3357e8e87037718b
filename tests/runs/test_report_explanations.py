"""The run report's "Why the model got these wrong", without a run: the small
exported model (helpers/small_model.py) as the Trainer's, and test
examples written here."""

import os
import re
import shutil

import numpy as np
import tensorflow as tf

from helpers import imdb_data
import contract
from runs import report_explanations
from runs import report_html
from runs import summary

# Labels that contradict the words: the model must get these wrong.
_WRONG = [('test/neg/1_4', 0, 'Wonderful, brilliant, superb. Loved it!'),
          ('test/pos/2_7', 1, 'Awful & boring, the worst.<br />A waste.'),
          ('test/neg/3_3', 0, 'Brilliant. <script>alert(1)</script> ' * 40)]
_RIGHT = [('test/pos/4_9', 1, 'A superb, wonderful film.'),
          ('test/neg/5_1', 0, 'Dull, awful, boring.')]


def _write_examples(uri: str, reviews) -> None:
  split_dir = os.path.join(uri, f'Split-{contract.TEST_SPLIT}')
  os.makedirs(split_dir)
  with tf.io.TFRecordWriter(os.path.join(split_dir, 'data.gz'),
                            options='GZIP') as writer:
    for review_id, label, text in reviews:
      writer.write(imdb_data.reviews.Review(
          review_id, label, 2 + 7 * label, text.encode()).to_example()
                   .SerializeToString())


def _run(tmp_path, explained_model, reviews) -> summary.RunSummary:
  model_uri = str(tmp_path / 'trainer_model')
  shutil.copytree(explained_model, os.path.join(model_uri, 'Format-Serving'))
  examples_uri = str(tmp_path / 'examples')
  _write_examples(examples_uri, reviews)
  return summary.RunSummary(
      run_id='2026-01-01T00:00:00', components=[], pushed=False,
      serving_model_dir=None, identical_to_version=None, blessed=True,
      metrics={}, outputs={
          'Trainer': {'model': [summary.ArtifactRecord(
              1, 'Model', model_uri, 0, {})]},
          'ImdbExampleGen': {'examples': [summary.ArtifactRecord(
              2, 'Examples', examples_uri, 0, {})]}})


def _page(tmp_path, run) -> str:
  page = report_html.Report(str(tmp_path))
  report_explanations.explanation_section(page, run)
  return '\n'.join(page.sections)


def test_the_surest_mistakes_are_shown_with_their_ngrams(tmp_path,
                                                         explained_model):
  page = _page(tmp_path, _run(tmp_path, explained_model, _RIGHT + _WRONG))
  assert '<h2>Why the model got these wrong</h2>' in page
  assert 'Of the 5 test reviews the model misclassified 3;' in page
  headings = re.findall(
      r'<h3>\d\. (\S+): labelled (\w+), P\(positive\) ([\d.]+)</h3>', page)
  assert {h[0] for h in headings} == {r[0] for r in _WRONG}
  errors = [abs((label == 'positive') - float(p))
            for _, label, p in headings]
  assert errors == sorted(errors, reverse=True) and min(errors) > 0.5
  # Each with its logit as bias + n-grams and its top n-grams, signed.
  for logit, bias, ngrams in re.findall(
      r'logit ([+-][\d.]+) = bias ([+-][\d.]+) \+ n-grams ([+-][\d.]+)',
      page):
    assert abs(float(bias) + float(ngrams) - float(logit)) <= 0.011
  # The glowing review labelled negative: its praise pushed it up.
  assert re.search(r'<span class="pos">\+[\d.]+&nbsp;(wonderful|brilliant|'
                   r'superb|loved)</span>', page)
  assert re.search(r'<span class="neg">-[\d.]+&nbsp;(awful|boring|worst|'
                   r'waste)</span>', page)
  # Review text is cut short, markup dropped, and escaped.
  assert '<script>' not in page and '<br />' not in page
  assert 'Awful &amp; boring' in page
  excerpts = re.findall(r'<p class="review">(.*?)</p>', page)
  assert len(excerpts) == 3
  assert all(len(e) <= report_explanations.EXCERPT_CHARS * 2 for e in excerpts)
  assert any(e.endswith('…') for e in excerpts)


def test_most_wrong_takes_misclassified_reviews_largest_error_first():
  probabilities = np.array([0.9, 0.2, 0.6, 0.99, 0.45, 0.01])
  labels = np.array([1, 1, 0, 0, 1, 0])
  assert report_explanations.most_wrong(probabilities, labels, 3) == [3, 1, 2]
  assert report_explanations.most_wrong(probabilities, labels, 10) == [
      3, 1, 2, 4]
  assert report_explanations.most_wrong(np.array([0.9, 0.1]),
                                        np.array([1, 0]), 3) == []
  assert report_explanations.excerpt(b'A <br />b  c', 10) == 'A b c'
  assert report_explanations.excerpt(b'x' * 20, 10) == 'x' * 9 + '…'


def test_no_mistake_no_explanation(tmp_path, explained_model):
  page = _page(tmp_path, _run(tmp_path, explained_model, _RIGHT))
  assert 'The model misclassified none of the 2 test reviews.' in page
  assert '<h3>' not in page


def test_a_run_without_a_model_says_so(tmp_path):
  run = summary.RunSummary(
      run_id='r', components=[], pushed=False, serving_model_dir=None,
      identical_to_version=None, blessed=None, metrics={}, outputs={})
  page = _page(tmp_path, run)
  assert 'The Trainer model or the Examples: not in this run' in page


def test_the_surest_mistakes_of_a_split_are_found_a_batch_at_a_time():
  # The split is streamed: the mistakes kept between batches must be those
  # `most_wrong` picks from the whole split, ties to the earlier review.
  rng = np.random.default_rng(7)
  probabilities = rng.random(1000).astype(np.float32)
  labels = rng.integers(0, 2, 1000)
  probabilities[[40, 700, 900]] = 1.0  # errors of 1: the largest, tied
  labels[[40, 700, 900]] = 0
  texts = [b'%d' % i for i in range(1000)]

  def serve(**inputs):
    rows = [int(t) for t in inputs[contract.SERVING_INPUT_KEY].numpy()]
    return {contract.PROBABILITY_OUTPUT_KEY: tf.constant(probabilities[rows])}

  batches = [(texts[s:s + 64], labels[s:s + 64], [b'id%d' % s] * 64)
             for s in range(0, 1000, 64)]
  chosen, reviews, misclassified = report_explanations._surest_mistakes(
      serve, iter(batches))
  expected = report_explanations.most_wrong(
      probabilities, labels, report_explanations.NUM_WRONG)
  assert [m.index for m in chosen] == expected == [40, 700, 900]
  assert [m.text for m in chosen] == [texts[i] for i in expected]
  assert reviews == 1000
  assert misclassified == int(np.sum((probabilities >= 0.5) != (labels == 1)))
