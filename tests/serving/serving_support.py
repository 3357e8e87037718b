"""Helpers of the serving tests: tiny SavedModels with the served contract,
pushing a version, HTTP calls, and the local model server on a loopback
port."""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import tensorflow as tf

from helpers import imdb_data
import contract

SERVING_VENV = os.environ.get(
    'SERVING_VENV', os.path.join(imdb_data.PROJECT_ROOT, '.venv-serving'))
# Version -> P(positive) its tiny model answers, so the answer shows which
# version answered.
TINY_VERSIONS = {1: 0.25, 2: 0.75}


class TinyModel(tf.Module):
  """Raw text in (serving_default), serialized tf.Examples in
  (from_examples), two inputs of two dtypes (pair); an asset (the label
  names, read by a lookup table when loading) and a variable, as the real
  model has."""

  def __init__(self, probability: float, labels_path: str):
    super().__init__()
    self.probability = tf.Variable(probability)
    self.labels = tf.lookup.StaticHashTable(
        tf.lookup.TextFileInitializer(
            labels_path, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
            tf.string, tf.lookup.TextFileIndex.WHOLE_LINE), 'unknown')

  @tf.function(input_signature=[tf.TensorSpec(
      [None], tf.string, name=contract.SERVING_INPUT_KEY)])
  def serve(self, text):
    probability = tf.fill(tf.shape(text)[:1], self.probability)
    return {contract.PROBABILITY_OUTPUT_KEY: probability,
            contract.LABEL_OUTPUT_KEY: self.labels.lookup(
                tf.cast(probability > 0.5, tf.int64)),
            'length': tf.strings.length(text)}

  @tf.function(input_signature=[tf.TensorSpec(
      [None], tf.string, name=contract.EXAMPLES_INPUT_KEY)])
  def from_examples(self, examples):
    features = tf.io.parse_example(
        examples, {contract.TEXT_KEY: tf.io.FixedLenFeature([], tf.string)})
    return self.serve(features[contract.TEXT_KEY])

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='a'),
                                tf.TensorSpec([None, 2], tf.float32,
                                              name='b')])
  def pair(self, a, b):
    return {'score': b[:, 0] + tf.cast(tf.strings.length(a), tf.float32)}


def write_tiny_model(model_dir: str, probability: float) -> None:
  os.makedirs(os.path.dirname(model_dir), exist_ok=True)
  labels_path = os.path.join(os.path.dirname(model_dir), 'labels.txt')
  with open(labels_path, 'w') as f:
    f.write('\n'.join(contract.LABEL_NAMES) + '\n')
  module = TinyModel(probability, labels_path)
  tf.saved_model.save(module, model_dir, signatures={
      contract.SERVING_SIGNATURE: module.serve.get_concrete_function(),
      contract.EXAMPLES_SIGNATURE:
          module.from_examples.get_concrete_function(),
      'pair': module.pair.get_concrete_function()})
  os.remove(labels_path)


def push(serving_dir, version: int, like: int, tiny_models) -> None:
  staging = serving_dir.parent / f'.staging-{version}'
  shutil.copytree(tiny_models[like], staging)
  os.rename(staging, serving_dir / str(version))


def free_loopback_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def http(method: str, url: str, body=None, timeout_s: float = 30):
  """(HTTP status, decoded JSON body) of one request; `body` is sent as is
  if bytes, else as JSON."""
  data = None
  if body is not None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
  request = urllib.request.Request(url, data=data, method=method)
  try:
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
      return response.status, json.loads(response.read())
  except urllib.error.HTTPError as e:
    return e.code, json.loads(e.read())


def wait_for(condition, what: str, timeout_s: float = 60):
  deadline = time.monotonic() + timeout_s
  while time.monotonic() < deadline:
    try:
      value = condition()
      if value:
        return value
    except (OSError, ValueError):
      pass
    time.sleep(0.2)
  raise AssertionError(f'timed out after {timeout_s} s waiting for {what}')


class Server:
  """The local model server in its venv on a free loopback port."""

  def __init__(self, python: str, serving_dir, log_path, *args: str):
    self.port = free_loopback_port()
    self.url = f'http://127.0.0.1:{self.port}'
    self.model_url = f'{self.url}/v1/models/{contract.MODEL_NAME}'
    self.log_path = log_path
    with open(log_path, 'wb') as log:
      self.process = subprocess.Popen(
          [python, '-m', 'serving.model_server', '--serving-dir',
           str(serving_dir), '--port', str(self.port), *args],
          cwd=imdb_data.PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))

  def log(self) -> str:
    return self.log_path.read_text(errors='replace')

  def wait_until_serving(self, timeout_s: float = 180):
    def serving():
      if self.process.poll() is not None:
        raise AssertionError(f'the model server exited '
                             f'({self.process.returncode}):\n'
                             f'{self.log()[-3000:]}')
      status, body = http('GET', self.model_url, timeout_s=5)
      return status == 200 and any(
          v['state'] == 'AVAILABLE' for v in body['model_version_status'])
    wait_for(serving, 'the model server to serve a version', timeout_s)

  def stop(self):
    self.process.terminate()
    try:
      self.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
      self.process.kill()
      self.process.wait()
