"""Pretrained word vectors (GloVe or word2vec text files) as the starting
point of the n-gram embedding table (`pretrained_embeddings`)."""

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf
from absl import logging


def read_word_vectors(path: str) -> Dict[str, np.ndarray]:
  """A GloVe or word2vec text file: `word v1 v2 ...` per line (word2vec's
  `count dim` header line is skipped). Errors name the file and line."""
  vectors: Dict[str, np.ndarray] = {}
  dim = None
  with tf.io.gfile.GFile(path, 'rb') as f:
    for number, raw_line in enumerate(f, start=1):
      parts = raw_line.decode('utf-8', errors='replace').rstrip().split(' ')
      if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
        continue  # word2vec header
      if len(parts) < 2:
        raise ValueError(f'{path}:{number}: expected a word and a vector')
      try:
        vector = np.asarray(parts[1:], dtype=np.float32)
      except ValueError:
        raise ValueError(
            f'{path}:{number}: vector of {parts[0]!r} is not numeric') from None
      if dim is None:
        dim = vector.size
      elif vector.size != dim:
        raise ValueError(f'{path}:{number}: {vector.size} values, '
                         f'earlier lines have {dim}')
      vectors[parts[0]] = vector
  if not vectors:
    raise ValueError(f'{path}: no word vectors found')
  return vectors


def pretrained_embedding_matrix(vocabulary: List[str], num_ids: int,
                                vectors: Dict[str, np.ndarray], seed: int
                                ) -> Tuple[np.ndarray, int]:
  """Embedding matrix in vocabulary order: a term's pretrained vector where
  the file has it; a small random vector for the rest of the vocabulary (e.g.
  bigrams); one fixed vector, the mean of the file's vectors, for every OOV
  bucket. The model reads ragged ids, so there is no padding row.
  Returns the matrix and how many terms were found in the file."""
  dim = len(next(iter(vectors.values())))
  rng = np.random.default_rng(seed)
  matrix = rng.uniform(-0.05, 0.05, (num_ids, dim)).astype(np.float32)
  found = 0
  for term_id, term in enumerate(vocabulary):
    if term in vectors:
      matrix[term_id] = vectors[term]
      found += 1
  matrix[len(vocabulary):] = np.mean(list(vectors.values()), axis=0)
  return matrix, found


def embedding_init(params: Dict[str, Any], vocabulary: Optional[List[str]],
                   num_ids: int) -> Tuple[Any, int]:
  """The embedding initializer and dimension, pretrained if configured."""
  path = params['pretrained_embeddings']
  if not path:
    return 'uniform', params['embedding_dim']
  if vocabulary is None:
    raise ValueError('--pretrained-embeddings needs the vocabulary '
                     'tokenization: hashed ids name no words')
  matrix, found = pretrained_embedding_matrix(
      vocabulary, num_ids, read_word_vectors(path), params['seed'])
  logging.info('Pretrained embeddings %s: %d of %d vocabulary terms found, '
               'dimension %d (embedding_dim follows the file), %s.', path,
               found, len(vocabulary), matrix.shape[1],
               'fine-tuned' if params['train_pretrained_embeddings']
               else 'frozen')
  return tf.keras.initializers.Constant(matrix), matrix.shape[1]
