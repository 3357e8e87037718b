"""Beam flags given to the components when they run, not written in the
pipeline.

TFX's cache key of a component hashes its executor spec, and a Beam
component's Beam flags are part of that spec. Written in the pipeline, a
change of Beam profile (how the work is done, not what is computed) would
change every Beam component's key: ExampleGen would ingest identical data
again, and everything after it would follow, down to a new pushed version
trained on the same reviews. So, where the orchestrator resolves TFX
placeholders at run time, the pipeline holds the same SLOTS environment-
variable placeholders whatever the profile (`placeholders()`), and the
runner sets the variables to the flags before it runs the pipeline
(`environment()`); TFX's BeamExecutorOperator resolves them when a component
starts.
"""

import contextlib
import os
from typing import Dict, Iterator, List, Sequence

from tfx.dsl.placeholder import placeholder as ph

SLOTS = 32
_VARIABLE = 'IMDB_BEAM_PIPELINE_ARG_{}'
_RUNNER_FLAG = '--runner='


def placeholders() -> List[ph.Placeholder]:
  """The pipeline's Beam flags: one environment placeholder per slot."""
  return [ph.environment_variable(_VARIABLE.format(i)) for i in range(SLOTS)]


def environment(beam_args: Sequence[str]) -> Dict[str, str]:
  """The variables that make `placeholders()` resolve to `beam_args`.

  The slots after the last flag repeat the `--runner=` flag: every flag
  list names its runner (orchestration/beam/profiles.py), and Beam takes the
  last value of a repeated flag, the same one here.
  """
  beam_args = list(beam_args)
  if len(beam_args) > SLOTS:
    raise ValueError(f'{len(beam_args)} Beam flags; at most {SLOTS} can be '
                     'given at run time')
  runners = [arg for arg in beam_args if arg.startswith(_RUNNER_FLAG)]
  if not runners:
    raise ValueError(f'the Beam flags name no {_RUNNER_FLAG}: {beam_args}')
  padded = beam_args + [runners[-1]] * (SLOTS - len(beam_args))
  return {_VARIABLE.format(i): arg for i, arg in enumerate(padded)}


@contextlib.contextmanager
def in_environment(beam_args: Sequence[str]) -> Iterator[None]:
  """Sets `environment(beam_args)` in this process for the run, then
  restores what was there."""
  variables = environment(beam_args)
  saved = {key: os.environ.get(key) for key in variables}
  os.environ.update(variables)
  try:
    yield
  finally:
    for key, value in saved.items():
      if value is None:
        os.environ.pop(key, None)
      else:
        os.environ[key] = value
