"""What the terminal shows while the pipeline runs, and where the logs go."""

import io
import os
import subprocess
import sys
import textwrap

import pytest

from helpers import imdb_data
from runs import progress


class _Clock:
  def __init__(self):
    self.now = 100.0

  def __call__(self):
    return self.now


def _reporter(show_bar=False):
  terminal, clock = io.StringIO(), _Clock()
  return progress.ProgressReporter(terminal, total_components=3,
                                   show_bar=show_bar, clock=clock), terminal, clock


def test_a_line_per_component_start_and_finish_with_status_and_duration():
  reporter, terminal, clock = _reporter()
  reporter.on_log_message('Component ImdbExampleGen is running.')
  reporter.on_log_message('Going to run a new execution 7')
  clock.now += 16.6
  reporter.on_log_message('Component ImdbExampleGen is finished.')
  reporter.on_log_message('Component Transform is running.')
  reporter.on_log_message('A cached execution 12 is used.')
  clock.now += 0.2
  reporter.on_log_message('Component Transform is finished.')
  reporter.on_log_message('Component latest_blessed_model_resolver is running.')
  reporter.on_log_message('Component latest_blessed_model_resolver is finished.')
  lines = terminal.getvalue().splitlines()
  assert len(lines) == 6
  assert lines[0].endswith('[1/3] ImdbExampleGen                 started')
  assert '[1/3] ImdbExampleGen' in lines[1]
  assert lines[1].split()[-3:] == ['executed', '16.6', 's']
  assert lines[3].split()[-3:] == ['cached', '0.2', 's']
  # A resolver logs neither; ML Metadata records it as executed.
  assert lines[5].split()[-3:] == ['executed', '0.0', 's']
  assert reporter.components == [
      ('ImdbExampleGen', 'executed', pytest.approx(16.6)),
      ('Transform', 'cached', pytest.approx(0.2)),
      ('latest_blessed_model_resolver', 'executed', 0.0)]


def test_keras_epochs_become_progress_lines_without_a_terminal():
  reporter, terminal, _ = _reporter(show_bar=False)
  reporter.on_log_message('Component Trainer is running.')
  for line in ['Epoch 1/10',
               '3/3 - 31s - loss: 0.6927 - accuracy: 0.4816 - auc: 0.5775 - '
               'val_loss: 0.6909 - val_accuracy: 0.5714 - val_auc: 0.8438 - '
               '31s/epoch - 10s/step',
               'Epoch 2/10',
               '3/3 - 0s - loss: 0.5862 - accuracy: 0.8419 - val_loss: 0.6869 '
               '- val_accuracy: 0.8929 - 106ms/epoch - 35ms/step']:
    reporter.on_output_line(line)
  reporter.on_log_message('Component Trainer is finished.')
  epoch_lines = [l for l in terminal.getvalue().splitlines() if 'epoch' in l]
  assert len(epoch_lines) == 2
  assert 'Trainer epoch 1/10  loss 0.6927  accuracy 0.4816  val_loss 0.6909' \
         '  val_accuracy 0.5714' in epoch_lines[0]
  assert 'Trainer epoch 2/10  loss 0.5862' in epoch_lines[1]


def test_epoch_lines_of_a_multi_output_model_show_each_accuracy():
  reporter, terminal, _ = _reporter(show_bar=False)
  reporter.on_log_message('Component Trainer is running.')
  reporter.on_output_line('Epoch 1/2')
  reporter.on_output_line(
      '3/3 - 1s - loss: 0.9 - probability_loss: 0.6 - rating_loss: 0.3 - '
      'probability_accuracy: 0.7 - probability_auc: 0.8 - val_loss: 0.8 - '
      'val_probability_accuracy: 0.75 - 1s/epoch - 0s/step')
  assert terminal.getvalue().splitlines()[-1].endswith(
      'Trainer epoch 1/2  loss 0.9000  probability_accuracy 0.7000  '
      'val_loss 0.8000  val_probability_accuracy 0.7500')


def test_keras_epochs_drive_a_bar_on_a_terminal():
  reporter, terminal, _ = _reporter(show_bar=True)
  reporter.on_log_message('Component Trainer is running.')
  reporter.on_output_line('Epoch 1/4')
  reporter.on_output_line('2/2 - 1s - loss: 0.69 - val_loss: 0.68')
  bar_text = terminal.getvalue()
  assert 'Trainer epochs' in bar_text and '1/4' in bar_text
  assert 'val_loss 0.6800' in bar_text
  reporter.on_log_message('Component Trainer is finished.')
  assert [name for name, _, _ in reporter.components] == ['Trainer']
  # The bar is gone (leave=False) before the finish line is written.
  assert terminal.getvalue().rstrip().endswith('s') and \
      'Trainer' in terminal.getvalue().splitlines()[-1]


def test_output_outside_a_component_is_ignored():
  reporter, terminal, _ = _reporter()
  reporter.on_output_line('Epoch 1/3')
  reporter.on_log_message('Some other TFX message.')
  assert terminal.getvalue() == ''


_SCRIPT = textwrap.dedent('''
    import logging, os, sys
    from runs import progress
    logging.getLogger('absl').setLevel(logging.INFO)
    log = logging.getLogger('absl')
    log.addHandler(logging.StreamHandler())  # as absl does: to stderr
    verbose = sys.argv[2] == 'verbose'
    with progress.capture_output(sys.argv[1], verbose) as reporter:
      log.info('Component Trainer is running.')
      log.info('Going to run a new execution 3')
      print('Epoch 1/2', flush=True)
      print('1/1 - 0s - loss: 0.5 - val_loss: 0.4', flush=True)
      os.write(2, b'a C++ log line on fd 2\\n')
      print('python stdout line')
      log.info('Component Trainer is finished.')
      if len(sys.argv) > 3:
        log.info('Component Evaluator is running.')
        raise RuntimeError('evaluation broke')
    print('after the run')
''')


def _run_script(tmp_path, *args):
  log_path = str(tmp_path / 'runs' / 'r1' / 'pipeline.log')
  result = subprocess.run(
      [sys.executable, '-c', _SCRIPT, log_path, *args],
      cwd=imdb_data.PROJECT_ROOT, capture_output=True, text=True, timeout=60,
      env=dict(os.environ, PYTHONPATH=imdb_data.PROJECT_ROOT))
  with open(log_path) as f:
    return result, f.read()


def test_logs_go_to_the_file_and_progress_to_the_terminal(tmp_path):
  result, log = _run_script(tmp_path, 'quiet')
  assert result.returncode == 0, result.stderr
  for line in ('Component Trainer is running.', 'a C++ log line on fd 2',
               'python stdout line', 'Epoch 1/2'):
    assert line in log
    assert line not in result.stdout + result.stderr
  assert 'Trainer                        started' in result.stdout
  assert 'Trainer epoch 1/2  loss 0.5000  val_loss 0.4000' in result.stdout
  assert 'Trainer                        executed' in result.stdout
  assert result.stdout.rstrip().endswith('after the run')


def test_verbose_shows_the_logs_on_the_terminal_too(tmp_path):
  result, log = _run_script(tmp_path, 'verbose')
  assert result.returncode == 0, result.stderr
  for line in ('Component Trainer is running.', 'a C++ log line on fd 2',
               'python stdout line'):
    assert line in log
    assert line in result.stdout
  assert 'Trainer                        executed' in result.stdout


def test_a_failure_names_the_component_and_shows_the_log_tail(tmp_path):
  result, log = _run_script(tmp_path, 'quiet', 'fail')
  assert result.returncode == 1
  assert 'Evaluator' in result.stdout and 'failed' in result.stdout
  assert f'full log: {tmp_path}/runs/r1/pipeline.log' in result.stdout
  assert 'python stdout line' in result.stdout  # the tail of the log
  assert 'RuntimeError: evaluation broke' in result.stderr
  assert 'after the run' not in result.stdout + log


def test_on_a_terminal_a_running_line_counts_the_time_until_the_end():
  reporter, terminal, clock = _reporter(show_bar=True)
  reporter.tick()  # nothing runs: nothing to show
  assert terminal.getvalue() == ''
  reporter.on_log_message('Component Transform is running.')
  clock.now += 83
  reporter.tick()
  assert terminal.getvalue().endswith('[1/3] Transform running for 1:23')
  clock.now += 1
  reporter.on_log_message('Component Transform is finished.')
  last = terminal.getvalue().split('\r\033[K')[-1]
  assert last.rstrip().endswith('Transform                      executed'
                                '     84.0 s')


def test_without_a_terminal_there_is_no_running_line():
  reporter, terminal, clock = _reporter(show_bar=False)
  reporter.on_log_message('Component Transform is running.')
  clock.now += 5
  reporter.tick()
  assert 'running for' not in terminal.getvalue()


def test_verbose_from_the_flag_or_the_environment():
  from pipeline import configs as config_lib  # pylint: disable=g-import-not-at-top
  assert not config_lib.from_args([], environ={}).local.verbose
  assert config_lib.from_args(['-v'], environ={}).local.verbose
  assert config_lib.from_args(['--verbose'], environ={}).local.verbose
  assert config_lib.from_args([], environ={'VERBOSE': '1'}).local.verbose
  assert not config_lib.from_args([], environ={'VERBOSE': '0'}).local.verbose
  config = config_lib.from_args(['--output-dir', '/tmp/o'], environ={})
  assert config.runs_dir == '/tmp/o/runs'
