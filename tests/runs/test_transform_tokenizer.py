"""The report's tokenizer, cut out of a saved Transform graph, splits and
forms n-grams exactly as the module file that built the graph does."""

import pytest
import tensorflow as tf

from helpers import transform_util
import contract
from models import preprocessing
from runs import transform_tokenizer

_RAW = [
    {'text': b'A <b>great</b> film, truly great! Would watch again.',
     'label': 1, 'rating': 9},
    {'text': b"Dull... I didn't care; the plot's a mess?", 'label': 0,
     'rating': 2},
    {'text': b'', 'label': 0, 'rating': 1},
]
_TEXTS = [row['text'] for row in _RAW] + [b'Not in the analyzed data AT ALL']


def _graph(tmp_path_factory, **config):
  """A Transform graph artifact's directory, as TFX's Transform writes it."""
  directory = str(tmp_path_factory.mktemp('transform'))
  transform_util.analyze_and_transform(_RAW, config, directory)
  return directory


@pytest.mark.parametrize('config', [
    {'ngram_max': 2, 'max_words': 5, 'vocabulary_min_frequency': 1},
    {'tokenization': contract.HASHING, 'hash_buckets': 64, 'ngram_max': 3,
     'max_words': 100},
])
def test_words_and_terms_are_those_of_preprocessing(tmp_path_factory, config):
  tokenizer = transform_tokenizer.TransformTokenizer(
      _graph(tmp_path_factory, **config))
  tokens = tokenizer(_TEXTS)
  words = preprocessing.split_words(tf.constant(_TEXTS))
  assert tokens.lengths.tolist() == words.row_lengths().numpy().tolist()
  assert tokens.words == words.flat_values.numpy().tolist()
  if config.get('tokenization') == contract.HASHING:
    assert not tokenizer.has_vocabulary and tokens.terms is None
  else:
    terms = preprocessing.ngrams(words[:, :config['max_words']],
                                 config['ngram_max'])
    assert tokens.terms == terms.flat_values.numpy().tolist()
