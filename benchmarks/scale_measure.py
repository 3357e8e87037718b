"""What `make bench-scale` measures, and how: a process tree sampled from
/proc, component intervals from ML Metadata, samples attributed to them, and
straight lines fitted to the figures.

Pure Python but for the ML Metadata reader; the tests call the rest on
synthetic samples.
"""

import dataclasses
import os
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

_TICKS = os.sysconf('SC_CLK_TCK')
_PAGE = os.sysconf('SC_PAGE_SIZE')


@dataclasses.dataclass(frozen=True)
class Sample:
  time: float  # seconds since the epoch, as ML Metadata's clock
  cpu_seconds: float  # cumulative CPU of the tree (and its reaped children)
  rss_bytes: int  # resident memory of the tree's live processes, summed


@dataclasses.dataclass(frozen=True)
class Interval:
  component: str
  state: str  # complete, cached, failed, ... (ML Metadata's names)
  start: float  # seconds since the epoch
  end: float


def _stat(pid: int) -> Optional[Tuple[int, float, int]]:
  """(parent pid, CPU seconds incl. reaped children, RSS bytes), or None if
  the process is gone."""
  try:
    with open(f'/proc/{pid}/stat', 'rb') as f:
      text = f.read().decode('ascii', 'replace')
  except OSError:
    return None
  # The command name, in parentheses, may hold spaces: split after it.
  fields = text[text.rfind(')') + 2:].split()
  # Fields 4 (ppid), 14-17 (utime, stime, cutime, cstime), 24 (rss pages).
  ticks = sum(int(v) for v in fields[11:15])
  return int(fields[1]), ticks / _TICKS, int(fields[21]) * _PAGE


def sample_tree(root: int) -> Optional[Sample]:
  """One sample of `root` and all its descendants; None once root is gone.

  A process that exited and was reaped by its parent in the tree is in that
  parent's cutime/cstime, so the CPU of short-lived children (a wheel build,
  a Beam worker) is not lost between samples."""
  stats = {}
  for name in os.listdir('/proc'):
    if name.isdigit():
      stat = _stat(int(name))
      if stat:
        stats[int(name)] = stat
  if root not in stats:
    return None
  children: Dict[int, List[int]] = {}
  for pid, (parent, _, _) in stats.items():
    children.setdefault(parent, []).append(pid)
  cpu, rss, todo = 0.0, 0, [root]
  while todo:
    pid = todo.pop()
    _, pid_cpu, pid_rss = stats[pid]
    cpu += pid_cpu
    rss += pid_rss
    todo += children.get(pid, [])
  return Sample(time.time(), cpu, rss)


class TreeSampler:
  """Samples a process tree every `interval` seconds in a thread."""

  def __init__(self, root: int, interval: float = 0.2):
    self.root, self.interval = root, interval
    self.samples: List[Sample] = []
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._run, daemon=True)

  def __enter__(self) -> 'TreeSampler':
    self._thread.start()
    return self

  def __exit__(self, *exc) -> None:
    self._stop.set()
    self._thread.join()

  def _run(self) -> None:
    while not self._stop.is_set():
      sample = sample_tree(self.root)
      if sample is None:
        return
      self.samples.append(sample)
      self._stop.wait(self.interval)


def cpu_between(samples: Sequence[Sample], start: float, end: float) -> float:
  """CPU seconds spent in [start, end]: each rise between two samples shared
  out in proportion to the overlap of its time span with the interval. A
  fall (a process gone without a parent in the tree to reap it) counts as
  none."""
  total = 0.0
  for before, after in zip(samples, samples[1:]):
    rise = max(0.0, after.cpu_seconds - before.cpu_seconds)
    span = after.time - before.time
    overlap = min(end, after.time) - max(start, before.time)
    if rise and span > 0 and overlap > 0:
      total += rise * overlap / span
  return total


def peak_rss_between(samples: Sequence[Sample], start: float,
                     end: float) -> int:
  """The largest RSS sampled in [start, end]; for an interval shorter than
  the sampling period, the larger of the samples either side of it."""
  inside = [s.rss_bytes for s in samples if start <= s.time <= end]
  if inside:
    return max(inside)
  before = [s for s in samples if s.time < start][-1:]
  after = [s for s in samples if s.time > end][:1]
  return max([s.rss_bytes for s in before + after], default=0)


def attribute(samples: Sequence[Sample],
              intervals: Sequence[Interval]) -> Dict[str, Dict[str, float]]:
  """{component: {'cpu_seconds', 'peak_rss_bytes'}} by execution interval."""
  return {i.component: {'cpu_seconds': cpu_between(samples, i.start, i.end),
                        'peak_rss_bytes': peak_rss_between(samples, i.start,
                                                           i.end)}
          for i in intervals}


def fit_line(xs: Sequence[float],
             ys: Sequence[float]) -> Tuple[Optional[float], Optional[float]]:
  """(fixed, per unit) of the least-squares line y = fixed + per_unit * x;
  (None, None) with fewer than two distinct xs."""
  if len(xs) != len(ys):
    raise ValueError(f'{len(xs)} xs but {len(ys)} ys')
  n = len(xs)
  if n < 2 or len(set(xs)) < 2:
    return None, None
  mean_x, mean_y = sum(xs) / n, sum(ys) / n
  slope = (sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
           / sum((x - mean_x) ** 2 for x in xs))
  return mean_y - slope * mean_x, slope


def execution_intervals(metadata_path: str, run_id: str,
                        pipeline_name: str) -> List[Interval]:
  """Each execution of the ML Metadata run context `run_id` (as
  runs.summary.latest_run names it), in start order: when ML Metadata
  created it and last updated it."""
  # pylint: disable=g-import-not-at-top
  from ml_metadata.proto import metadata_store_pb2
  from contract import lineage
  # pylint: enable=g-import-not-at-top
  store = lineage.sqlite_store(metadata_path)
  run = store.get_context_by_type_and_name('pipeline_run', run_id)
  if run is None:
    raise ValueError(f'{metadata_path}: no pipeline run {run_id}')
  intervals = []
  for execution in sorted(store.get_executions_by_context(run.id),
                          key=lambda e: e.create_time_since_epoch):
    node = next((c for c in store.get_contexts_by_execution(execution.id)
                 if c.type == 'node'), None)
    component = (node.name[len(pipeline_name) + 1:] if node
                 else execution.type)
    state = metadata_store_pb2.Execution.State.Name(
        execution.last_known_state).lower()
    intervals.append(Interval(component, state,
                              execution.create_time_since_epoch / 1000,
                              execution.last_update_time_since_epoch / 1000))
  return intervals
