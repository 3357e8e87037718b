"""Reading IMDB reviews in the official `aclImdb/` layout, from a directory or
straight from the .tar.gz. Pure Python, no Beam: the executor maps these
functions over files, and the tests call them directly.

Layout: `<split>/<pos|neg>/<ID>_<RATING>.txt`, and `<split>/urls_<pos|neg>.txt`
naming each review's movie (`movie_urls`: the eval split is carved by movie).
Anything else in the tree (`unsup/`, `*.feat`, the README) is ignored.

Bad input fails the run with a `ReviewDataError` naming the file and the
problem. Suspicious input is an error too, never a silent skip, because the
official data has none of it and silently dropping or doubling reviews would
change the data a model is trained and judged on: a review that is not valid
UTF-8 or is empty (a damaged copy), the same review id twice in a split
(`0_10.txt` beside `0_7.txt` in `train/pos`), and an archive member whose
name is absolute or climbs out with `..` (a damaged or crafted archive).
"""

import dataclasses
import hashlib
import itertools
import os
import tarfile
import zlib
from typing import (Callable, Dict, Iterator, List, Optional, Sequence, Tuple,
                    TypeVar)

import tensorflow as tf

from components.imdb_example_gen.layout import FILE_NAME
from components.imdb_example_gen.layout import is_archive
from components.imdb_example_gen.layout import LABEL_DIRECTORIES
from components.imdb_example_gen.layout import review_location
from components.imdb_example_gen.layout import URLS_FILE_NAME
from components.imdb_example_gen.layout import urls_location
import contract

_Location = TypeVar('_Location')  # what a locate function makes of a name


class ReviewDataError(ValueError):
  """Input that is not a readable IMDB review tree; the message names it."""


@dataclasses.dataclass(frozen=True)
class Review:
  review_id: str  # '<split>/<pos|neg>/<id>': ids repeat across pos and neg
  label: int
  rating: int
  text: bytes

  def to_example(self) -> tf.train.Example:
    def _bytes(value):
      return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    def _int(value):
      return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    return tf.train.Example(features=tf.train.Features(feature={
        contract.TEXT_KEY: _bytes(self.text),
        contract.LABEL_KEY: _int(self.label),
        contract.RATING_KEY: _int(self.rating),
        contract.REVIEW_ID_KEY: _bytes(self.review_id.encode()),
    }))


def parse_review(source: str, split: str, label_dir: str, file_name: str,
                 content: bytes) -> Review:
  """Builds a Review; `source` names the file in error messages."""
  match = FILE_NAME.match(file_name)
  if not match:
    raise ReviewDataError(
        f'{source}: file name does not match <ID>_<RATING>.txt')
  review_id, rating = match.group(1), int(match.group(2))
  if not 1 <= rating <= 10:
    raise ReviewDataError(f'{source}: rating {rating} is not in 1..10')
  try:
    text = content.decode('utf-8')
  except UnicodeDecodeError as e:
    raise ReviewDataError(
        f'{source}: not valid UTF-8 at byte {e.start} ({e.reason})') from e
  if not text.strip():
    raise ReviewDataError(f'{source}: empty review')
  return Review(review_id=f'{split}/{label_dir}/{review_id}',
                label=LABEL_DIRECTORIES[label_dir], rating=rating,
                text=content)


class _UniqueReviewIds:
  """Fails on a second file with the review id of an earlier one."""

  def __init__(self, split: str):
    self._split = split
    self._first: Dict[Tuple[str, str], str] = {}

  def check(self, source: str, label_dir: str, file_name: str) -> None:
    match = FILE_NAME.match(file_name)
    if not match:
      return  # parse_review names the bad file name
    key = (label_dir, match.group(1))
    first = self._first.setdefault(key, source)
    if first != source:
      raise ReviewDataError(
          f'{source}: review id {self._split}/{label_dir}/{match.group(1)} '
          f'again (first in {first}); each review must appear once')


def list_review_files(paths: List[str], split: str) -> List[str]:
  """The review files of `split` among `paths` (plain files, not archives);
  ReviewDataError if a review id appears twice."""
  files = sorted(p for p in paths if review_location(p, split))
  unique = _UniqueReviewIds(split)
  for path in files:
    unique.check(path, *review_location(path, split))
  return files


def _unsafe_member_name(name: str) -> bool:
  return name.startswith('/') or '..' in name.split('/')


def read_review_file(path: str, split: str) -> Review:
  label_dir, file_name = review_location(path, split)
  with tf.io.gfile.GFile(path, 'rb') as f:
    return parse_review(path, split, label_dir, file_name, f.read())


def _archive_files(archive_path: str,
                   locate: Callable[[str], Optional[_Location]]
                   ) -> Iterator[Tuple[str, _Location, bytes]]:
  """Streams (member name, location, content) of the archive's files that
  `locate` places (`review_location`, `urls_location`: not None), in archive
  order; any damage is a ReviewDataError naming it."""
  try:
    with tf.io.gfile.GFile(archive_path, 'rb') as raw, tarfile.open(
        fileobj=raw, mode='r|gz') as archive:
      for member in archive:
        # A streaming TarFile still keeps every member's TarInfo in
        # `members`: about 0.5 KB a review, 113 MB for 220,000 reviews.
        # Nothing here looks a member up again.
        archive.members = []
        if _unsafe_member_name(member.name):
          raise ReviewDataError(
              f'{archive_path}:{member.name}: member name is absolute or '
              'climbs out with ..; a damaged or crafted archive')
        location = locate(member.name) if member.isfile() else None
        if location is not None:
          yield member.name, location, archive.extractfile(member).read()
  except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
    raise ReviewDataError(
        f'{archive_path}: corrupt or truncated archive ({e})') from e


def iter_archive_reviews(archive_path: str, split: str) -> Iterator[Review]:
  """Streams the reviews of `split` out of a .tar.gz, in archive order."""
  found = 0
  unique = _UniqueReviewIds(split)
  for name, location, content in _archive_files(
      archive_path, lambda name: review_location(name, split)):
    source = f'{archive_path}:{name}'
    unique.check(source, *location)
    found += 1
    yield parse_review(source, split, *location, content)
  if not found:
    raise ReviewDataError(
        f'{archive_path}: no reviews found under {split}/pos or {split}/neg')


def _urls_of(source: str, split: str, label_dir: str,
             content: bytes) -> Dict[str, str]:
  """Review id -> movie URL from one urls file (line N: review N)."""
  try:
    lines = content.decode('utf-8').splitlines()
  except UnicodeDecodeError as e:
    raise ReviewDataError(
        f'{source}: not valid UTF-8 at byte {e.start} ({e.reason})') from e
  return {f'{split}/{label_dir}/{number}': line.strip()
          for number, line in enumerate(lines) if line.strip()}


def movie_urls(paths: List[str], split: str) -> Dict[str, str]:
  """Review id -> the IMDB URL of the movie it reviews, from `split`'s
  urls_pos.txt and urls_neg.txt (in the archive, or beside the split's
  class directories). Empty where those files are absent: each review is
  then a movie of its own.

  IMDB keeps up to 30 reviews per movie, and its test movies are not its
  train movies; an eval split carved by review id shares nearly all its
  movies with train (96.6% of the dev archive's eval reviews did) and so
  rewards n-grams that name a movie, which `test` does not.
  """
  urls: Dict[str, str] = {}
  if len(paths) == 1 and is_archive(paths[0]):
    for name, label_dir, content in _archive_files(
        paths[0], lambda name: urls_location(name, split)):
      urls.update(_urls_of(f'{paths[0]}:{name}', split, label_dir, content))
    return urls
  split_dirs = {os.path.dirname(os.path.dirname(p)) for p in paths}
  for split_dir in sorted(split_dirs):
    for label_dir in LABEL_DIRECTORIES:
      path = os.path.join(split_dir, URLS_FILE_NAME.format(label_dir))
      if tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path, 'rb') as f:
          urls.update(_urls_of(path, split, label_dir, f.read()))
  return urls


def split_key(review_id: str, movies: Dict[str, str]) -> str:
  """What the eval split is carved by: the review's movie (`movie_urls`),
  or the review id where no urls file names one."""
  return movies.get(review_id, review_id)


def bucket_of(key: str, num_buckets: int) -> int:
  """Stable hash bucket of a key, e.g. a review id or a movie URL (the same
  on every machine and run)."""
  digest = hashlib.sha256(key.encode()).digest()
  return int.from_bytes(digest[:8], 'big') % num_buckets


def hash_split_index(key: str, hash_buckets: Sequence[int]) -> int:
  """Which of several splits, of `hash_buckets[i]` buckets each, a key is
  in: e.g. (90, 10) puts buckets 0-89 in split 0 and 90-99 in split 1."""
  bucket = bucket_of(key, sum(hash_buckets))
  for index, edge in enumerate(itertools.accumulate(hash_buckets)):
    if bucket < edge:
      return index
  raise AssertionError('unreachable: bucket < sum(hash_buckets)')
