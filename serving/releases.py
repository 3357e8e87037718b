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
"""

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional

import contract
from serving import model_choice
from contract import serving_directory

# Metrics shown per version, as release.json names them.
_SHOWN_METRICS = ('probability/binary_accuracy', 'probability/auc',
                  'rating/mean_absolute_error')


def read_release(version_dir: str) -> Optional[Dict[str, Any]]:
  path = os.path.join(version_dir, 'assets.extra', contract.RELEASE_FILE)
  if not os.path.exists(path):
    return None
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def served(serving_dir: str, config_path: str) -> List[int]:
  """What TF Serving would serve now, by the config file if there is one."""
  return serving_directory.select_versions(serving_directory.available_versions(serving_dir),
                                  serving_directory.read_version_policy(config_path))


def format_versions(serving_dir: str, config_path: str) -> str:
  available = serving_directory.available_versions(serving_dir)
  if not available:
    return f'{serving_dir}: no pushed version yet'
  serving_now = served(serving_dir, config_path)
  pinned = os.path.exists(config_path) and (
      serving_directory.read_version_policy(config_path).model_version_policy
      .WhichOneof('policy_choice') == 'specific')
  lines = [f'{"version":<12} {"served":<7} {"spans":<10} {"pushed at":<26} '
           + ' '.join(f'{name:>28}' for name in _SHOWN_METRICS)]
  for version in available:
    release = read_release(os.path.join(serving_dir, str(version))) or {}
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
  return '\n'.join(lines)


def rollback(serving_dir: str, config_path: str, version: int) -> str:
  available = serving_directory.available_versions(serving_dir)
  if version not in available:
    raise ValueError(f'{serving_dir}: has no version {version} '
                     f'(pushed: {available})')
  serving_directory.write_model_config(
      config_path, serving_directory.model_config_text(serving_dir, pinned=version))
  return (f'{config_path}: now serves version {version} (pinned, label '
          f'stable); newer versions are kept and not served until '
          f'`make rollforward`.')


def rollforward(serving_dir: str, config_path: str) -> str:
  serving_directory.write_model_config(config_path,
                              serving_directory.model_config_text(serving_dir))
  latest = serving_directory.available_versions(serving_dir)[-1:] or ['none yet']
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
      print(format_versions(serving_dir, config_path))
    elif args.command == 'rollback':
      print(rollback(serving_dir, config_path, args.version))
    else:
      print(rollforward(serving_dir, config_path))
  except (ValueError, serving_directory.ModelConfigError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  return 0


if __name__ == '__main__':
  sys.exit(main())
