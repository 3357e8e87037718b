"""An N-times version of an aclImdb archive, for `make bench-scale`.

    python -m benchmarks.scale_data --data aclImdb_dev.tar.gz --factor 4 \
        --output outputs/bench-scale/data/aclImdb_x4.tar.gz [--as-directory]

Copy 1 is the original reviews of `train` and `test` (pos and neg, byte for
byte, under their own file names; `unsup` and the rest are left out). Copies
2..N are synthetic: one per original review, with its split, class and
rating and as many sentences as it has, each sentence drawn (seeded) from the
reviews of that split, class and rating. So the synthetic data has the
original's ratings, classes and length distribution, and words in their
real contexts, without a review repeated. Synthetic review ids are the
original's plus (copy - 1) x (largest original id + 1): unique per split and
class, and the rating stays in the file name.

The input is read twice, streaming: once to collect the sentences (the one
thing held in memory: the original text, not N times it), once to copy the
originals; the output is written as it is made, to a .tar.gz (`aclImdb/...`,
as the official archive) or with --as-directory to `<output>/aclImdb/...`.
The output appears only when complete (written beside it, then renamed).
"""

import argparse
import dataclasses
import io
import os
import random
import re
import shutil
import sys
import tarfile
import time
import zlib
from typing import Dict, Iterator, List, Tuple

from components.imdb_example_gen import layout

SPLITS = ('train', 'test')
TOP = 'aclImdb'
# A sentence: up to and including its end mark and what separates it from
# the next (spaces, IMDB's `<br />` line breaks), or up to a line break
# alone, or to the end. Concatenated, the pieces give back the review.
_SENTENCE = re.compile(
    r'.+?(?:[.!?]+[)"\']*(?:\s|<br\s*/?>)+|(?:<br\s*/?>\s*)+|$)', re.S)


class ScaleDataError(ValueError):
  """Input that cannot be scaled; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Original:
  split: str
  label_dir: str
  review_id: int
  rating: int
  sentences: int  # how many sentences a synthetic copy of it gets


# (split, label directory, rating) -> every sentence of those reviews
Pool = Dict[Tuple[str, str, int], List[str]]


def split_sentences(text: str) -> List[str]:
  """The review's sentences, each with its trailing separator."""
  return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0)]


def _iter_input(data: str) -> Iterator[Tuple[str, str, str, str, bytes]]:
  """(source, split, label dir, file name, content) of every review file of
  `train` and `test` in an archive or a directory, in stored order."""
  if layout.is_archive(data):
    try:
      with tarfile.open(data, 'r|gz') as archive:
        for member in archive:
          yield from _located(f'{data}:{member.name}', member.name,
                              member.isfile(),
                              lambda m=member: archive.extractfile(m).read())
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
      raise ScaleDataError(f'{data}: corrupt or truncated archive ({e})') from e
  elif os.path.isdir(data):
    for folder, dirs, names in os.walk(data):
      dirs.sort()
      for name in sorted(names):
        path = os.path.join(folder, name)
        def read(path=path):
          with open(path, 'rb') as f:
            return f.read()
        yield from _located(path, path, True, read)
  else:
    raise ScaleDataError(f'{data}: neither a .tar.gz archive nor a directory')


def _located(source, name, is_file, read):
  for split in SPLITS:
    location = layout.review_location(name, split)
    if is_file and location:
      yield (source, split, *location, read())


def _parse(source: str, file_name: str, content: bytes) -> Tuple[int, int, str]:
  """(review id, rating, text); ScaleDataError naming `source` if bad."""
  match = layout.FILE_NAME.match(file_name)
  if not match:
    raise ScaleDataError(
        f'{source}: file name does not match <ID>_<RATING>.txt')
  try:
    text = content.decode('utf-8')
  except UnicodeDecodeError as e:
    raise ScaleDataError(
        f'{source}: not valid UTF-8 at byte {e.start} ({e.reason})') from e
  if not text.strip():
    raise ScaleDataError(f'{source}: empty review')
  return int(match.group(1)), int(match.group(2)), text


def collect(data: str) -> Tuple[List[Original], Pool]:
  """Every original review (in stored order) and the sentence pool."""
  originals, pool = [], {}
  for source, split, label_dir, file_name, content in _iter_input(data):
    review_id, rating, text = _parse(source, file_name, content)
    sentences = split_sentences(text)
    pool.setdefault((split, label_dir, rating), []).extend(sentences)
    originals.append(Original(split, label_dir, review_id, rating,
                              len(sentences)))
  for split in SPLITS:
    for label_dir in layout.LABEL_DIRECTORIES:
      if not any(o.split == split and o.label_dir == label_dir
                 for o in originals):
        raise ScaleDataError(f'{data}: no reviews under {split}/{label_dir}')
  return originals, pool


def synthetic_review(rng: random.Random, sentences: List[str],
                     count: int) -> str:
  """`count` sentences drawn from `sentences`, joined as a review."""
  chosen = [rng.choice(sentences) for _ in range(count)]
  # A sentence taken from the end of a review may lack a separator.
  text = ''.join(s if s[-1:].isspace() or s.endswith('>') else s + ' '
                 for s in chosen)
  return text.strip() or chosen[0]


def iter_scaled(data: str, factor: int,
                seed: int = 0) -> Iterator[Tuple[str, bytes]]:
  """('train/pos/12_9.txt', content) of the N-times data: the originals in
  stored order, then copy 2, 3, ... Each copy of each split and class has its
  own random stream, so a copy does not depend on the factor."""
  if factor < 1:
    raise ScaleDataError(f'factor {factor}: must be at least 1')
  originals, pool = collect(data)
  for _, split, label_dir, file_name, content in _iter_input(data):
    yield f'{split}/{label_dir}/{file_name}', content
  stride = max(o.review_id for o in originals) + 1
  for copy in range(2, factor + 1):
    for split in SPLITS:
      for label_dir in sorted(layout.LABEL_DIRECTORIES):
        rng = random.Random(f'{seed}/{copy}/{split}/{label_dir}')
        for original in originals:
          if (original.split, original.label_dir) != (split, label_dir):
            continue
          text = synthetic_review(
              rng, pool[(split, label_dir, original.rating)],
              original.sentences)
          review_id = original.review_id + (copy - 1) * stride
          yield (f'{split}/{label_dir}/{review_id}_{original.rating}.txt',
                 text.encode('utf-8'))


def write_archive(files: Iterator[Tuple[str, bytes]], path: str) -> int:
  """Streams the files into a .tar.gz under aclImdb/; how many."""
  count, now = 0, int(time.time())
  with tarfile.open(path, 'w|gz') as archive:
    for name, content in files:
      info = tarfile.TarInfo(f'{TOP}/{name}')
      info.size, info.mtime = len(content), now
      archive.addfile(info, io.BytesIO(content))
      count += 1
  return count


def write_directory(files: Iterator[Tuple[str, bytes]], path: str) -> int:
  """Writes the files under path/aclImdb/; how many."""
  count, made = 0, set()
  for name, content in files:
    target = os.path.join(path, TOP, name)
    folder = os.path.dirname(target)
    if folder not in made:
      os.makedirs(folder, exist_ok=True)
      made.add(folder)
    with open(target, 'wb') as f:
      f.write(content)
    count += 1
  return count


def build(data: str, factor: int, output: str, as_directory: bool = False,
          seed: int = 0) -> int:
  """Writes the N-times data to `output` (replacing it); how many reviews.
  Nothing is left at `output` if it fails."""
  if not os.path.exists(data):
    raise ScaleDataError(f'{data}: no such file or directory')
  if not as_directory and not layout.is_archive(output):
    raise ScaleDataError(f'{output}: an archive must end in .tar.gz or .tgz '
                         '(or pass --as-directory)')
  parent = os.path.dirname(os.path.abspath(output))
  os.makedirs(parent, exist_ok=True)
  partial = os.path.join(parent, f'.partial-{os.getpid()}-'
                         f'{os.path.basename(output)}')
  try:
    writer = write_directory if as_directory else write_archive
    count = writer(iter_scaled(data, factor, seed), partial)
    _remove(output)
    os.replace(partial, output)
  finally:
    _remove(partial)
  return count


def _remove(path: str) -> None:
  if os.path.isdir(path):
    shutil.rmtree(path)
  elif os.path.exists(path):
    os.remove(path)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--data', required=True,
                      help='an aclImdb .tar.gz or directory')
  parser.add_argument('--factor', type=int, required=True)
  parser.add_argument('--output', required=True,
                      help='a .tar.gz, or a directory with --as-directory')
  parser.add_argument('--as-directory', action='store_true')
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args(argv)
  if args.factor < 1:
    parser.error(f'--factor {args.factor}: must be at least 1')
  started = time.time()
  try:
    count = build(args.data, args.factor, args.output, args.as_directory,
                  args.seed)
  except ScaleDataError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  print(f'{args.output}: {count} reviews ({args.factor}x {args.data}) in '
        f'{time.time() - started:.0f} s')
  return 0


if __name__ == '__main__':
  sys.exit(main())
