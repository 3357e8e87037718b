"""Replays a version's `verification.jsonl` and checks the answers.

    python -m serving.verify                           # latest pushed version
    python -m serving.verify --version N --server http://127.0.0.1:8501

Every pushed version carries `assets.extra/verification.jsonl`: REST predict
requests and the responses the exported model gave, one per line. This sends
each request to the SavedModel itself (loaded with TensorFlow alone) or, with
`--server`, to a TF Serving REST endpoint (`/v1/models/<name>/versions/<N>`
when the version is known).

Exit status: 0 every answer matches; 1 a mismatch (a string output differs
at all, a number by more than `--tolerance`, or an expected answer is empty
and so checks nothing); 2 nothing could be verified: the verification file,
the SavedModel or the server is unusable (the message names which, and why).
"""

import argparse
import json
import math
import os
import sys
import warnings
from typing import Any, Dict, List, Optional, Tuple

# Before TensorFlow loads: its C++ start-up chatter (no GPU here, plugin
# registration) would bury the answers; real failures still raise.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
warnings.filterwarnings('ignore', category=FutureWarning,
                        module=r'google\.api_core')  # TF imports it

import contract  # pylint: disable=g-import-not-at-top
from contract import serving_directory  # pylint: disable=g-import-not-at-top
from serving import model_choice
from serving import rest

DEFAULT_TOLERANCE = 1e-5


class VerificationFileError(ValueError):
  """A verification file that cannot be read; the message names it."""


def _decoded_lines(path: str) -> List[Tuple[int, str]]:
  try:
    with open(path, 'rb') as f:
      raw = f.read()
  except OSError as e:
    raise VerificationFileError(f'{path}: cannot be read: {e.strerror or e}'
                                ) from None
  lines = []
  for number, line in enumerate(raw.splitlines(), start=1):
    try:
      lines.append((number, line.decode('utf-8')))
    except UnicodeDecodeError as e:
      raise VerificationFileError(
          f'{path}:{number}: not UTF-8 text (byte {e.start + 1} of the line: '
          f'{line[e.start:e.start + 1]!r})') from None
  return lines


def read_samples(path: str) -> List[Tuple[int, Dict[str, Any], Any]]:
  """(line number, request, expected predictions) of each line."""
  if not os.path.isfile(path):
    raise VerificationFileError(f'{path}: no verification file')
  samples = []
  for number, line in _decoded_lines(path):
    if not line.strip():
      continue
    where = f'{path}:{number}'
    try:
      sample = json.loads(line)
    except json.JSONDecodeError as e:
      raise VerificationFileError(f'{where}: not JSON: {e}') from None
    if not isinstance(sample, dict):
      raise VerificationFileError(
          f'{where}: not a {{"request", "response"}} object but '
          f'{_json_type(sample)}')
    request, response = sample.get('request'), sample.get('response')
    if not isinstance(request, dict):
      raise VerificationFileError(
          f'{where}: "request" must be a predict request (a JSON object), '
          f'not {_json_type(request)}')
    if not isinstance(response, dict) or 'predictions' not in response:
      raise VerificationFileError(
          f'{where}: not a {{"request", "response": {{"predictions"}}}} '
          f'object: "response" is {_json_type(response)}'
          + (' without "predictions"' if isinstance(response, dict) else ''))
    samples.append((number, request, response['predictions']))
  if not samples:
    raise VerificationFileError(f'{path}: no samples')
  return samples


def _json_type(value: Any) -> str:
  if value is None:
    return 'missing or null'
  return {dict: 'an object', list: 'a list', str: 'a string',
          bool: 'a boolean'}.get(type(value), 'a number')


def differences(expected: Any, actual: Any, tolerance: float,
                where: str = '') -> List[str]:
  """Where `actual` differs from `expected`; outputs only in `actual` (a
  newer model's extra output) are not differences."""
  if isinstance(expected, dict):
    if not expected:
      # {} would match any object: it checks nothing, so it cannot pass.
      return [f'{where or "prediction"}: the expected answer is {{}}, which '
              'checks nothing']
    if not isinstance(actual, dict):
      return [f'{where or "prediction"}: expected an object, got {actual!r}']
    found = []
    for key, value in expected.items():
      if key not in actual:
        found.append(f'{where}{key}: missing')
      else:
        found += differences(value, actual[key], tolerance, f'{where}{key}')
    return found
  if isinstance(expected, list):
    if not isinstance(actual, list) or len(actual) != len(expected):
      return [f'{where}: expected {len(expected)} values, got {actual!r}']
    found = []
    for i, (e, a) in enumerate(zip(expected, actual)):
      found += differences(e, a, tolerance, f'{where}[{i}]')
    return found
  if isinstance(expected, (int, float)) and not isinstance(expected, bool):
    if (not isinstance(actual, (int, float)) or
        not math.isclose(expected, actual, rel_tol=0, abs_tol=tolerance)):
      return [f'{where}: expected {expected!r}, got {actual!r}']
    return []
  return [] if expected == actual else [
      f'{where}: expected {expected!r}, got {actual!r}']


def _version_of(model_dir: str) -> Optional[int]:
  name = os.path.basename(os.path.normpath(model_dir))
  return int(name) if name.isdigit() else None


class Unanswered(RuntimeError):
  """A sample whose request got no answer to compare."""


def verify(args: argparse.Namespace) -> int:
  model_dir = model_choice.model_dir(args)
  path = serving_directory.assets_extra_path(model_dir,
                                            contract.VERIFICATION_FILE)
  samples = read_samples(path)
  if args.server:
    version = _version_of(model_dir)
    target = args.server.rstrip('/') + rest.predict_path(version=version)

    def answer(request):
      return rest.predictions_of(
          rest.post_predict(args.server, request, version=version), target)
  else:
    from serving.saved_model import ServedVersion  # pylint: disable=g-import-not-at-top
    served = ServedVersion(model_dir)
    target = model_dir

    def answer(request):
      return served.answer(request)['predictions']

  mismatches = []
  for number, request, expected in samples:
    try:
      actual = answer(request)
    except (rest.ServingError, rest.RestError) as e:
      raise Unanswered(f'{path}:{number}: the request gets no answer from '
                       f'{target}: {e}') from None
    found = (differences(expected, actual, args.tolerance) if expected != []
             else ['expected no predictions, which checks nothing'])
    mismatches += [f'  line {number}: {difference}' for difference in found]
  print(f'{path}: {len(samples)} samples replayed against {target}')
  if mismatches:
    print(f'MISMATCH: {len(mismatches)} difference(s) beyond '
          f'{args.tolerance:g}:')
    print('\n'.join(mismatches[:50]))
    return 1
  print(f'OK: every answer matches (tolerance {args.tolerance:g})')
  return 0


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      description='Replay a pushed version\'s verification.jsonl.')
  model_choice.add_arguments(parser)
  parser.add_argument('--tolerance', type=float, default=DEFAULT_TOLERANCE,
                      help='Largest accepted difference of a number.')
  args = parser.parse_args(argv)
  try:
    return verify(args)
  except (FileNotFoundError, model_choice.ModelLoadError,
          VerificationFileError, Unanswered, rest.RestError,
          rest.ServingError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2


if __name__ == '__main__':
  sys.exit(main())
