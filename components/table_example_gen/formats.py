"""Reading a labelled text table: CSV, JSON Lines or Parquet, one file at a time.

Each reader yields `(line, record)`: the record a dict of column -> value and
`line` where it starts in the file (CSV and JSON Lines: the 1-based line
number; Parquet: the 1-based row number), so that an error can name the file,
the line and the column. The parsers are the standard ones (Python's csv
module, which follows RFC 4180: quoted fields may hold commas, doubled quotes
and line breaks; json; pyarrow), not hand-written: CsvExampleGen's parser
reads one line at a time and cannot take a quoted line break. Files are read
with tf.io.gfile, so object storage (gs://, s3://) works as for the IMDB
archive. Empty lines are skipped and a UTF-8 byte-order mark is dropped.

TensorFlow is imported only to read a file: the pipeline's command line
tells a table from the IMDB layout by `is_table_path` without it.
"""

import csv
import io
import json
import os
from typing import Any, Dict, Iterator, List, Sequence, Tuple

CSV = 'csv'
JSON_LINES = 'jsonl'
PARQUET = 'parquet'
# File name ending -> format.
SUFFIXES = {'.csv': CSV, '.jsonl': JSON_LINES, '.json': JSON_LINES,
            '.ndjson': JSON_LINES, '.parquet': PARQUET, '.pq': PARQUET}
_BOM = '\ufeff'


class TableDataError(ValueError):
  """A table that cannot be used; the message names the file (and the line
  and column) and the problem."""


def format_of(path: str) -> str:
  """The table format a file name says, or TableDataError."""
  suffix = os.path.splitext(path)[1].lower()
  if suffix not in SUFFIXES:
    raise TableDataError(
        f'{path}: not a table file (expected a name ending in '
        f'{", ".join(sorted(SUFFIXES))})')
  return SUFFIXES[suffix]


def is_table_path(path: str) -> bool:
  """A file name or glob naming table files (by its ending)."""
  return os.path.splitext(path)[1].lower() in SUFFIXES


def _read_bytes(path: str) -> bytes:
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  try:
    with tf.io.gfile.GFile(path, 'rb') as f:
      return f.read()
  except (tf.errors.OpError, OSError) as e:
    raise TableDataError(f'{path}: cannot be read ({e})') from e


def _read_text(path: str) -> str:
  content = _read_bytes(path)
  try:
    text = content.decode('utf-8')
  except UnicodeDecodeError as e:
    line = content[:e.start].count(b'\n') + 1
    raise TableDataError(
        f'{path}:{line}: not valid UTF-8 at byte {e.start} ({e.reason})'
    ) from e
  return text[1:] if text.startswith(_BOM) else text


def _csv_records(path: str) -> Iterator[Tuple[int, Dict[str, Any]]]:
  # newline='' keeps the line breaks inside quoted fields, as RFC 4180 wants.
  reader = csv.reader(io.StringIO(_read_text(path), newline=''), strict=True)
  header: List[str] = []
  start = 1
  try:
    for row in reader:
      if not header:
        if not row or not any(cell.strip() for cell in row):
          start = reader.line_num + 1
          continue
        header = [cell.strip() for cell in row]
        _check_header(path, header)
      elif row and any(cell.strip() for cell in row):
        if len(row) != len(header):
          raise TableDataError(
              f'{path}:{start}: {len(row)} fields, the header has '
              f'{len(header)} ({", ".join(header)}); a text with a comma or '
              'a line break must be quoted')
        yield start, dict(zip(header, row))
      start = reader.line_num + 1
  except csv.Error as e:
    raise TableDataError(f'{path}:{reader.line_num}: bad CSV ({e})') from e
  if not header:
    raise TableDataError(f'{path}: empty file (no header line)')


def _check_header(path: str, header: Sequence[str]) -> None:
  seen = set()
  for name in header:
    if not name:
      raise TableDataError(f'{path}:1: a column has no name in the header')
    if name in seen:
      raise TableDataError(f'{path}:1: column {name!r} twice in the header')
    seen.add(name)


def _json_lines_records(path: str) -> Iterator[Tuple[int, Dict[str, Any]]]:
  for number, line in enumerate(_read_text(path).splitlines(), start=1):
    if not line.strip():
      continue
    try:
      record = json.loads(line)
    except json.JSONDecodeError as e:
      raise TableDataError(
          f'{path}:{number}: not JSON ({e.msg} at column {e.colno})') from e
    if not isinstance(record, dict):
      raise TableDataError(
          f'{path}:{number}: a JSON object per line expected, got '
          f'{type(record).__name__}')
    yield number, record


def _parquet_records(path: str) -> Iterator[Tuple[int, Dict[str, Any]]]:
  import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
  content = _read_bytes(path)
  try:
    table = pq.read_table(io.BytesIO(content))
  except Exception as e:  # pyarrow raises several types for a bad file
    raise TableDataError(f'{path}: not a readable Parquet file ({e})') from e
  for number, record in enumerate(table.to_pylist(), start=1):
    yield number, record


_READERS = {CSV: _csv_records, JSON_LINES: _json_lines_records,
            PARQUET: _parquet_records}


def read_records(path: str) -> Iterator[Tuple[int, Dict[str, Any]]]:
  """(line, record) of each non-empty row of a table file; a file without
  any row is an error."""
  found = False
  for line, record in _READERS[format_of(path)](path):
    found = True
    yield line, record
  if not found:
    raise TableDataError(f'{path}: no rows')
