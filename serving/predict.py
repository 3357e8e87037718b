"""Sentiment of review texts, from a pushed model or a TF Serving endpoint.

    python -m serving.predict "A wonderful film." "Two hours I won't get back."
    python -m serving.predict --file reviews.txt      # one review per line
    cat reviews.txt | python -m serving.predict       # stdin, one per line
    python -m serving.predict --version 1795318274 ...
    python -m serving.predict --server http://127.0.0.1:8501 ...
    python -m serving.predict --explain "A wonderful film."  # why

Prints one line per review: label, P(positive), any further outputs of the
serving signature as name=value, and the start of the review. With
--explain (the `explain` signature), each line is followed by the logit as
bias + n-grams and the review's n-grams that weigh most, with their signed
contributions to the logit, green (positive) or red (negative) on a terminal
unless NO_COLOR is set. Locally only the SavedModel is loaded (TensorFlow
alone: no TFX, no tf.Transform).

Exit status: 0 predictions printed; 1 the predictions failed (the server
refused the request, or could not be reached); 2 unusable input: no reviews,
a review file that cannot be read, no such model, or a SavedModel that does
not load (the message names the file and the problem).
"""

import argparse
import json
import os
import sys
import warnings
from typing import Any, Dict, List, Sequence

# Before TensorFlow loads: its C++ start-up chatter (no GPU here, plugin
# registration) would bury the answers; real failures still raise.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
warnings.filterwarnings('ignore', category=FutureWarning,
                        module=r'google\.api_core')  # TF imports it

import contract  # pylint: disable=g-import-not-at-top
from serving import model_choice
from serving import rest
from serving import text_files

_EXCERPT_CHARS = 60
_EXPLANATION_KEYS = (
    contract.LABEL_OUTPUT_KEY, contract.PROBABILITY_OUTPUT_KEY,
    contract.LOGIT_OUTPUT_KEY, contract.BIAS_OUTPUT_KEY,
    contract.CONTRIBUTION_TOTAL_OUTPUT_KEY, contract.EXPLAINED_TERM_OUTPUT_KEY,
    contract.CONTRIBUTION_OUTPUT_KEY, contract.TERM_NGRAMS_OUTPUT_KEY)
# ANSI colours of positive and negative contributions, and back to normal.
_GREEN, _RED, _RESET = '\x1b[32m', '\x1b[31m', '\x1b[0m'


class ReviewsError(ValueError):
  """No usable reviews; the message names where they were looked for."""


def read_reviews(args: argparse.Namespace, stdin=None) -> List[str]:
  """Reviews from the arguments, else --file, else stdin; one per line."""
  if args.reviews:
    return list(args.reviews)
  stdin = sys.stdin if stdin is None else stdin
  if args.file and args.file != '-':
    lines = text_files.read_text(args.file, ReviewsError).splitlines()
    source = args.file
  else:
    if stdin.isatty():
      raise ReviewsError('no reviews: give them as arguments, with --file, '
                         'or one per line on stdin')
    try:
      lines = stdin.read().splitlines()
    except UnicodeDecodeError as e:
      raise ReviewsError(f'stdin: not UTF-8 text (byte {e.start})') from None
    source = 'stdin'
  reviews = [line for line in lines if line.strip()]
  if not reviews:
    raise ReviewsError(f'{source}: no reviews (empty lines only)')
  return reviews


def predict(args: argparse.Namespace, reviews: Sequence[str]
            ) -> List[Dict[str, Any]]:
  """Row-format predictions, one per review, from the model or server."""
  body = rest.predict_request(
      reviews, contract.EXPLAIN_SIGNATURE if getattr(args, 'explain', False)
      else contract.SERVING_SIGNATURE)
  if args.server:
    response = rest.post_predict(args.server, body,
                                 version=model_choice.server_version(args))
    predictions = rest.predictions_of(response, args.server)
  else:
    # Imported here: TensorFlow takes seconds to load, a server call not.
    from serving.saved_model import ServedVersion  # pylint: disable=g-import-not-at-top
    predictions = ServedVersion(model_choice.model_dir(args)).answer(
        body)['predictions']
  if not isinstance(predictions, list) or len(predictions) != len(reviews):
    raise rest.RestError(f'{len(reviews)} reviews sent, no list of as many '
                         f'predictions received: {str(predictions)[:200]}')
  if getattr(args, 'explain', False):
    for prediction in predictions:
      missing = [key for key in _EXPLANATION_KEYS
                 if not isinstance(prediction, dict) or key not in prediction]
      if missing:
        raise rest.RestError(f'the {contract.EXPLAIN_SIGNATURE} signature '
                             f'answered no {", ".join(missing)}')
  return predictions


def format_line(review: str, prediction: Dict[str, Any]) -> str:
  """The label and its probability, then the other outputs. A multi-class
  model has no `probability`: the label's own is the largest of its
  `probabilities` (one per class, in the order of the model's
  assets/label_classes.txt), which follow it."""
  label = prediction.get(contract.LABEL_OUTPUT_KEY, '?')
  probability = prediction.get(contract.PROBABILITY_OUTPUT_KEY)
  per_class = prediction.get(contract.PROBABILITIES_OUTPUT_KEY)
  if (probability is None and isinstance(per_class, list) and per_class
      and all(isinstance(p, float) for p in per_class)):
    probability = max(per_class)
  parts = [f'{label:<8}',
           f'{probability:.4f}' if isinstance(probability, float) else '?']
  for name in sorted(prediction):
    if name not in (contract.LABEL_OUTPUT_KEY,
                    contract.PROBABILITY_OUTPUT_KEY):
      value = prediction[name]
      if isinstance(value, float):
        parts.append(f'{name}={value:.2f}')
      elif isinstance(value, list) and all(isinstance(v, float)
                                           for v in value):
        parts.append(f'{name}=' + '/'.join(f'{v:.4f}' for v in value))
      else:
        parts.append(f'{name}={value}')
  excerpt = ' '.join(review.split())
  if len(excerpt) > _EXCERPT_CHARS:
    excerpt = excerpt[:_EXCERPT_CHARS - 1] + '…'
  return '  '.join(parts + [excerpt])


def wants_colour(stream, environ=None) -> bool:
  """Colours on a terminal, unless NO_COLOR is set (https://no-color.org)."""
  environ = os.environ if environ is None else environ
  return bool(getattr(stream, 'isatty', lambda: False)()
              and not environ.get('NO_COLOR'))


def _signed(value: float) -> str:
  return f'{value:+.3f}'


def explanation_lines(explanation: Dict[str, Any], colour: bool
                      ) -> List[str]:
  """The lines under a review's prediction line: its logit as bias plus
  n-grams, then its top n-grams by |contribution|, signed (and coloured)."""
  lines = [
      f'    logit {_signed(explanation[contract.LOGIT_OUTPUT_KEY])} = bias '
      f'{_signed(explanation[contract.BIAS_OUTPUT_KEY])} + n-grams '
      f'{_signed(explanation[contract.CONTRIBUTION_TOTAL_OUTPUT_KEY])}']
  for term, contribution, ngrams in zip(
      explanation[contract.EXPLAINED_TERM_OUTPUT_KEY],
      explanation[contract.CONTRIBUTION_OUTPUT_KEY],
      explanation[contract.TERM_NGRAMS_OUTPUT_KEY]):
    if not term:  # padding: the review has fewer n-grams
      continue
    # Out of the vocabulary (or a hash collision): the n-grams share one id,
    # so one contribution, shown under the first of them.
    shared = f'  ({ngrams} n-grams share this id)' if ngrams > 1 else ''
    text = f'{_signed(contribution)}  {term}'
    if colour:
      text = f'{_GREEN if contribution >= 0 else _RED}{text}{_RESET}'
    lines.append(f'    {text}{shared}')
  return lines


def main(argv=None, stdin=None) -> int:
  parser = argparse.ArgumentParser(
      description='Label and P(positive) of each review (one per line).')
  parser.add_argument('reviews', nargs='*', metavar='REVIEW',
                      help='Review texts (else --file, else stdin).')
  parser.add_argument('--file', help='A file of reviews, one per line '
                      '("-" for stdin).')
  parser.add_argument('--json', action='store_true',
                      help='One JSON object per review instead of text.')
  parser.add_argument('--explain', action='store_true',
                      help='Why: the n-grams that weigh most in each '
                      'prediction, with their contributions to the logit '
                      '(the explain signature).')
  model_choice.add_arguments(parser)
  args = parser.parse_args(argv)
  try:
    reviews = read_reviews(args, stdin)
    predictions = predict(args, reviews)
  except (ReviewsError, FileNotFoundError, model_choice.ModelLoadError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  except (rest.RestError, rest.ServingError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  colour = wants_colour(sys.stdout)
  for review, prediction in zip(reviews, predictions):
    if not isinstance(prediction, dict):  # a one-output signature
      prediction = {contract.PROBABILITY_OUTPUT_KEY: prediction}
    if args.json:
      print(json.dumps({'review': review, **prediction}))
    elif args.explain:
      print(format_line(review, {
          key: prediction.get(key) for key in (
              contract.LABEL_OUTPUT_KEY, contract.PROBABILITY_OUTPUT_KEY)}))
      print('\n'.join(explanation_lines(prediction, colour)))
    else:
      print(format_line(review, prediction))
  return 0


if __name__ == '__main__':
  sys.exit(main())
