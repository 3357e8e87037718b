"""benchmarks.scale_measure: sampling a process tree, attributing samples to
component intervals, and the least-squares fit."""

import os
import subprocess
import sys

import pytest

from benchmarks import scale_measure
from benchmarks.scale_measure import Interval
from benchmarks.scale_measure import Sample


def test_the_fit_of_points_on_a_line_is_that_line():
  fixed, per_review = scale_measure.fit_line([1000, 2000, 4000, 8000],
                                             [13.0, 23.0, 43.0, 83.0])
  assert fixed == pytest.approx(3.0)
  assert per_review == pytest.approx(0.01)


def test_the_fit_of_scattered_points_is_the_least_squares_line():
  # Worked by hand: mean x 1, mean y 7/3, slope 3/2, intercept 5/6.
  fixed, per_review = scale_measure.fit_line([0, 1, 2], [1, 2, 4])
  assert per_review == pytest.approx(1.5)
  assert fixed == pytest.approx(5 / 6)


def test_no_fit_without_two_distinct_sizes():
  assert scale_measure.fit_line([500], [3.0]) == (None, None)
  assert scale_measure.fit_line([500, 500], [3.0, 4.0]) == (None, None)
  with pytest.raises(ValueError, match='2 xs but 1 ys'):
    scale_measure.fit_line([1, 2], [3.0])


# One sample a second from t=100: CPU rises a second per second but for a
# fall at t=107 (a process gone unreaped), RSS 1..10 MB then 3 MB.
SAMPLES = [Sample(100.0 + t, float(t if t < 7 else t - 5), (t + 1) * 2**20)
           for t in range(10)] + [Sample(110.0, 5.0, 3 * 2**20)]


def test_cpu_is_shared_out_by_overlap_with_the_interval():
  assert scale_measure.cpu_between(SAMPLES, 102.0, 104.0) == pytest.approx(2)
  assert scale_measure.cpu_between(SAMPLES, 102.5, 104.25) == pytest.approx(
      1.75)
  # The fall from 6 to 2 between t=106 and 107 counts as none.
  assert scale_measure.cpu_between(SAMPLES, 105.0, 109.0) == pytest.approx(
      1 + 0 + 2)
  assert scale_measure.cpu_between(SAMPLES, 90.0, 99.0) == 0


def test_the_peak_rss_of_an_interval_is_its_largest_sample():
  assert scale_measure.peak_rss_between(SAMPLES, 101.5, 104.5) == 5 * 2**20
  assert scale_measure.peak_rss_between(SAMPLES, 108.5, 110.0) == 10 * 2**20
  # Shorter than the sampling period: the larger sample either side.
  assert scale_measure.peak_rss_between(SAMPLES, 103.2, 103.4) == 5 * 2**20


def test_attribute_gives_each_component_its_cpu_and_peak():
  intervals = [Interval('ImdbExampleGen', 'complete', 100.0, 103.0),
               Interval('Transform', 'complete', 103.0, 106.0)]
  figures = scale_measure.attribute(SAMPLES, intervals)
  assert figures == {
      'ImdbExampleGen': {'cpu_seconds': pytest.approx(3),
                         'peak_rss_bytes': 4 * 2**20},
      'Transform': {'cpu_seconds': pytest.approx(3),
                    'peak_rss_bytes': 7 * 2**20}}


def test_a_tree_sample_holds_live_children_and_reaped_ones():
  here = scale_measure.sample_tree(os.getpid())
  assert here.cpu_seconds > 0 and here.rss_bytes > 0
  # A child that spends CPU and is reaped: its CPU moves into our cutime.
  subprocess.run([sys.executable, '-c',
                  'import time\nend = time.process_time() + 0.3\n'
                  'while time.process_time() < end: pass'], check=True)
  after = scale_measure.sample_tree(os.getpid())
  assert after.cpu_seconds - here.cpu_seconds >= 0.25
  # A live child's memory counts in the tree's.
  child = subprocess.Popen([sys.executable, '-c', 'import time; '
                            'time.sleep(30)'])
  try:
    alone = None
    while alone is None or alone.rss_bytes < 2**20:  # until python is loaded
      alone = scale_measure.sample_tree(child.pid)
    with_child = scale_measure.sample_tree(os.getpid())
    assert with_child.rss_bytes >= alone.rss_bytes + 0.9 * here.rss_bytes
  finally:
    child.kill()
    child.wait()
  assert scale_measure.sample_tree(child.pid) is None


def test_the_sampler_samples_until_the_process_ends():
  child = subprocess.Popen([sys.executable, '-c', 'import time; '
                            'time.sleep(1)'])
  with scale_measure.TreeSampler(child.pid, interval=0.05) as sampler:
    child.wait()
    # The sampler stops by itself once the process is gone.
    sampler._thread.join(timeout=5)  # pylint: disable=protected-access
  assert len(sampler.samples) >= 10
  times = [s.time for s in sampler.samples]
  assert times == sorted(times)
