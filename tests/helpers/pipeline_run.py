"""A small real pipeline run in a subprocess, the way `make run` runs it."""

import dataclasses
import os
import subprocess
import sys
from typing import Dict

from helpers import imdb_data
from pipeline import configs as config_lib

BIN = os.path.dirname(sys.executable)
RUNNER = os.path.join(imdb_data.PROJECT_ROOT, 'local_runner.py')


@dataclasses.dataclass
class PipelineRun:
  config: config_lib.PipelineConfig
  env: Dict[str, str]
  cwd: str
  stdout: str


def run_runner(env: Dict[str, str], cwd: str, *args: str) -> str:
  """Runs local_runner.py; its stdout, or AssertionError with the
  end of both streams."""
  return run_command([sys.executable, RUNNER, *args], env, cwd)


def run_command(args, env: Dict[str, str], cwd: str) -> str:
  """Runs a command; its stdout, or AssertionError with the end of both
  streams."""
  result = subprocess.run(list(args), env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=1500)
  if result.returncode:
    raise AssertionError(f'{args} failed ({result.returncode}):\n'
                         f'{result.stdout[-4000:]}\n{result.stderr[-6000:]}')
  return result.stdout


def rerun_through_tfx_cli(run: PipelineRun, local_home: str) -> str:
  """`tfx pipeline create` + `tfx run create` (local engine) on the same
  output directory and data as `run`; the run's stdout."""
  env = dict(run.env, LOCAL_HOME=local_home)
  tfx_cli = os.path.join(BIN, 'tfx')
  created = run_command([tfx_cli, 'pipeline', 'create', '--engine=local',
                         f'--pipeline_path={RUNNER}'], env, run.cwd)
  assert 'Pipeline "imdb_sentiment" created successfully.' in created, created
  return run_command([tfx_cli, 'run', 'create', '--engine=local',
                      '--pipeline_name=imdb_sentiment'], env, run.cwd)


def run_small_pipeline(root) -> PipelineRun:
  """The whole pipeline on a generated corpus (learnable: it is blessed)."""
  archive = imdb_data.write_archive(
      str(root / 'aclImdb_small.tar.gz'),
      imdb_data.generated_corpus({'train': 150, 'test': 50}, seed=3))
  env = dict(os.environ, IMDB_DATA=archive,
             OUTPUT_DIR=str(root / 'outputs'))
  env.pop('VERBOSE', None)
  env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
  stdout = run_runner(env, str(root))
  return PipelineRun(config_lib.from_args([], environ=env), env, str(root),
                     stdout)
