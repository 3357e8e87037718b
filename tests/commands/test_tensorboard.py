"""`make tensorboard` starts from the project's venv and answers on loopback
with the Trainer's runs (setuptools 81 had removed the pkg_resources
TensorBoard 2.16 imports: it could not start at all)."""

import json
import os
import socket
import subprocess
import time
import urllib.request

import tensorflow as tf

from helpers import imdb_data


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def test_make_tensorboard_serves_the_trainer_runs(tmp_path):
  logdir = tmp_path / 'Trainer' / 'model_run'
  writer = tf.summary.create_file_writer(str(logdir / '7' / 'train'))
  with writer.as_default():
    tf.summary.scalar('epoch_loss', 0.5, step=0)
  writer.close()
  port = _free_port()
  server = subprocess.Popen(
      ['make', '-s', 'tensorboard', f'TENSORBOARD_PORT={port}',
       f'TENSORBOARD_LOGDIR={logdir}'], cwd=imdb_data.PROJECT_ROOT,
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
  try:
    deadline, runs = time.time() + 120, None
    while time.time() < deadline and server.poll() is None:
      try:
        with urllib.request.urlopen(
            f'http://127.0.0.1:{port}/data/runs', timeout=5) as answer:
          runs = json.loads(answer.read())
        if runs:
          break
      except OSError:
        pass
      time.sleep(1)
    assert server.poll() is None, server.stdout.read().decode()[-3000:]
    assert runs == ['7/train'], runs
  finally:
    os.killpg(server.pid, 15)
    server.wait(timeout=30)
