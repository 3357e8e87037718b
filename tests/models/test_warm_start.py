"""Whether a base model's weights may seed a new model."""

from models import warm_start


def test_a_changed_vocabulary_or_setting_means_training_from_scratch():
  base = {'tokenization': {'tokenization': 'vocabulary', 'ngram_max': 2},
          'vocabulary_sha256': 'aa', 'num_ids': 10, 'embedding_dim': 8}
  assert warm_start.warm_start_incompatibility(base, dict(base)) is None
  assert warm_start.warm_start_incompatibility(
      base, {**base, 'vocabulary_sha256': 'bb'}) == (
          'the vocabulary changed with the new data')
  assert 'ngram_max' in str(warm_start.warm_start_incompatibility(
      base, {**base, 'tokenization': {'tokenization': 'vocabulary',
                                      'ngram_max': 3}}))
  assert 'embedding_dim differs (8 -> 16)' == (
      warm_start.warm_start_incompatibility(base,
                                            {**base, 'embedding_dim': 16}))
  assert 'has no training.json' in warm_start.warm_start_incompatibility(
      None, base)
