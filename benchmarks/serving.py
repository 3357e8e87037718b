"""Serving figures of a SavedModel, measured in a fresh process.

Loads only the SavedModel (as a server does; no project code involved in the
graph) and times its `serving_default` signature on raw review text:
batch-1 latency percentiles and reviews per second at batch 256, from one
stream of requests and from as many concurrent streams as the machine has
cores (how a server is loaded: TF Serving runs requests side by side, and each
text op runs on one core). Prints one JSON object.

  python -m benchmarks.serving --model-dir outputs/serving/imdb_sentiment/N \
      --texts-from-examples '.../ImdbExampleGen/examples/N/Split-test/*'
"""

import argparse
import json
import os
import sys
import threading
import time


# pylint: disable=g-import-not-at-top
import orchestration  # pylint: disable=unused-import  (Keras 2, first)
import numpy as np
import tensorflow as tf

import contract


def read_texts(pattern: str, limit: int):
  files = sorted(tf.io.gfile.glob(pattern))
  if not files:
    raise SystemExit(f'error: {pattern}: no example files')
  spec = {contract.TEXT_KEY: tf.io.FixedLenFeature([], tf.string)}
  dataset = tf.data.TFRecordDataset(files, compression_type='GZIP')
  return [tf.io.parse_single_example(record, spec)[contract.TEXT_KEY].numpy()
          for record in dataset.take(limit)]


def measure(model_dir: str, texts, single_requests: int, batch_size: int,
            batches: int):
  serve = tf.saved_model.load(model_dir).signatures[contract.SERVING_SIGNATURE]

  def predict(batch):
    return serve(**{contract.SERVING_INPUT_KEY: tf.constant(batch)})

  for text in texts[:20]:  # warm-up: tracing, table initialization
    predict([text])
  latencies = []
  for i in range(single_requests):
    start = time.perf_counter()
    predict([texts[i % len(texts)]])
    latencies.append(time.perf_counter() - start)
  batch_list = [[texts[(b * batch_size + i) % len(texts)]
                 for i in range(batch_size)] for b in range(batches)]
  predict(batch_list[0])
  start = time.perf_counter()
  for batch in batch_list:
    predict(batch)
  seconds = time.perf_counter() - start
  streams = os.cpu_count() or 1
  concurrent_seconds = _concurrently(predict, batch_list, streams)
  latencies_ms = np.array(latencies) * 1000
  return {
      'batch1_requests': single_requests,
      'batch1_latency_p50_ms': float(np.percentile(latencies_ms, 50)),
      'batch1_latency_p99_ms': float(np.percentile(latencies_ms, 99)),
      f'batch{batch_size}_reviews_per_second': batch_size * batches / seconds,
      'concurrent_streams': streams,
      f'batch{batch_size}_concurrent_reviews_per_second':
          batch_size * batches * streams / concurrent_seconds,
      'mean_review_bytes': float(np.mean([len(t) for t in texts])),
  }


def _concurrently(predict, batch_list, streams: int) -> float:
  """Seconds for `streams` threads to each send every batch once."""
  # TensorFlow releases the GIL inside its ops, so threads overlap the way a
  # server's request threads do.
  barrier = threading.Barrier(streams + 1)

  def send_all():
    barrier.wait()
    for batch in batch_list:
      predict(batch)

  threads = [threading.Thread(target=send_all) for _ in range(streams)]
  for thread in threads:
    thread.start()
  barrier.wait()
  start = time.perf_counter()
  for thread in threads:
    thread.join()
  return time.perf_counter() - start


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--model-dir', required=True)
  parser.add_argument('--texts-from-examples', required=True,
                      help='file pattern of gzipped tf.Examples (a split)')
  parser.add_argument('--single-requests', type=int, default=1000)
  parser.add_argument('--batch-size', type=int, default=256)
  parser.add_argument('--batches', type=int, default=100,
                      help='batches per stream (fewer gives noisier figures)')
  args = parser.parse_args(argv)
  texts = read_texts(args.texts_from_examples, 2500)
  print(json.dumps(measure(args.model_dir, texts, args.single_requests,
                           args.batch_size, args.batches)))
  return 0


if __name__ == '__main__':
  sys.exit(main())
