"""The vocabulary terms' vectors: each term's NB ratio, its embedding scaled by
that ratio, and those vectors as files for TensorBoard's projector."""

import os
from typing import List

import numpy as np
import tensorflow as tf

import contract
from models import model_interface


def nb_ratios_by_id(dataset: tf.data.Dataset, num_ids: int) -> np.ndarray:
  """Each id's log-count ratio, as the Transform graph attached it to the
  ids in `dataset` (ids never seen stay 0)."""
  ratios = np.zeros(num_ids, np.float32)
  for features, _ in dataset:
    ratios[features[contract.TOKEN_IDS_KEY].values.numpy()] = (
        features[contract.TOKEN_WEIGHTS_KEY].values.numpy())
  return ratios


def term_vectors_of(embeddings, ratios, num_terms: int):
  """What each vocabulary term adds to a review's vector: its embedding
  scaled by its NB ratio (so 'awful' points away from 'great'). Works on
  NumPy arrays and tensors alike."""
  return embeddings[:num_terms] * ratios[:num_terms, None]


def write_projector_files(log_dir: str, embeddings: np.ndarray,
                          vocabulary: List[str], limit: int) -> str:
  """The first `limit` (most frequent) terms' vectors as TSV, with the
  config TensorBoard's projector reads from the Trainer's log directory."""
  projector_dir = os.path.join(log_dir, 'projector')
  tf.io.gfile.makedirs(projector_dir)
  count = min(limit, len(vocabulary))
  with tf.io.gfile.GFile(os.path.join(projector_dir, 'vectors.tsv'), 'w') as f:
    for row in embeddings[:count]:
      f.write('\t'.join(f'{value:.5f}' for value in row) + '\n')
  with tf.io.gfile.GFile(os.path.join(projector_dir, 'metadata.tsv'),
                         'w') as f:
    for term in vocabulary[:count]:
      f.write(term.replace('\t', ' ') + '\n')
  with tf.io.gfile.GFile(os.path.join(log_dir, 'projector_config.pbtxt'),
                         'w') as f:
    f.write('embeddings {\n'
            f'  tensor_name: "{model_interface.EMBEDDING_LAYER}"\n'
            '  tensor_path: "projector/vectors.tsv"\n'
            '  metadata_path: "projector/metadata.tsv"\n}\n')
  return projector_dir
