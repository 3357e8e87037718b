"""The vocabulary terms' vectors: each term's NB ratio, its embedding scaled by
that ratio, and those vectors as files for TensorBoard's projector."""

import os
from typing import List

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

import contract
from models import model_interface


def nb_ratios_by_id(tf_transform_output: tft.TFTransformOutput,
                    vocabulary: List[str], num_ids: int,
                    batch_size: int = 8192) -> np.ndarray:
  """Each vocabulary id's log-count ratio, as the Transform graph attaches
  it: every term is fed to the graph as a review of its own. A term is made
  of normalized words, so the graph makes it again among the n-grams of that
  review and gives it its id and ratio (a pass over the vocabulary, not over
  the training data). Ids no term reaches (the OOV buckets) stay 0."""
  transform = tf_transform_output.transform_features_layer()
  text_spec = tf_transform_output.raw_feature_spec()[contract.TEXT_KEY]
  ratios = np.zeros(num_ids, np.float32)
  for start in range(0, len(vocabulary), batch_size):
    texts = tf.reshape(tf.constant(vocabulary[start:start + batch_size]),
                       [-1] + list(text_spec.shape))
    transformed = transform({contract.TEXT_KEY: texts})
    ratios[transformed[contract.TOKEN_IDS_KEY].values.numpy()] = (
        transformed[contract.TOKEN_WEIGHTS_KEY].values.numpy())
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
