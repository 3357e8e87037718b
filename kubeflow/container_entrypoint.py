"""The command of every component container on Kubeflow:

    python -m kubeflow.container_entrypoint MODULE ARG...

runs `python -m MODULE ARG...` (TFX's KFP v2 executor entrypoint, as TFX's
compiler writes it) and exits with its status through
`object_storage.exit_now`: with tensorflow-io 0.37.1 a process that used S3
aborts in C++ static destructors after finishing its work (exit status 134),
and KFP would mark the step failed. kubeflow/runner.py puts this in front
of TFX's command in the compiled spec.
"""

import runpy
import sys
import traceback
from typing import List

# First: it makes tf.keras Keras 2 for TFX's entrypoint (see orchestration/).
from orchestration import object_storage


def exit_status(code) -> int:
  """The status `sys.exit(code)` would end a process with."""
  if code is None:
    return 0
  if isinstance(code, int):
    return code
  print(code, file=sys.stderr)
  return 1


def run_module(argv: List[str]) -> int:
  """Runs MODULE as `python -m` does, with ARG... as its arguments."""
  if not argv:
    print('usage: python -m kubeflow.container_entrypoint MODULE [ARG...]',
          file=sys.stderr)
    return 2
  module, *args = argv
  sys.argv = [module, *args]
  try:
    runpy.run_module(module, run_name='__main__', alter_sys=True)
  except SystemExit as e:
    return exit_status(e.code)
  except Exception:  # pylint: disable=broad-except
    traceback.print_exc()
    return 1
  return 0


if __name__ == '__main__':
  object_storage.exit_now(run_module(sys.argv[1:]))
