"""A Beam "cluster" on this machine, on loopback only: `make beam-cluster`.

Two services from the Beam Python package, each in a process of its own:

- Beam's portable job service (`local_job_service_main`'s servicer): takes
  jobs from PortableRunner, as Flink's and Spark's job servers do, and runs
  them by handing bundles to workers;
- an external worker pool (`worker_pool_main`'s servicer): starts one SDK
  worker process (orchestration/beam/worker.py) per worker the job service asks
  for: BEAM_WORKERS per job (`--sdk_worker_parallelism`, which Beam's own
  Python job service ignores and this one honours).

    python -m orchestration.beam.cluster start [--dir D] [--job-port P]
        [--worker-pool-port P]
    python -m orchestration.beam.cluster status|stop [--dir D]

then `BEAM_PROFILE=portable make run`. Pid files, chosen ports and logs go to
`outputs/beam-cluster/`. Beam's own entry points bind every interface (the
worker pool `[::]`, each job's control/data/state/logging servers `[::]` too);
here each service is started by this module instead, bound to 127.0.0.1.
"""

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import time
from typing import Dict, Optional

from orchestration.beam import profiles as beam_profiles

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_DIR = os.path.join(PROJECT_ROOT, 'outputs', 'beam-cluster')
JOB_SERVICE, WORKER_POOL = 'job-service', 'worker-pool'
_SERVICES = (JOB_SERVICE, WORKER_POOL)
_START_TIMEOUT_S = 120
_STOP_TIMEOUT_S = 15


@dataclasses.dataclass(frozen=True)
class Cluster:
  job_endpoint: str
  worker_pool: str

  @property
  def settings(self) -> Dict[str, str]:
    """The environment that points the portable profile at this cluster."""
    return {'BEAM_PROFILE': beam_profiles.PORTABLE,
            'BEAM_JOB_ENDPOINT': self.job_endpoint,
            'BEAM_WORKER_POOL': self.worker_pool}


class ClusterError(RuntimeError):
  pass


def _path(cluster_dir: str, service: str, suffix: str) -> str:
  return os.path.join(cluster_dir, f'{service}.{suffix}')


def _address(port: int) -> str:
  return f'{beam_profiles.LOOPBACK}:{port}'


def worker_environment(environ=None) -> Dict[str, str]:
  """The services' (and so the workers') environment.

  The worker pool starts each worker as a bare `python`: this interpreter's
  bin directory goes first on PATH. Workers import this project's modules
  (the preprocessing_fn, the example parser): the project root goes first on
  PYTHONPATH. tf.keras must be Keras 2 there as everywhere.
  """
  env = dict(os.environ if environ is None else environ)
  env['PATH'] = os.pathsep.join(
      [os.path.dirname(sys.executable)]
      + [p for p in env.get('PATH', '').split(os.pathsep) if p])
  env['PYTHONPATH'] = os.pathsep.join(
      [PROJECT_ROOT]
      + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
  env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  return env


def _running_pid(cluster_dir: str, service: str) -> Optional[int]:
  """The pid of the service started from `cluster_dir`, if it still runs."""
  try:
    with open(_path(cluster_dir, service, 'pid')) as f:
      pid = int(f.read())
    # A recycled pid belongs to another program: only ours is ours.
    with open(f'/proc/{pid}/cmdline', 'rb') as f:
      if b'orchestration.beam.cluster' not in f.read():
        return None
  except (OSError, ValueError):
    return None
  return pid


def status(cluster_dir: str = DEFAULT_DIR) -> Optional[Cluster]:
  """The running cluster started from `cluster_dir`, or None."""
  ports = {}
  for service in _SERVICES:
    if _running_pid(cluster_dir, service) is None:
      return None
    try:
      with open(_path(cluster_dir, service, 'port')) as f:
        ports[service] = int(f.read())
    except (OSError, ValueError):
      return None
  return Cluster(_address(ports[JOB_SERVICE]), _address(ports[WORKER_POOL]))


def _tail(path: str, size: int = 3000) -> str:
  try:
    with open(path, 'rb') as f:
      f.seek(0, os.SEEK_END)
      f.seek(max(0, f.tell() - size))
      return f.read().decode(errors='replace')
  except OSError:
    return ''


def start(cluster_dir: str = DEFAULT_DIR,
          job_port: int = beam_profiles.DEFAULT_JOB_PORT,
          worker_pool_port: int = beam_profiles.DEFAULT_WORKER_POOL_PORT,
          environ=None, owner_pid: Optional[int] = None) -> Cluster:
  """Starts both services in the background (port 0: any free port) and
  waits until they listen. Already running from `cluster_dir`: that one.

  With `owner_pid` (a test's or a benchmark's process) the services also
  stop by themselves once that process is gone, however it ended.
  """
  running = status(cluster_dir)
  if running:
    return running
  stop(cluster_dir)  # whatever half of a previous one is left
  os.makedirs(cluster_dir, exist_ok=True)
  env = worker_environment(environ)
  processes = {}
  for service, port in ((JOB_SERVICE, job_port),
                        (WORKER_POOL, worker_pool_port)):
    for suffix in ('pid', 'port'):
      if os.path.exists(_path(cluster_dir, service, suffix)):
        os.remove(_path(cluster_dir, service, suffix))
    with open(_path(cluster_dir, service, 'log'), 'wb') as log:
      # A session of its own: `stop` ends the service and its workers
      # together, and a Ctrl-C meant for `make` does not reach them.
      process = subprocess.Popen(
          [sys.executable, '-m', 'orchestration.beam.cluster', 'serve', service,
           '--port', str(port), '--port-file',
           _path(cluster_dir, service, 'port')]
          + (['--owner-pid', str(owner_pid)] if owner_pid else []),
          env=env, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=log,
          stderr=subprocess.STDOUT, start_new_session=True)
    with open(_path(cluster_dir, service, 'pid'), 'w') as f:
      f.write(str(process.pid))
    processes[service] = process
  deadline = time.time() + _START_TIMEOUT_S
  while time.time() < deadline:
    for service, process in processes.items():
      if process.poll() is not None:
        stop(cluster_dir)
        raise ClusterError(
            f'the Beam {service} exited ({process.returncode}) while '
            f'starting; end of {_path(cluster_dir, service, "log")}:\n'
            + _tail(_path(cluster_dir, service, 'log')))
    cluster = status(cluster_dir)
    if cluster:
      return cluster
    time.sleep(0.2)
  stop(cluster_dir)
  raise ClusterError(f'the Beam services did not start in {_START_TIMEOUT_S}'
                     f' s; see the logs in {cluster_dir}')


def stop(cluster_dir: str = DEFAULT_DIR) -> bool:
  """Stops the services started from `cluster_dir` and their workers; True if
  any was running."""
  pids = [pid for pid in (_running_pid(cluster_dir, s) for s in _SERVICES)
          if pid is not None]
  for pid in pids:
    # The process group: the service and the worker processes it started.
    _signal_group(pid, signal.SIGTERM)
  deadline = time.time() + _STOP_TIMEOUT_S
  for pid in pids:
    while time.time() < deadline and _group_alive(pid):
      time.sleep(0.1)
    if _group_alive(pid):
      _signal_group(pid, signal.SIGKILL)
  for service in _SERVICES:
    for suffix in ('pid', 'port'):
      if os.path.exists(_path(cluster_dir, service, suffix)):
        os.remove(_path(cluster_dir, service, suffix))
  return bool(pids)


def _signal_group(pid: int, signum: int) -> None:
  try:
    os.killpg(pid, signum)
  except ProcessLookupError:
    pass


def _group_alive(pid: int) -> bool:
  try:
    os.killpg(pid, 0)
  except ProcessLookupError:
    return False
  # Our own child that has exited but not been reaped counts as gone.
  try:
    reaped, _ = os.waitpid(pid, os.WNOHANG)
    return not reaped
  except ChildProcessError:
    return True


# --- The services themselves (`serve`), each in its own process.


def _loopback_only() -> None:
  """Makes every gRPC server of this process bind 127.0.0.1, and workers
  reach the job's servers there.

  Beam 2.59 binds each job's control, data, state and logging servers to
  `[::]:0` and hands workers this machine's fully qualified name; nothing
  here is meant to be reachable from elsewhere.
  """
  # pylint: disable=g-import-not-at-top
  import grpc
  from apache_beam.runners.portability.fn_api_runner import worker_handlers
  # pylint: enable=g-import-not-at-top
  make_server = grpc.server

  def loopback_server(*args, **kwargs):
    server = make_server(*args, **kwargs)
    add_insecure_port = server.add_insecure_port
    server.add_insecure_port = lambda address: add_insecure_port(
        _address(address.rpartition(':')[2]))
    return server

  grpc.server = loopback_server
  worker_handlers.ExternalWorkerHandler.host_from_worker = (
      lambda self: beam_profiles.LOOPBACK)


def _serve_job_service(port: int) -> int:
  # pylint: disable=g-import-not-at-top
  from apache_beam.options import pipeline_options
  from apache_beam.portability.api import beam_job_api_pb2
  from apache_beam.runners.portability import local_job_service
  from apache_beam.runners.portability.fn_api_runner import fn_runner
  # pylint: enable=g-import-not-at-top

  class ParallelBeamJob(local_job_service.BeamJob):
    """Runs each stage on `--sdk_worker_parallelism` workers, as a Flink
    task manager would; Beam's own Python job service always uses one."""

    def _invoke_runner(self):
      self.set_state(beam_job_api_pb2.JobState.RUNNING)
      options = self.pipeline_options()
      # Options arrive as strings; 0 means "the runner chooses".
      workers = int(options.view_as(
          pipeline_options.PortableOptions).sdk_worker_parallelism or 1)
      runner = fn_runner.FnApiRunner(provision_info=self._provision_info)
      # pylint: disable-next=protected-access
      runner._num_workers = workers or os.cpu_count()
      return runner.run_via_runner_api(self._pipeline_proto, options)

  class LoopbackJobServicer(local_job_service.LocalJobServicer):
    # Also the artifact staging endpoint it tells clients.
    def get_service_address(self):
      return beam_profiles.LOOPBACK

  servicer = LoopbackJobServicer(beam_job_type=ParallelBeamJob)
  return servicer.start_grpc_server(port)


def _serve_worker_pool(port: int, work_dir: str) -> int:
  # pylint: disable=g-import-not-at-top
  from apache_beam.runners.worker import worker_pool_main
  # pylint: enable=g-import-not-at-top
  # The pool runs one executable, with the arguments of Beam's SDK container
  # boot: orchestration/beam/worker.py, which also installs the job's staged
  # packages (Beam's default bare `python` worker does not).
  boot = os.path.join(work_dir, 'beam-worker-boot')
  with open(boot, 'w') as f:
    f.write('#!/bin/sh\n'
            f'exec {sys.executable} -m orchestration.beam.worker "$@"\n')
  os.chmod(boot, 0o755)
  # Workers are processes (threads would share one GIL).
  address, _ = worker_pool_main.BeamFnExternalWorkerPoolServicer.start(
      use_process=True, port=port, container_executable=boot)
  # Its server serves until this process ends.
  return int(address.rpartition(':')[2])


def serve(service: str, port: int, port_file: str,
          owner_pid: Optional[int] = None) -> None:
  # pylint: disable=g-import-not-at-top
  import logging
  # pylint: enable=g-import-not-at-top
  logging.basicConfig(level=logging.INFO)
  _loopback_only()
  bound = (_serve_job_service(port) if service == JOB_SERVICE
           else _serve_worker_pool(port, os.path.dirname(port_file)))
  # Written last and atomically: its presence means "listening".
  with open(port_file + '.tmp', 'w') as f:
    f.write(str(bound))
  os.replace(port_file + '.tmp', port_file)
  print(f'Beam {service} listening on {_address(bound)}', flush=True)
  # sys.exit runs the worker pool's atexit hook, which stops its workers.
  signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
  while owner_pid is None or _alive(owner_pid):
    time.sleep(1 if owner_pid else 3600)
  sys.exit(0)


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  return True


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  commands = parser.add_subparsers(dest='command', required=True)
  for command in ('start', 'status', 'stop'):
    sub = commands.add_parser(command)
    sub.add_argument('--dir', default=DEFAULT_DIR,
                     help='pid files, ports and logs (default %(default)s)')
    if command == 'start':
      sub.add_argument('--job-port', type=int,
                       default=beam_profiles.DEFAULT_JOB_PORT)
      sub.add_argument('--worker-pool-port', type=int,
                       default=beam_profiles.DEFAULT_WORKER_POOL_PORT)
  serve_parser = commands.add_parser('serve', help='(internal) one service')
  serve_parser.add_argument('service', choices=_SERVICES)
  serve_parser.add_argument('--port', type=int, required=True)
  serve_parser.add_argument('--port-file', required=True)
  serve_parser.add_argument('--owner-pid', type=int,
                            help='stop when this process is gone')
  args = parser.parse_args(argv)

  if args.command == 'serve':
    serve(args.service, args.port, args.port_file, args.owner_pid)
  elif args.command == 'start':
    try:
      cluster = start(args.dir, args.job_port, args.worker_pool_port)
    except ClusterError as e:
      print(f'error: {e}', file=sys.stderr)
      return 1
    print(f'Beam job service: {cluster.job_endpoint}\n'
          f'Beam worker pool: {cluster.worker_pool}\n'
          f'Logs and pid files: {args.dir}\n'
          f'Run on it: BEAM_PROFILE=portable make run '
          f'(BEAM_JOB_ENDPOINT={cluster.job_endpoint} '
          f'BEAM_WORKER_POOL={cluster.worker_pool}); '
          'stop it: make beam-cluster-stop')
  elif args.command == 'status':
    cluster = status(args.dir)
    print(f'running: job service {cluster.job_endpoint}, worker pool '
          f'{cluster.worker_pool}' if cluster else 'not running')
    return 0 if cluster else 3
  else:
    print('stopped' if stop(args.dir) else 'not running')
  return 0


if __name__ == '__main__':
  sys.exit(main())
