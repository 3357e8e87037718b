"""The text files the serving commands read (reviews, release.json), with
errors that name the file and the problem."""

from typing import Type


def read_text(path: str, error: Type[Exception]) -> str:
  """The file's text; `error` naming the file if it cannot be read or is
  not UTF-8."""
  try:
    with open(path, 'rb') as f:
      raw = f.read()
  except OSError as e:
    raise error(f'{path}: cannot be read: {e.strerror or e}') from None
  try:
    return raw.decode('utf-8')
  except UnicodeDecodeError as e:
    raise error(f'{path}: not UTF-8 text (byte {e.start})') from None
