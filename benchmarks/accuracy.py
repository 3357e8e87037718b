"""Accuracy of model variants, trained in seconds from a token-id cache.

Tokenizes the ImdbExampleGen splits once with the project's own functions
(models/preprocessing.py), counts the `train` vocabulary as
models/vocabulary.py does (term frequency, at least 2, sorted by count, then
reverse lexicographically) and caches every review's distinct n-gram ids in
--cache. Any vocabulary size and n-gram length up to 3 is then a truncation
of that cache, with the naive-Bayes ratios recomputed as the Transform graph
computes them. Each variant is the project's `build_model`, early-stopped on
the `eval` loss; `test` is printed beside it, for the record, not to choose.
Not the Trainer (a full shuffle, no Transform graph): verify a winner with
benchmarks/tokenization.py, which runs run_fn and scores serving_default.

  python -m benchmarks.accuracy --examples EXAMPLES --ngram-max 3 \
      --vocabulary-size 400000 --set sentiment_heads=4 --seed 42 --seed 43
"""

import argparse
import collections
import json
import os
import sys
import time

# pylint: disable=g-import-not-at-top
import orchestration  # pylint: disable=unused-import  (Keras 2, first)
import numpy as np
import tensorflow as tf

import contract
from models import model as model_lib
from models import model_interface
from models import preprocessing
from models import settings
from models import vocabulary

_SPLITS = (contract.TRAIN_SPLIT, contract.EVAL_SPLIT, contract.TEST_SPLIT)
_SPEC = {contract.TEXT_KEY: tf.io.FixedLenFeature([], tf.string),
         contract.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
         contract.RATING_KEY: tf.io.FixedLenFeature([], tf.int64)}


def _grams(text):
  words = preprocessing.split_words(text)[:, :contract.DEFAULT_MAX_WORDS]
  return [preprocessing.ngrams(words, 1)] + [
      tf.strings.ngrams(words, n, separator=' ') for n in (2, 3)]


def build_cache(examples: str, cache: str) -> None:
  """Full-vocabulary ids of every split; OOV: V (uni/bigrams), V+1 (tri)."""
  batches = {s: list(tf.data.TFRecordDataset(
      tf.io.gfile.glob(os.path.join(examples, f'Split-{s}', '*')),
      compression_type='GZIP').batch(500).map(
          lambda r: tf.io.parse_example(r, _SPEC))) for s in _SPLITS}
  counts = collections.Counter()
  for batch in batches[contract.TRAIN_SPLIT]:
    for grams in _grams(batch[contract.TEXT_KEY]):
      terms, _, n = tf.unique_with_counts(grams.values)
      counts.update(dict(zip(terms.numpy().tolist(), n.numpy().tolist())))
  terms = vocabulary.top_terms(counts, len(counts),
                               contract.DEFAULT_VOCABULARY_MIN_FREQUENCY)
  size = len(terms)
  os.makedirs(cache, exist_ok=True)
  np.save(os.path.join(cache, 'order.npy'),
          np.array([t.count(b' ') + 1 for t in terms], np.int8))
  table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
      tf.constant(terms), tf.range(size, dtype=tf.int64)), -1)
  for split, split_batches in batches.items():
    ids, lengths, labels, ratings = [], [], [], []
    for batch in split_batches:
      parts = [tf.where(found < 0, tf.constant(size + (n == 3), tf.int64),
                        found)
               for n, found in zip((1, 2, 3), map(
                   table.lookup, _grams(batch[contract.TEXT_KEY])))]
      row_ids = preprocessing.unique_per_row(tf.concat(parts, 1), size + 2)
      ids.append(row_ids.values.numpy().astype(np.int32))
      lengths.append(row_ids.row_lengths().numpy())
      labels.append(batch[contract.LABEL_KEY].numpy())
      ratings.append(batch[contract.RATING_KEY].numpy())
    np.savez(os.path.join(cache, f'{split}.npz'), ids=np.concatenate(ids),
             lengths=np.concatenate(lengths), label=np.concatenate(labels),
             rating=np.concatenate(ratings))


def features(cache: str, ngram_max: int, vocabulary_size: int):
  """Per split the ids of a top-`vocabulary_size` vocabulary of n-grams up
  to `ngram_max` (OOV: one bucket), their NB ratios, labels and ratings."""
  order = np.load(os.path.join(cache, 'order.npy'))
  size, num_ids = len(order), vocabulary_size + 1
  allowed = order <= ngram_max
  rank = np.cumsum(allowed) - 1
  new_id = np.full(size + 2, -1, np.int64)
  new_id[:size] = np.where(allowed, np.minimum(rank, vocabulary_size), -1)
  new_id[size] = vocabulary_size
  new_id[size + 1] = vocabulary_size if ngram_max >= 3 else -1
  splits = {}
  for split in _SPLITS:
    raw = dict(np.load(os.path.join(cache, f'{split}.npz')))
    rows = np.repeat(np.arange(len(raw['lengths'])), raw['lengths'])
    ids = new_id[raw['ids']]
    keys = np.unique(rows[ids >= 0] * num_ids + ids[ids >= 0])
    splits[split] = {'ids': keys % num_ids,
                     'lengths': np.bincount(keys // num_ids,
                                            minlength=len(raw['lengths'])),
                     'label': raw['label'], 'rating': raw['rating']}
  train = splits[contract.TRAIN_SPLIT]
  positive = train['label'][np.repeat(np.arange(len(train['lengths'])),
                                      train['lengths'])] == 1
  smoothing = contract.DEFAULT_NB_SMOOTHING
  counts = [np.bincount(train['ids'][mask], minlength=num_ids).astype(
      np.float32) for mask in (positive, ~positive)]
  ratio = preprocessing.log_count_ratio(
      counts[0], counts[1],
      np.float32(positive.sum() + smoothing * num_ids),
      np.float32((~positive).sum() + smoothing * num_ids), smoothing).numpy()
  for split in splits.values():
    split['weights'] = ratio[split['ids']]
  return splits, num_ids


def _inputs(split):
  return {key: tf.RaggedTensor.from_row_lengths(split[name], split['lengths'])
          for key, name in ((contract.TOKEN_IDS_KEY, 'ids'),
                            (contract.TOKEN_WEIGHTS_KEY, 'weights'))}


def train_and_score(splits, num_ids, params, seed):
  """Epochs until the eval loss stops falling (patience as configured);
  the best epoch's eval and test accuracy."""
  tf.keras.utils.set_random_seed(seed)
  model = model_lib.build_model(
      num_ids, params['embedding_dim'], params['token_dropout'],
      params['learning_rate'], params['rating_loss_weight'],
      sentiment_heads=params['sentiment_heads'])
  train = splits[contract.TRAIN_SPLIT]
  targets = model_interface.targets(train['label'], train['rating'])
  dataset = tf.data.Dataset.from_tensor_slices((_inputs(train), targets)
                                               ).shuffle(len(train['label']),
                                                         seed=seed)
  dataset = dataset.ragged_batch(params['batch_size'])
  best, start, history = None, time.time(), []
  for epoch in range(1, params['epochs'] + 1):
    model.fit(dataset, epochs=1, verbose=0)
    row = {'epoch': epoch, 'seconds': round(time.time() - start, 1)}
    for split in (contract.EVAL_SPLIT, contract.TEST_SPLIT):
      p = model.predict(tf.data.Dataset.from_tensor_slices(
          _inputs(splits[split])).ragged_batch(512), verbose=0)[
              contract.PROBABILITY_OUTPUT_KEY][:, 0].astype(np.float64)
      y = splits[split]['label']
      row[f'{split}_accuracy'] = float(np.mean((p >= 0.5) == y))
      if split == contract.EVAL_SPLIT:
        p = np.clip(p, 1e-7, 1 - 1e-7)
        row['eval_loss'] = float(-np.mean(y * np.log(p)
                                          + (1 - y) * np.log(1 - p)))
    history.append(row)
    print(json.dumps(row), flush=True)
    if best is None or row['eval_loss'] < best['eval_loss']:
      best = row
    elif epoch - best['epoch'] >= params['early_stopping_patience']:
      break
  return best, history


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--examples', required=True,
                      help='an ImdbExampleGen output (Split-train/eval/test)')
  parser.add_argument('--cache', default='outputs/bench/accuracy-cache')
  parser.add_argument('--ngram-max', type=int,
                      default=contract.DEFAULT_NGRAM_MAX)
  parser.add_argument('--vocabulary-size', type=int,
                      default=contract.DEFAULT_VOCABULARY_SIZE)
  parser.add_argument('--seed', type=int, action='append')
  parser.add_argument('--set', action='append', default=[],
                      metavar='NAME=VALUE', help='a hyperparameter override')
  parser.add_argument('--threads', type=int, default=1)
  args = parser.parse_args(argv)
  tf.config.threading.set_intra_op_parallelism_threads(args.threads)
  tf.config.threading.set_inter_op_parallelism_threads(args.threads)
  if not os.path.exists(os.path.join(args.cache, 'test.npz')):
    build_cache(args.examples, args.cache)
  splits, num_ids = features(args.cache, args.ngram_max, args.vocabulary_size)
  params = settings.hyperparameters(dict(s.split('=', 1) for s in args.set))
  for seed in args.seed or [params['seed']]:
    best, _ = train_and_score(splits, num_ids, params, seed)
    # `seed`: the one this model was trained with, over the setting's.
    print(json.dumps({'ngram_max': args.ngram_max,
                      'vocabulary_size': args.vocabulary_size,
                      **{k: params[k] for k in settings.HYPERPARAMETERS
                         if k != 'pretrained_embeddings'}, 'seed': seed,
                      'best': best}))
  return 0


if __name__ == '__main__':
  sys.exit(main())
