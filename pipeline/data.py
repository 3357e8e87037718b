"""Where the IMDB reviews come from: a local copy, or the official archive.

`IMDB_DATA` (or `--data`) points at a directory in the official layout
(`aclImdb/` itself or its parent) or at the .tar.gz. Without it, the official
archive is downloaded once into a cache directory and its sha256 verified.

It may also point at a *data root of spans*, for retraining as new reviews
arrive: subdirectories `span-<N>/`, each laid out as `aclImdb/` is (with
`train/` and `test/`), or archives `span-<N>.tar.gz` of that. ExampleGen then
reads them with TFX's span mechanism (`{SPAN}` in its input patterns): each
run ingests the latest span (or the one `--span` names).

Or it points at the users' own labelled text: a table file (CSV, JSON Lines,
Parquet, told by its name's ending), a glob of them, or a directory holding
them; TableExampleGen reads those (components/table_example_gen/).
"""

import dataclasses
import glob
import hashlib
import os
import posixpath
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from typing import Optional

from components.imdb_example_gen import layout
from components.table_example_gen import formats
import contract

OFFICIAL_ARCHIVE_URL = (
    'https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz')
# As listed for imdb_reviews in tensorflow-datasets' checksums.
OFFICIAL_ARCHIVE_SHA256 = (
    'c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe')
OFFICIAL_ARCHIVE_NAME = 'aclImdb_v1.tar.gz'
_OFFLINE_HINT = (
    'Set IMDB_DATA to a local copy: a directory in the official aclImdb '
    'layout or the aclImdb_v1.tar.gz archive, e.g. '
    'IMDB_DATA=/path/to/aclImdb_v1.tar.gz make run')


class DataSourceError(ValueError):
  """The data location is missing or not in the official layout."""


# A table that cannot be used (a row, a column, the classes): raised when the
# pipeline is built, which reads every row, and by TableExampleGen.
TableDataError = formats.TableDataError


# `span-<N>`: TFX replaces `{SPAN}` in an input pattern with the span number.
SPAN_PREFIX = 'span-'
_SPAN_ENTRY = re.compile(r'^span-(\d+)(\.tar\.gz|\.tgz)?$')


# What the data is: the IMDB reviews' official layout, or a labelled table.
IMDB_LAYOUT = 'aclImdb'
TABLE = 'table'


@dataclasses.dataclass(frozen=True)
class DataLocation:
  """What ExampleGen reads: a base directory and a pattern per split.

  `spans` says the patterns hold `{SPAN}`: each ExampleGen run reads one span
  and records its number on the Examples artifact. A table (`kind` TABLE)
  has one pattern, its files, as both patterns; ExampleGen splits its rows.
  """
  input_base: str
  train_pattern: str
  test_pattern: str
  spans: bool = False
  kind: str = IMDB_LAYOUT

  @property
  def is_table(self) -> bool:
    return self.kind == TABLE


def _table(input_base: str, pattern: str) -> DataLocation:
  return DataLocation(input_base, pattern, pattern, kind=TABLE)


def _table_in_directory(path: str) -> Optional[DataLocation]:
  """The table files of a directory, as one pattern, or None if it has none."""
  suffixes = sorted({os.path.splitext(name)[1].lower()
                     for name in os.listdir(path)
                     if formats.is_table_path(name)
                     and os.path.isfile(os.path.join(path, name))})
  if not suffixes:
    return None
  kinds = {formats.SUFFIXES[s] for s in suffixes}
  if len(kinds) > 1:
    raise DataSourceError(
        f'{path}: holds tables of several formats ({", ".join(sorted(kinds))})'
        '; keep one format per directory or name the files with a glob')
  if len(suffixes) > 1:
    raise DataSourceError(
        f'{path}: table files end in several ways ({", ".join(suffixes)}); '
        'name them with a glob, e.g. --data "{path}/*.jsonl"')
  return _table(path, '*' + suffixes[0])


def is_uri(path: str) -> bool:
  """gs://bucket/..., s3://bucket/... and the like: not a local path."""
  return '://' in path


def locate(path: str) -> DataLocation:
  """Resolves a user-given path to the ExampleGen's input base and patterns.

  A local path is checked here; object storage (a URI) cannot be, so it must
  name the archive or the directory holding train/ and test/ itself, and
  ExampleGen reports what is wrong with it when the pipeline runs.
  """
  if formats.is_table_path(path):
    # A table file or a glob of them, local or on object storage: ExampleGen
    # says what is wrong with it when the pipeline runs.
    if not is_uri(path):
      path = os.path.abspath(os.path.expanduser(path))
    base = posixpath.dirname(path) if is_uri(path) else os.path.dirname(path)
    name = posixpath.basename(path) if is_uri(path) else os.path.basename(path)
    if not is_uri(path) and not glob.glob(path):
      raise DataSourceError(f'{path}: no such file (or nothing matches)')
    return _table(base, name)
  if is_uri(path):
    if layout.is_archive(path):
      name = posixpath.basename(path)
      return DataLocation(posixpath.dirname(path), name, name)
    return DataLocation(path.rstrip('/'), f'{contract.TRAIN_SPLIT}/*/*.txt',
                        f'{contract.TEST_SPLIT}/*/*.txt')
  path = os.path.abspath(os.path.expanduser(path))
  if not os.path.exists(path):
    raise DataSourceError(f'{path}: no such file or directory. {_OFFLINE_HINT}')
  if os.path.isdir(path) and span_entries(path):
    return locate_spans(path)
  if os.path.isfile(path):
    if not layout.is_archive(path):
      raise DataSourceError(
          f'{path}: not a .tar.gz archive, a table (.csv, .jsonl, .parquet) '
          'or a directory in the aclImdb layout or of tables')
    name = os.path.basename(path)
    return DataLocation(os.path.dirname(path), name, name)
  for root in (os.path.join(path, 'aclImdb'), path):
    if os.path.isdir(os.path.join(root, contract.TRAIN_SPLIT)):
      missing = [split for split in (contract.TRAIN_SPLIT, contract.TEST_SPLIT)
                 if not os.path.isdir(os.path.join(root, split))]
      if missing:
        raise DataSourceError(f'{root}: has no {missing[0]}/ directory')
      return DataLocation(root, f'{contract.TRAIN_SPLIT}/*/*.txt',
                          f'{contract.TEST_SPLIT}/*/*.txt')
  table = _table_in_directory(path)
  if table:
    return table
  raise DataSourceError(
      f'{path}: has neither train/ nor aclImdb/train/ nor table files; '
      'expected the official aclImdb layout (train/pos, train/neg, test/pos, '
      'test/neg) or .csv, .jsonl or .parquet files')


def span_entries(root: str) -> dict:
  """{span number: entry name} of the `span-<N>` directories or archives."""
  found = {}
  for name in os.listdir(root):
    match = _SPAN_ENTRY.match(name)
    if match:
      span = int(match.group(1))
      if span in found:
        raise DataSourceError(
            f'{root}: span {span} is given twice ({found[span]} and {name})')
      found[span] = name
  return found


def locate_spans(root: str) -> DataLocation:
  """The `{SPAN}` patterns of a data root of spans, after checking its layout.

  All spans must be of one kind (directories or archives): one pattern per
  split matches every span. A directory span must hold train/ and test/.
  """
  entries = span_entries(root)
  archives = {span: name for span, name in entries.items()
              if layout.is_archive(name)}
  if archives and len(archives) != len(entries):
    raise DataSourceError(
        f'{root}: mixes span directories and span archives '
        f'({sorted(entries.values())}); use one kind')
  if archives:
    suffixes = {name[name.index('.'):] for name in archives.values()}
    if len(suffixes) > 1:
      raise DataSourceError(f'{root}: span archives end in several ways '
                            f'{sorted(suffixes)}; use one')
    pattern = SPAN_PREFIX + '{SPAN}' + suffixes.pop()
    return DataLocation(root, pattern, pattern, spans=True)
  for span, name in sorted(entries.items()):
    missing = [split for split in (contract.TRAIN_SPLIT, contract.TEST_SPLIT)
               if not os.path.isdir(os.path.join(root, name, split))]
    if missing:
      raise DataSourceError(
          f'{os.path.join(root, name)}: span {span} has no {missing[0]}/ '
          'directory (each span-<N>/ is laid out as aclImdb/ is)')
  span_dir = SPAN_PREFIX + '{SPAN}'
  return DataLocation(root, f'{span_dir}/{contract.TRAIN_SPLIT}/*/*.txt',
                      f'{span_dir}/{contract.TEST_SPLIT}/*/*.txt', spans=True)


def default_cache_dir() -> str:
  base = os.environ.get('XDG_CACHE_HOME', os.path.expanduser('~/.cache'))
  return os.path.join(base, 'imdb-sentiment-tfx')


def sha256_of(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for chunk in iter(lambda: f.read(1 << 20), b''):
      digest.update(chunk)
  return digest.hexdigest()


def download_official_archive(cache_dir: str,
                              url: str = OFFICIAL_ARCHIVE_URL,
                              sha256: str = OFFICIAL_ARCHIVE_SHA256,
                              timeout_s: float = 15.0) -> str:
  """The verified official archive in `cache_dir`, downloading it if needed.

  The download goes to a temporary file that replaces nothing until its
  checksum matches, so an interrupted or corrupt download never poisons the
  cache.
  """
  target = os.path.join(cache_dir, OFFICIAL_ARCHIVE_NAME)
  if os.path.exists(target):
    if sha256_of(target) == sha256:
      return target
    raise DataSourceError(
        f'{target}: cached archive has the wrong sha256; delete it to '
        'download again')
  os.makedirs(cache_dir, exist_ok=True)
  print(f'Downloading {url} to {target} ...', file=sys.stderr, flush=True)
  fd, partial = tempfile.mkstemp(dir=cache_dir, suffix='.partial')
  try:
    with os.fdopen(fd, 'wb') as out, urllib.request.urlopen(
        url, timeout=timeout_s) as response:
      shutil.copyfileobj(response, out, length=1 << 20)
    actual = sha256_of(partial)
    if actual != sha256:
      raise DataSourceError(
          f'{url}: downloaded file has sha256 {actual}, expected {sha256}')
    os.replace(partial, target)
  except (urllib.error.URLError, OSError) as e:
    raise DataSourceError(
        f'Cannot download {url} ({e}). {_OFFLINE_HINT}') from e
  finally:
    if os.path.exists(partial):
      os.remove(partial)
  return target


def resolve(data: str = None, cache_dir: str = None) -> DataLocation:
  """The data location for a run: `data` if given, else the official archive."""
  if data:
    return locate(data)
  return locate(download_official_archive(cache_dir or default_cache_dir()))
