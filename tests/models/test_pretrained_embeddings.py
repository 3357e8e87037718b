"""Pretrained word vectors as the starting embeddings."""

import numpy as np
import pytest

from models import pretrained_embeddings


def _write_vectors(path, lines):
  path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
  return str(path)


def test_read_word_vectors_reads_glove_and_word2vec_text(tmp_path):
  glove = _write_vectors(tmp_path / 'glove.txt',
                         ['good 0.1 0.2', 'bad -0.1 -0.2'])
  word2vec = _write_vectors(tmp_path / 'w2v.txt',
                            ['2 2', 'good 0.1 0.2', 'bad -0.1 -0.2'])
  for path in (glove, word2vec):
    vectors = pretrained_embeddings.read_word_vectors(path)
    assert sorted(vectors) == ['bad', 'good']
    np.testing.assert_allclose(vectors['good'], [0.1, 0.2])


@pytest.mark.parametrize('lines, problem', [
    (['good 0.1 0.2', 'bad 0.3'], r'bad.txt:2: 1 values, earlier lines have 2'),
    (['good 0.1 x'], r"bad.txt:1: vector of 'good' is not numeric"),
    (['lonely'], r'bad.txt:1: expected a word and a vector'),
])
def test_bad_word_vector_files_are_named_with_the_line(tmp_path, lines,
                                                        problem):
  path = _write_vectors(tmp_path / 'bad.txt', lines)
  with pytest.raises(ValueError, match=problem):
    pretrained_embeddings.read_word_vectors(path)


def test_pretrained_matrix_is_in_vocabulary_order_with_a_fixed_oov_vector():
  vectors = {'good': np.array([1.0, 0.0], np.float32),
             'bad': np.array([0.0, 1.0], np.float32)}
  vocabulary = ['bad', 'good movie', 'good']
  matrix, found = pretrained_embeddings.pretrained_embedding_matrix(
      vocabulary, num_ids=5, vectors=vectors, seed=0)
  assert matrix.shape == (5, 2) and found == 2
  np.testing.assert_array_equal(matrix[0], [0.0, 1.0])
  np.testing.assert_array_equal(matrix[2], [1.0, 0.0])
  assert np.all(np.abs(matrix[1]) <= 0.05)  # not in the file: small random
  # Both OOV buckets get the same fixed vector: the mean of the file's.
  np.testing.assert_array_equal(matrix[3], [0.5, 0.5])
  np.testing.assert_array_equal(matrix[4], [0.5, 0.5])
  again, _ = pretrained_embeddings.pretrained_embedding_matrix(
      vocabulary, 5, vectors, 0)
  np.testing.assert_array_equal(matrix, again)  # deterministic
