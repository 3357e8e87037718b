"""One run at a time per output directory.

Two runs on one output directory would share the ML Metadata store, the
pipeline root and the serving directory: a second run could resolve the first
one's half-made artifacts or push under the same version number. A run holds
an exclusive `flock` on `<output_dir>/run.lock` for its whole life; the kernel
releases it when the process ends, however it ends (a killed run leaves no
stale lock behind).
"""

import contextlib
import datetime
import fcntl
import os
import time
from typing import Iterator, Optional

LOCK_FILE = 'run.lock'


class OutputDirectoryBusy(RuntimeError):
  """Another run holds the output directory; the message says which."""


def _holder(path: str) -> str:
  try:
    with open(path, encoding='utf-8') as f:
      return f.read().strip() or 'another run'
  except OSError:
    return 'another run'


@contextlib.contextmanager
def hold(output_dir: str, wait_s: Optional[float] = 0,
         poll_s: float = 1.0) -> Iterator[str]:
  """Holds the output directory's lock for the `with` block.

  wait_s: 0 refuses at once when another run holds it, None waits for as
  long as it takes, a number waits that many seconds. Raises
  OutputDirectoryBusy naming the holder.
  """
  os.makedirs(output_dir, exist_ok=True)
  path = os.path.join(output_dir, LOCK_FILE)
  descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    deadline = None if wait_s is None else time.monotonic() + wait_s
    while True:
      try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
      except BlockingIOError:
        if deadline is not None and time.monotonic() >= deadline:
          raise OutputDirectoryBusy(
              f'{output_dir}: in use by {_holder(path)}; wait for it to '
              'finish (or pass --wait to queue behind it)') from None
        time.sleep(poll_s)
    os.ftruncate(descriptor, 0)
    started = datetime.datetime.now().isoformat(timespec='seconds')
    os.write(descriptor, f'the run with pid {os.getpid()}, started '
             f'{started}\n'.encode())
    yield path
  finally:
    os.close(descriptor)  # also releases the lock
