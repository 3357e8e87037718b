"""What a person sees while the pipeline runs: a line per component as it
starts and finishes, an epoch bar while the Trainer trains, and the full logs
in a file.

The events come from the libraries' own messages, not from guessing:
LocalDagRunner logs "Component X is running." / "is finished." around each
node, TFX's launcher logs whether it reused a cached execution or runs a new
one, and Keras's progress logger writes "Epoch n/N" and one line of metrics
per epoch to stdout. `capture_output` sends everything the process writes
(Python, TensorFlow's C++ logs, Beam, pip run by TFX) to the log file, or with
`verbose` to the log file and the terminal, and passes those messages to a
`ProgressReporter`, which writes to the terminal as it was before.
"""

import contextlib
import io
import logging
import os
import re
import subprocess
import sys
import threading
import time
from typing import Callable, Iterator, List, Optional, TextIO, Tuple

from tqdm import tqdm

# Messages of tfx.orchestration.local.local_dag_runner and
# tfx.orchestration.portable.launcher (TFX 1.16).
_COMPONENT_RUNNING = re.compile(r'^Component (\S+) is running\.$')
_COMPONENT_FINISHED = re.compile(r'^Component (\S+) is finished\.$')
_CACHED_EXECUTION = re.compile(r'^A cached execution \d+ is used\.$')
_NEW_EXECUTION = re.compile(r'^Going to run a new execution \d+$')
# tf.keras's ProgbarLogger (verbose=2): "Epoch 3/10" at the start of an epoch,
# then "<steps> - 4s - loss: 0.41 - accuracy: 0.83 - val_loss: ..." at its end.
_EPOCH_START = re.compile(r'^Epoch (\d+)/(\d+)$')
_EPOCH_METRIC = re.compile(r'\b(\w+): (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\b')
# Shown per epoch: the total losses and every accuracy (a multi-output model
# names them after the output, e.g. `val_probability_accuracy`).
_SHOWN_EPOCH_LOSSES = ('loss', 'val_loss')


class ProgressReporter:
  """Turns the libraries' progress messages into lines for a person."""

  def __init__(self, terminal: TextIO, total_components: Optional[int] = None,
               show_bar: Optional[bool] = None,
               clock: Callable[[], float] = time.monotonic):
    self._terminal = terminal
    self.total_components = total_components
    self._show_bar = (terminal.isatty() if show_bar is None else show_bar)
    self._clock = clock
    self._current: Optional[str] = None
    self._status = 'executed'
    self._started = 0.0
    self._epoch_bar: Optional[tqdm] = None
    self._epoch: Tuple[int, int] = (0, 0)
    # (component, executed/cached/failed, seconds), in order of start.
    self.components: List[Tuple[str, str, float]] = []
    # The terminal is shared with the ticker thread (see `tick`).
    self._lock = threading.RLock()
    self._ticking_line = False

  def say(self, text: str) -> None:
    """A line of its own on the terminal, time-stamped."""
    self._say(text)

  def _say(self, text: str) -> None:
    with self._lock:
      self._clear_ticking_line()
      stamp = time.strftime('%H:%M:%S')
      self._terminal.write(f'{stamp}  {text}\n')
      self._terminal.flush()

  def _clear_ticking_line(self) -> None:
    if self._ticking_line:
      self._terminal.write('\r\033[K')
      self._ticking_line = False

  def end(self) -> None:
    """Leaves the terminal at the start of a clean line."""
    with self._lock:
      self._close_epoch_bar()
      self._clear_ticking_line()
      self._terminal.flush()

  def tick(self) -> None:
    """On a terminal, rewrites a "running for ..." line of the running
    component, so that steps without progress of their own (Beam's) still
    show that time passes. Called every second by a thread."""
    with self._lock:
      if not self._show_bar or self._current is None or self._epoch_bar:
        return
      elapsed = int(self._clock() - self._started)
      self._terminal.write(
          f'\r\033[K{"":8}  {self._position():>8} {self._current} running '
          f'for {elapsed // 60}:{elapsed % 60:02d}')
      self._terminal.flush()
      self._ticking_line = True

  def _position(self) -> str:
    count = len(self.components) + 1
    return (f'[{count}/{self.total_components}]' if self.total_components
            else f'[{count}]')

  # --- from the log records of TFX
  def on_log_message(self, message: str) -> None:
    match = _COMPONENT_RUNNING.match(message)
    if match:
      self.component_started(match.group(1))
      return
    match = _COMPONENT_FINISHED.match(message)
    if match:
      self.component_finished(match.group(1))
      return
    if self._current and _CACHED_EXECUTION.match(message):
      self._status = 'cached'
    elif self._current and _NEW_EXECUTION.match(message):
      self._status = 'executed'

  def component_started(self, name: str) -> None:
    # A resolver logs neither a cached nor a new execution; ML Metadata
    # records it as executed, and so does this.
    self._current, self._status, self._started = (name, 'executed',
                                                  self._clock())
    self._say(f'{self._position():>8} {name:<30} started')

  def component_finished(self, name: str, status: Optional[str] = None
                         ) -> None:
    self._close_epoch_bar()
    seconds = self._clock() - self._started
    status = status or self._status
    position = self._position()
    self.components.append((name, status, seconds))
    self._current = None
    self._say(f'{position:>8} {name:<30} {status:<9} {seconds:7.1f} s')

  def run_failed(self) -> Optional[str]:
    """Records the running component, if any, as failed; returns its name."""
    if self._current is None:
      return None
    name = self._current
    self.component_finished(name, status='failed')
    return name

  # --- from what Keras writes to stdout
  def on_output_line(self, line: str) -> None:
    if self._current is None:
      return
    line = line.strip()
    match = _EPOCH_START.match(line)
    if match:
      self._epoch_started(int(match.group(1)), int(match.group(2)))
      return
    if self._epoch[1] and ' - loss: ' in f' {line}':
      self._epoch_ended({
          name: float(value) for name, value in _EPOCH_METRIC.findall(line)
          if name in _SHOWN_EPOCH_LOSSES or name.endswith('accuracy')})

  def _epoch_started(self, epoch: int, epochs: int) -> None:
    if self._show_bar and (self._epoch_bar is None
                           or self._epoch_bar.total != epochs):
      with self._lock:
        self._close_epoch_bar()
        self._clear_ticking_line()
        self._epoch_bar = tqdm(total=epochs, desc=f'{"":>8} {self._current} '
                               'epochs', unit='epoch', file=self._terminal,
                               leave=False, dynamic_ncols=True)
    self._epoch = (epoch, epochs)
    if self._epoch_bar is not None:
      self._epoch_bar.n = epoch - 1
      self._epoch_bar.refresh()

  def _epoch_ended(self, metrics) -> None:
    epoch, epochs = self._epoch
    shown = '  '.join(f'{k} {v:.4f}' for k, v in metrics.items())
    if self._epoch_bar is not None:
      self._epoch_bar.n = epoch
      self._epoch_bar.set_postfix_str(shown, refresh=True)
    else:
      self._say(f'{"":>8} {self._current} epoch {epoch}/{epochs}  {shown}')

  def _close_epoch_bar(self) -> None:
    with self._lock:
      if self._epoch_bar is not None:
        self._epoch_bar.close()
        self._epoch_bar = None
      self._epoch = (0, 0)


class _LogMessageHandler(logging.Handler):
  """Passes each log message to the reporter (and never fails the run)."""

  def __init__(self, reporter: ProgressReporter):
    super().__init__(level=logging.INFO)
    self._reporter = reporter

  def emit(self, record: logging.LogRecord) -> None:
    try:
      self._reporter.on_log_message(record.getMessage())
    except Exception:  # pylint: disable=broad-except
      self.handleError(record)


class _LineTap(io.TextIOBase):
  """sys.stdout as it was, plus each complete line to a callback."""

  def __init__(self, stream: TextIO, on_line: Callable[[str], None]):
    super().__init__()
    self._stream = stream
    self._on_line = on_line
    self._partial = ''

  def write(self, text: str) -> int:
    self._stream.write(text)
    self._partial += text
    *lines, self._partial = self._partial.split('\n')
    for line in lines:
      self._on_line(line)
    return len(text)

  def flush(self) -> None:
    self._stream.flush()

  def isatty(self) -> bool:
    return False

  def fileno(self) -> int:
    return self._stream.fileno()

  @property
  def encoding(self):
    return self._stream.encoding


def tail(path: str, lines: int) -> str:
  with open(path, 'rb') as f:
    f.seek(0, os.SEEK_END)
    f.seek(max(0, f.tell() - 200 * lines))
    text = f.read().decode('utf-8', errors='replace')
  return '\n'.join(text.splitlines()[-lines:])


@contextlib.contextmanager
def capture_output(log_path: str, verbose: bool = False,
                   total_components: Optional[int] = None,
                   loggers: Tuple[str, ...] = ('absl',)
                   ) -> Iterator[ProgressReporter]:
  """Sends all output of this process to `log_path` (and, if `verbose`, also
  to the terminal) and reports progress on the terminal meanwhile.

  Works on file descriptors 1 and 2, so TensorFlow's C++ logging and the
  subprocesses TFX starts land in the log too. On an exception the running
  component is reported failed with the end of the log, and it propagates.
  """
  os.makedirs(os.path.dirname(log_path), exist_ok=True)
  sys.stdout.flush()
  sys.stderr.flush()
  saved_stdout, saved_stderr = os.dup(1), os.dup(2)
  terminal = os.fdopen(os.dup(1), 'w', buffering=1, encoding='utf-8',
                       errors='replace')
  log_file = open(log_path, 'ab')  # pylint: disable=consider-using-with
  tee = None
  if verbose:
    # `tee` copies the stream to the terminal and the log, in order.
    tee = subprocess.Popen(['tee', '-a', log_path], stdin=subprocess.PIPE,
                           stdout=saved_stdout)
    target = tee.stdin.fileno()
  else:
    target = log_file.fileno()
  os.dup2(target, 1)
  os.dup2(target, 2)
  reporter = ProgressReporter(terminal, total_components)
  handler = _LogMessageHandler(reporter)
  for name in loggers:
    logging.getLogger(name).addHandler(handler)
  original_stdout = sys.stdout
  sys.stdout = _LineTap(original_stdout, reporter.on_output_line)
  stop_ticking = threading.Event()

  def tick():
    while not stop_ticking.wait(1.0):
      reporter.tick()

  ticker = threading.Thread(target=tick, name='progress-ticker', daemon=True)
  ticker.start()
  try:
    yield reporter
  except BaseException:
    failed = reporter.run_failed()
    sys.stdout.flush()
    sys.stderr.flush()
    if not verbose:
      terminal.write(f'--- last lines of {log_path} ---\n'
                     f'{tail(log_path, 30)}\n---\n')
    terminal.write(f'{"Run failed" if failed is None else failed + " failed"}'
                   f'; full log: {log_path}\n')
    raise
  finally:
    stop_ticking.set()
    ticker.join()
    reporter.end()
    sys.stdout.flush()
    sys.stdout = original_stdout
    for name in loggers:
      logging.getLogger(name).removeHandler(handler)
    sys.stderr.flush()
    os.dup2(saved_stdout, 1)
    os.dup2(saved_stderr, 2)
    os.close(saved_stdout)
    os.close(saved_stderr)
    if tee is not None:
      tee.stdin.close()
      tee.wait()
    log_file.close()
    terminal.close()
