"""Which model `predict` and `verify` use: flags shared by both commands."""

import argparse
import os
from typing import Optional

import contract
from contract import serving_directory


class ModelLoadError(ValueError):
  """A model directory that does not load; the message names it and says
  why, `code` is TF's error code (as TF Serving reports a failed load).
  Defined here, without TensorFlow, for the commands to catch."""

  def __init__(self, code: str, message: str):
    super().__init__(message)
    self.code = code


def add_output_dir_argument(parser: argparse.ArgumentParser) -> None:
  parser.add_argument(
      '--output-dir', default=os.environ.get(
          'OUTPUT_DIR', contract.DEFAULT_OUTPUT_DIR),
      help='The pipeline\'s output directory; its serving/ holds the pushed '
      'versions (env OUTPUT_DIR, default outputs/).')


def add_arguments(parser: argparse.ArgumentParser) -> None:
  add_output_dir_argument(parser)
  choice = parser.add_mutually_exclusive_group()
  choice.add_argument('--version', type=int,
                      help='A pushed version (default: the latest).')
  choice.add_argument('--model-dir',
                      help='Any SavedModel directory with this model\'s '
                      'signatures, instead of a pushed version.')
  parser.add_argument(
      '--server', metavar='URL',
      help='Send the requests to a TF Serving REST endpoint, e.g. '
      'http://127.0.0.1:8501, instead of loading the SavedModel.')


def serving_dir(args: argparse.Namespace) -> str:
  return serving_directory.serving_dir_of(os.path.abspath(args.output_dir))


def model_dir(args: argparse.Namespace) -> str:
  """The SavedModel directory the flags name; FileNotFoundError if absent."""
  if args.model_dir:
    if not os.path.isdir(args.model_dir):
      raise FileNotFoundError(f'{args.model_dir}: no such directory')
    return args.model_dir
  directory = serving_dir(args)
  if args.version is None:
    return serving_directory.latest_version_dir(directory)
  path = os.path.join(directory, str(args.version))
  if not serving_directory.is_complete_version(path):
    raise FileNotFoundError(
        f'{path}: no version {args.version} (pushed: '
        f'{serving_directory.available_versions(directory)})')
  return path


def server_version(args: argparse.Namespace) -> Optional[int]:
  """The version to name in a REST request: the one asked for, if any."""
  return args.version
