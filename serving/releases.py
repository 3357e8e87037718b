"""The serving directory as a release history: list, roll back, roll forward.

    python -m serving.releases list              # make versions
    python -m serving.releases rollback 1795...  # make rollback VERSION=...
    python -m serving.releases latest            # make rollforward

TF Serving serves the highest version unless a model config file says
otherwise, so a rollback cannot be "delete the newer versions" (that loses
them, and the next push would be served again anyway). It writes
`outputs/serving/models.config`, TF Serving's own ModelServerConfig, with a
`specific` version policy that pins the chosen version (labelled `stable`).
TF Serving started with `--model_config_file=<that file>
--model_config_file_poll_wait_seconds=N` follows it, as `make serve` does;
nothing is deleted, and later pushes are not served until `latest` writes the
default policy back. Retention (`--keep-versions`) never removes a pinned
version.

`list` names any release.json it cannot read, and the problem, and exits 2
(the table is still printed); a model config file that cannot be used is an
error naming it, as for the server.
"""

import argparse
import json
import numbers
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

import contract
from contract import serving_directory
from serving import model_choice
from serving import model_config
from serving import text_files

# Metrics shown per version, as release.json names them.
_SHOWN_METRICS = ('probability/binary_accuracy', 'probability/auc',
                  'rating/mean_absolute_error')


class ReleaseFileError(ValueError):
  """A release.json that cannot be used; the message names it and says why."""


def _check_release(path: str, release: Any) -> Dict[str, Any]:
  if not isinstance(release, dict):
    raise ReleaseFileError(f'{path}: not a JSON object but '
                           f'{type(release).__name__}')
  spans = release.get('spans', [])
  if not isinstance(spans, list) or not all(
      isinstance(s, int) and not isinstance(s, bool) for s in spans):
    raise ReleaseFileError(f'{path}: "spans" is not a list of integers: '
                           f'{json.dumps(spans)[:80]}')
  metrics = release.get('metrics', {})
  if not isinstance(metrics, dict):
    raise ReleaseFileError(f'{path}: "metrics" is not an object')
  for name in _SHOWN_METRICS:
    value = metrics.get(name, 0.0)
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
      raise ReleaseFileError(f'{path}: metric {name!r} is not a number: '
                             f'{json.dumps(value)[:80]}')
  if not isinstance(release.get('pushed_at', ''), str):
    raise ReleaseFileError(f'{path}: "pushed_at" is not a string')
  return release


def read_release(version_dir: str) -> Optional[Dict[str, Any]]:
  """The version's release.json, None without one; ReleaseFileError if it
  cannot be used."""
  path = serving_directory.assets_extra_path(version_dir, contract.RELEASE_FILE)
  if not os.path.exists(path):
    return None
  text = text_files.read_text(path, ReleaseFileError)
  try:
    return _check_release(path, json.loads(text))
  except json.JSONDecodeError as e:
    raise ReleaseFileError(f'{path}: not valid JSON: {e}') from None


def served(serving_dir: str, config_path: str) -> List[int]:
  """What TF Serving would serve now, by the config file if there is one."""
  return serving_directory.select_versions(
      serving_directory.available_versions(serving_dir),
      model_config.read(config_path))


def format_versions(serving_dir: str, config_path: str
                    ) -> Tuple[str, List[str]]:
  """The table of versions, and the problems with their release files (the
  versions concerned are listed without their details)."""
  available = serving_directory.available_versions(serving_dir)
  if not available:
    return f'{serving_dir}: no pushed version yet', []
  config = model_config.read(config_path)
  serving_now = serving_directory.select_versions(available, config)
  pinned = model_config.policy_name(config) == 'specific'
  lines = [f'{"version":<12} {"served":<7} {"spans":<10} {"pushed at":<26} '
           + ' '.join(f'{name:>28}' for name in _SHOWN_METRICS)]
  problems = []
  for version in available:
    try:
      release = read_release(os.path.join(serving_dir, str(version))) or {}
    except ReleaseFileError as e:
      problems.append(str(e))
      release = {'pushed_at': '? (see below)'}
    metrics = release.get('metrics', {})
    values = ' '.join(
        f'{metrics[name]:>28.4f}' if name in metrics else f'{"-":>28}'
        for name in _SHOWN_METRICS)
    spans = ','.join(str(s) for s in release.get('spans', [])) or '-'
    lines.append(f'{version:<12} {"*" if version in serving_now else "":<7} '
                 f'{spans:<10} {release.get("pushed_at", "-"):<26} {values}')
  how = (f'pinned by {config_path}' if pinned else
         'the highest version (TF Serving\'s default policy)')
  lines.append(f'Served: {", ".join(map(str, serving_now))} ({how})')
  return '\n'.join(lines), problems


def rollback(serving_dir: str, config_path: str, version: int) -> str:
  available = serving_directory.available_versions(serving_dir)
  if version not in available:
    raise ValueError(f'{serving_dir}: has no version {version} '
                     f'(pushed: {available})')
  serving_directory.write_model_config(
      config_path,
      serving_directory.model_config_text(serving_dir, pinned=version))
  return (f'{config_path}: now serves version {version} (pinned, label '
          f'stable); newer versions are kept and not served until '
          f'`make rollforward`.')


def rollforward(serving_dir: str, config_path: str) -> str:
  serving_directory.write_model_config(
      config_path, serving_directory.model_config_text(serving_dir))
  latest = serving_directory.available_versions(serving_dir)[-1:] or [
      'none yet']
  return (f'{config_path}: serves the highest version again (now '
          f'{latest[0]}).')


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  model_choice.add_output_dir_argument(parser)
  commands = parser.add_subparsers(dest='command', required=True)
  commands.add_parser('list', help='versions, metrics and what is served')
  back = commands.add_parser('rollback', help='serve an earlier version')
  back.add_argument('version', type=int)
  commands.add_parser('latest', help='serve the highest version again')
  args = parser.parse_args(argv)
  serving_dir = model_choice.serving_dir(args)
  config_path = serving_directory.default_model_config_path(serving_dir)
  try:
    if args.command == 'list':
      table, problems = format_versions(serving_dir, config_path)
      print(table)
      for problem in problems:
        print(f'error: {problem}', file=sys.stderr)
      return 2 if problems else 0
    elif args.command == 'rollback':
      print(rollback(serving_dir, config_path, args.version))
    else:
      print(rollforward(serving_dir, config_path))
  except ValueError as e:  # ModelConfigError, no such version
    print(f'error: {e}', file=sys.stderr)
    return 2
  except OSError as e:  # the config file cannot be written
    print(f'error: {e.filename or config_path}: {e.strerror or e}',
          file=sys.stderr)
    return 2
  return 0


if __name__ == '__main__':
  sys.exit(main())
