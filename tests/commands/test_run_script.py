"""scripts/run.sh, the command cron calls: the runner's exit status reaches
the scheduler (make would report every failure as 2)."""

import os
import subprocess

from helpers import imdb_data
from orchestration import run_lock

SCRIPT = os.path.join(imdb_data.PROJECT_ROOT, 'scripts', 'run.sh')


def _run(*args, **env):
  return subprocess.run([SCRIPT, *args], capture_output=True, text=True,
                        timeout=300, env=dict(os.environ, **env))


def test_bad_data_exits_2_naming_the_path(tmp_path):
  result = _run('--data', str(tmp_path / 'missing.tar.gz'),
                '--output-dir', str(tmp_path / 'out'))
  assert result.returncode == 2, result.stderr
  assert 'missing.tar.gz: no such file or directory' in result.stderr


def _archive(tmp_path) -> str:
  return imdb_data.write_archive(
      str(tmp_path / 'small.tar.gz'),
      imdb_data.generated_corpus({'train': 4, 'test': 2}, seed=1))


def test_a_busy_output_directory_exits_3(tmp_path):
  archive = _archive(tmp_path)
  output_dir = str(tmp_path / 'out')
  with run_lock.hold(output_dir, wait_s=0):
    result = _run('--data', archive, '--output-dir', output_dir)
  assert result.returncode == 3, result.stderr
  assert f'{output_dir}: in use by the run with pid {os.getpid()}' in (
      result.stderr)


def test_make_run_reports_any_failure_as_2_which_is_why_cron_uses_the_script(
    tmp_path):
  output_dir = str(tmp_path / 'out')
  with run_lock.hold(output_dir, wait_s=0):
    result = subprocess.run(
        ['make', '-s', 'run',
         f'ARGS=--data {_archive(tmp_path)} --output-dir {output_dir}'],
        cwd=imdb_data.PROJECT_ROOT, capture_output=True, text=True,
        timeout=300)
  assert result.returncode == 2  # the runner said 3 (busy)
  assert 'in use by the run' in result.stderr
