"""Small IMDB-layout corpora for tests: generated, or a slice of the real data.

No review text is committed: generated reviews are made from word lists here,
and the real slice is read from ../shared/data/aclImdb_dev.tar.gz when present.
"""

import io
import os
import random
import tarfile
from typing import Dict, Optional

from components.imdb_example_gen import reviews  # re-exported for tests

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SHARED_ARCHIVE = os.path.join(
    os.path.dirname(PROJECT_ROOT), 'shared', 'data', 'aclImdb_dev.tar.gz')

POSITIVE_WORDS = ['great', 'wonderful', 'loved', 'brilliant', 'superb', 'moving',
                  'excellent', 'enjoyable', 'masterpiece', 'charming']
NEGATIVE_WORDS = ['awful', 'boring', 'terrible', 'waste', 'hated', 'dull',
                  'horrible', 'worst', 'stupid', 'mess']
_NEUTRAL = ['the', 'movie', 'film', 'plot', 'actor', 'scene', 'story', 'and',
            'was', 'director', 'ending', 'music', 'a', 'it', 'this', 'of']


def generated_review(rng: random.Random, positive: bool) -> str:
  words = [rng.choice(_NEUTRAL) for _ in range(rng.randint(15, 60))]
  cues = POSITIVE_WORDS if positive else NEGATIVE_WORDS
  for _ in range(rng.randint(2, 5)):
    words.insert(rng.randrange(len(words)), rng.choice(cues))
  sentence = ' '.join(words).capitalize()
  return sentence[:40] + '<br /><br />' + sentence[40:] + '!'


def generated_corpus(per_split_and_class: Dict[str, int],
                     seed: int = 0) -> Dict[str, bytes]:
  """{'train/pos/12_9.txt': text, ...}: generated, learnable reviews."""
  rng = random.Random(seed)
  files = {}
  for split, count in per_split_and_class.items():
    for label_dir in ('pos', 'neg'):
      for review_id in range(count):
        rating = rng.randint(7, 10) if label_dir == 'pos' else rng.randint(1, 4)
        files[f'{split}/{label_dir}/{review_id}_{rating}.txt'] = (
            generated_review(rng, label_dir == 'pos').encode())
  return files


def with_movie_urls(files: Dict[str, bytes], reviews_per_movie: int,
                    unnamed: int = 0) -> Dict[str, bytes]:
  """`files` plus each split's urls_pos.txt and urls_neg.txt, as the official
  layout has them (line N: the movie of review N): consecutive review ids
  share a movie, pos and neg reviews of one id the same movie; the last
  `unnamed` ids of each class get no line."""
  counts: Dict[tuple, int] = {}
  for name in files:
    split, label_dir, file_name = name.split('/')
    if label_dir in ('pos', 'neg'):
      number = int(file_name.split('_')[0])
      counts[(split, label_dir)] = max(counts.get((split, label_dir), 0),
                                       number + 1)
  urls = {f'{split}/urls_{label_dir}.txt': ''.join(
      f'http://www.imdb.com/title/tt{number // reviews_per_movie:07d}/'
      'usercomments\n' for number in range(count - unnamed)).encode()
          for (split, label_dir), count in counts.items()}
  return {**files, **urls}


def real_corpus(per_split_and_class: Dict[str, int],
                archive: str = SHARED_ARCHIVE) -> Dict[str, bytes]:
  """The first reviews of each split and class of the real archive."""
  wanted = {(split, d): n for split, n in per_split_and_class.items()
            for d in ('pos', 'neg')}
  files = {}
  with tarfile.open(archive, 'r|gz') as tar:
    for member in tar:
      parts = member.name.split('/')
      if len(parts) != 4 or not member.isfile():
        continue
      key = (parts[1], parts[2])
      if wanted.get(key, 0) > 0 and parts[3].endswith('.txt'):
        files['/'.join(parts[1:])] = tar.extractfile(member).read()
        wanted[key] -= 1
      if not any(wanted.values()):
        break
  return files


def write_tree(root: str, files: Dict[str, bytes],
               top: Optional[str] = 'aclImdb') -> str:
  """Writes the files under root/top; returns the directory holding train/."""
  base = os.path.join(root, top) if top else root
  for name, content in files.items():
    path = os.path.join(base, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
      f.write(content)
  return base


def write_archive(path: str, files: Dict[str, bytes],
                  top: str = 'aclImdb') -> str:
  """Writes the files into a .tar.gz under `top/`, as the official one is."""
  with tarfile.open(path, 'w:gz') as tar:
    for name, content in sorted(files.items()):
      info = tarfile.TarInfo(f'{top}/{name}')
      info.size = len(content)
      tar.addfile(info, io.BytesIO(content))
  return path


def has_shared_archive() -> bool:
  return os.path.exists(SHARED_ARCHIVE)


__all__ = ['generated_corpus', 'real_corpus', 'write_tree', 'write_archive',
           'has_shared_archive', 'reviews']
