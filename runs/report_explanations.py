"""The run report's "Why the model got these wrong": the test reviews the
run's model got most confidently wrong, each with the n-grams that weighed
most, as the model's own `explain` signature gives them (exact contributions
to the logit, models/explanations.py). The SavedModel is loaded with
TensorFlow alone, as TF Serving loads it.
"""

import html
import os
import re
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

import contract
from runs import report_data as data
from runs import report_html

NUM_WRONG = 3  # reviews shown
EXCERPT_CHARS = 300  # of each review: enough to see what it is about
_BATCH = 256
_MARKUP = re.compile(r'<[^>]*>')


def labelled_batches(examples_uri: str, split: str
                     ) -> Iterator[Tuple[List[bytes], np.ndarray, List[bytes]]]:
  """(texts, labels, review ids) of one split of an Examples artifact, a
  batch at a time: a split is never held whole (at a million reviews its
  texts alone are gigabytes)."""
  files = sorted(tf.io.gfile.glob(os.path.join(examples_uri,
                                               f'Split-{split}', '*')))
  spec = {contract.TEXT_KEY: tf.io.FixedLenFeature([], tf.string),
          contract.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
          contract.REVIEW_ID_KEY: tf.io.FixedLenFeature([], tf.string,
                                                        default_value='')}
  dataset = tf.data.TFRecordDataset(files, compression_type='GZIP').batch(
      _BATCH)
  for batch in dataset:
    parsed = tf.io.parse_example(batch, spec)
    yield (parsed[contract.TEXT_KEY].numpy().tolist(),
           parsed[contract.LABEL_KEY].numpy(),
           parsed[contract.REVIEW_ID_KEY].numpy().tolist())


class _Mistake(NamedTuple):
  error: float
  index: int  # in the split: ties go to the earlier review
  text: bytes
  label: int
  review_id: bytes
  probability: float


def most_wrong(probabilities: np.ndarray, labels: np.ndarray,
               count: int) -> List[int]:
  """Indices of the misclassified reviews with the largest error
  |label - P(positive)|, largest first, at most `count`."""
  errors = np.abs(labels - probabilities)
  positive = probabilities >= contract.DECISION_THRESHOLD
  wrong = np.flatnonzero(positive != (labels == 1))
  return wrong[np.argsort(-errors[wrong], kind='stable')][:count].tolist()


def excerpt(text: bytes, limit: int = EXCERPT_CHARS) -> str:
  """The review as plain text (markup dropped, spaces collapsed), cut at
  `limit` characters."""
  plain = ' '.join(_MARKUP.sub(' ', text.decode('utf-8', 'replace')).split())
  return plain if len(plain) <= limit else plain[:limit - 1] + '…'


def _probabilities(serve, texts: Sequence[bytes]) -> np.ndarray:
  out = [serve(**{contract.SERVING_INPUT_KEY: tf.constant(
      texts[start:start + _BATCH], tf.string)})[
          contract.PROBABILITY_OUTPUT_KEY].numpy()
         for start in range(0, len(texts), _BATCH)]
  return np.concatenate(out) if out else np.zeros([0], np.float32)


def _surest_mistakes(serve, batches) -> Tuple[List[_Mistake], int, int]:
  """The NUM_WRONG misclassified reviews of largest error over all
  `batches` (as `most_wrong` would pick them from the whole split), the
  number of reviews and of misclassified ones. Only the candidates are
  kept between batches."""
  chosen: List[_Mistake] = []
  reviews = misclassified = 0
  for texts, labels, review_ids in batches:
    probabilities = _probabilities(serve, texts)
    misclassified += int(np.sum(
        (probabilities >= contract.DECISION_THRESHOLD) != (labels == 1)))
    chosen.extend(
        _Mistake(float(abs(labels[i] - probabilities[i])), reviews + i,
                 texts[i], int(labels[i]), review_ids[i],
                 float(probabilities[i]))
        for i in most_wrong(probabilities, labels, NUM_WRONG))
    chosen = sorted(chosen, key=lambda m: (-m.error, m.index))[:NUM_WRONG]
    reviews += len(texts)
  return chosen, reviews, misclassified


def _terms_html(terms, contributions, ngram_counts) -> str:
  spans = []
  for term, contribution, ngrams in zip(terms, contributions, ngram_counts):
    if not term:
      continue
    shared = (f' <small>({int(ngrams)} n-grams share this id)</small>'
              if ngrams > 1 else '')
    name = html.escape(term.decode('utf-8', 'replace'))
    spans.append(f'<span class="{"pos" if contribution >= 0 else "neg"}">'
                 f'{contribution:+.2f}&nbsp;{name}</span>{shared}')
  return ', '.join(spans) or '(no n-grams)'


def _model_dir(run) -> Optional[str]:
  model_uri = data.first_uri(run, 'Trainer', 'Model')
  return os.path.join(model_uri, 'Format-Serving') if model_uri else None


def explanation_section(report: report_html.Report, run) -> None:
  report.add('<h2>Why the model got these wrong</h2>')
  model_dir = _model_dir(run)
  examples_uri = data.first_uri(run, 'ImdbExampleGen', 'Examples')
  if not model_dir or not tf.io.gfile.exists(
      os.path.join(model_dir, 'saved_model.pb')) or not examples_uri:
    report.missing('The Trainer model or the Examples')
    return
  signatures = tf.saved_model.load(model_dir).signatures
  if contract.EXPLAIN_SIGNATURE not in signatures:
    report.add('<p>This run\'s model has no <code>explain</code> signature '
               '(it was exported before there was one).</p>')
    return
  chosen, reviews, misclassified = _surest_mistakes(
      signatures[contract.SERVING_SIGNATURE],
      labelled_batches(examples_uri, contract.TEST_SPLIT))
  if not reviews:
    report.missing('The test split of the Examples')
    return
  if not chosen:
    report.add(f'<p>The model misclassified none of the {reviews:,} test '
               'reviews.</p>')
    return
  report.add(
      f'<p>Of the {reviews:,} test reviews the model misclassified '
      f'{misclassified:,}; below, the {len(chosen)} it was surest of. The '
      'model is additive over n-grams up to its sigmoid, so these are not '
      'saliency guesses: the logit is exactly the bias plus each distinct '
      'n-gram\'s contribution (its NB ratio × its embedding · the head\'s '
      f'weights / √(n+1)). Shown: the {contract.NUM_EXPLAINED_TERMS} n-grams '
      'of largest |contribution|, <span class="pos">for positive</span> or '
      '<span class="neg">for negative</span>.</p>')
  explained = signatures[contract.EXPLAIN_SIGNATURE](**{
      contract.SERVING_INPUT_KEY: tf.constant([m.text for m in chosen],
                                              tf.string)})
  explained = {key: value.numpy() for key, value in explained.items()}
  for row, mistake in enumerate(chosen):
    review_id = (mistake.review_id.decode('utf-8', 'replace')
                 or f'#{mistake.index}')
    report.add(
        f'<h3>{row + 1}. {html.escape(review_id)}: labelled '
        f'{contract.LABEL_NAMES[mistake.label]}, P(positive) '
        f'{mistake.probability:.3f}</h3>'
        f'<p class="review">{html.escape(excerpt(mistake.text))}</p>'
        f'<p>logit {explained[contract.LOGIT_OUTPUT_KEY][row]:+.2f} = bias '
        f'{explained[contract.BIAS_OUTPUT_KEY][row]:+.2f} + n-grams '
        f'{explained[contract.CONTRIBUTION_TOTAL_OUTPUT_KEY][row]:+.2f}; '
        'top n-grams: '
        + _terms_html(explained[contract.EXPLAINED_TERM_OUTPUT_KEY][row],
                      explained[contract.CONTRIBUTION_OUTPUT_KEY][row],
                      explained[contract.TERM_NGRAMS_OUTPUT_KEY][row])
        + '</p>')
