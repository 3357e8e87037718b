"""The vocabulary terms' vectors for TensorBoard's projector."""

import numpy as np

from models import term_vectors


def test_projector_files_pair_vectors_with_terms(tmp_path):
  vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
  term_vectors.write_projector_files(str(tmp_path), vectors,
                                     ['great', 'not\tgood', 'bad'], limit=2)
  rows = (tmp_path / 'projector' / 'vectors.tsv').read_text().splitlines()
  terms = (tmp_path / 'projector' / 'metadata.tsv').read_text().splitlines()
  assert rows == ['0.00000\t1.00000', '2.00000\t3.00000']
  assert terms == ['great', 'not good']
  config = (tmp_path / 'projector_config.pbtxt').read_text()
  assert 'tensor_path: "projector/vectors.tsv"' in config
