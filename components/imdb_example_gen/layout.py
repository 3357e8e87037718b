"""The official aclImdb layout, in pure Python (no TensorFlow import).

`<split>/<pos|neg>/<ID>_<RATING>.txt`, under a directory or inside a .tar.gz,
and beside them `<split>/urls_<pos|neg>.txt`, whose line N is the IMDB page of
the movie that review N of that class reviews.
"""

import os
import re
from typing import Optional, Tuple

LABEL_DIRECTORIES = {'neg': 0, 'pos': 1}
ARCHIVE_SUFFIXES = ('.tar.gz', '.tgz')
FILE_NAME = re.compile(r'^(\d+)_(\d+)\.txt$')
URLS_FILE_NAME = 'urls_{}.txt'  # .format(label directory)


def is_archive(path: str) -> bool:
  return path.endswith(ARCHIVE_SUFFIXES)


def review_location(path: str, split: str) -> Optional[Tuple[str, str]]:
  """(label directory, file name) if `path` is a review of `split`, else None.

  `path` is a file path or an archive member name, with '/' separators.
  """
  parts = path.replace(os.sep, '/').split('/')
  if (len(parts) >= 3 and parts[-3] == split
      and parts[-2] in LABEL_DIRECTORIES and parts[-1].endswith('.txt')):
    return parts[-2], parts[-1]
  return None


def urls_location(path: str, split: str) -> Optional[str]:
  """The label directory whose movie URLs `path` lists, if `path` is
  `<split>/urls_<pos|neg>.txt`, else None."""
  parts = path.replace(os.sep, '/').split('/')
  if len(parts) >= 2 and parts[-2] == split:
    for label_dir in LABEL_DIRECTORIES:
      if parts[-1] == URLS_FILE_NAME.format(label_dir):
        return label_dir
  return None
