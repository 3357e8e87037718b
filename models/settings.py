"""Tokenization and training settings, with their defaults (pure Python).

Both module files read their settings from the `custom_config` the pipeline
passes; the pipeline configuration builds its defaults from here too, without
importing TensorFlow.
"""

from typing import Any, Dict, List, Mapping, Optional

import contract

# Each setting: (default, what it does). The pipeline's flags are made from
# these (pipeline/configs.py); the module files read the values from the
# `custom_config` the pipeline passes, falling back on the defaults.
HYPERPARAMETERS = {
    'embedding_dim': (32, 'Width of each n-gram embedding.'),
    'sentiment_heads': (
        4, 'Logistic heads averaged into `probability`, each reading its own '
        'slice of the embedding width (an ensemble in one table).'),
    'token_dropout': (0.3, "Share of a review's n-grams dropped per step."),
    'learning_rate': (0.0025, 'LazyAdam learning rate.'),
    'batch_size': (64, 'Reviews per training step.'),
    'epochs': (4, 'At most this many passes over the training split.'),
    'early_stopping_patience': (
        1, 'Stop after this many checks without a better eval loss.'),
    'examples_per_check': (
        25_000, 'Check the eval loss (early stopping) at least every this '
        'many training examples: once an epoch on smaller data, several '
        'times on larger, which then stops once it stops improving instead '
        'of after whole passes; the first pass is always made whole. 0: '
        'once an epoch.'),
    'rating_loss_weight': (
        0.2, "Weight of the star-rating head's loss beside the sentiment "
        'loss.'),
    'pretrained_embeddings': (
        '', 'GloVe/word2vec text file to initialize the n-gram embeddings '
        'from (vocabulary tokenization only; empty: none).'),
    'train_pretrained_embeddings': (
        True, 'Train the pretrained embeddings further (no: freeze them).'),
    'seed': (42, 'Seed of the initial weights, dropout and shuffling.'),
    'warm_start': (
        True, "Start from the latest blessed model's weights when its "
        'tokenization is the same (hashing always is; a vocabulary only if '
        'it did not change); otherwise train from scratch.'),
}

TOKENIZATION = {
    'tokenization': (contract.VOCABULARY,
                     'How n-grams become ids in the Transform graph.'),
    'vocabulary_size': (contract.DEFAULT_VOCABULARY_SIZE,
                        'Keep the most frequent N n-grams (vocabulary).'),
    'vocabulary_min_frequency': (
        contract.DEFAULT_VOCABULARY_MIN_FREQUENCY,
        'Drop n-grams seen fewer times in train (vocabulary).'),
    'num_oov_buckets': (contract.DEFAULT_NUM_OOV_BUCKETS,
                        'Ids for n-grams outside the vocabulary.'),
    'hash_buckets': (contract.DEFAULT_HASH_BUCKETS,
                     'Id space of the hashing tokenization.'),
    'ngram_max': (contract.DEFAULT_NGRAM_MAX,
                  'Longest n-gram: 1 words, 2 adds bigrams, 3 trigrams.'),
    'max_words': (contract.DEFAULT_MAX_WORDS,
                  'Words of a review read at most.'),
    'nb_smoothing': (contract.DEFAULT_NB_SMOOTHING,
                     'Additive smoothing of the naive-Bayes ratios.'),
}

DEFAULT_HYPERPARAMETERS = {k: v for k, (v, _) in HYPERPARAMETERS.items()}
DEFAULT_TOKENIZATION = {k: v for k, (v, _) in TOKENIZATION.items()}


def _typed(default: Any, value: Any) -> Any:
  """`value` as the type of `default`; booleans also from 'false'/'0'."""
  if isinstance(default, bool) and isinstance(value, str):
    if value.lower() in ('1', 'true', 'yes'):
      return True
    if value.lower() in ('0', 'false', 'no', ''):
      return False
    raise ValueError(f'not a boolean: {value!r}')
  return type(default)(value)


def vocabulary_settings(custom_config: Optional[Mapping[str, Any]]
                        ) -> Dict[str, Any]:
  """Tokenization settings from the pipeline's custom_config, with defaults."""
  config = dict(custom_config or {})
  settings = {key: _typed(default, config.get(key, default))
              for key, default in DEFAULT_TOKENIZATION.items()}
  if settings['tokenization'] not in contract.TOKENIZATIONS:
    raise ValueError(f"tokenization must be one of {contract.TOKENIZATIONS}, "
                     f"got {settings['tokenization']!r}")
  return settings


def hyperparameters(custom_config: Optional[Mapping[str, Any]]
                    ) -> Dict[str, Any]:
  """Training settings from the pipeline's custom_config, with defaults."""
  config = dict(custom_config or {})
  return {key: _typed(default, config.get(key, default))
          for key, default in DEFAULT_HYPERPARAMETERS.items()}


def label_classes(custom_config: Optional[Mapping[str, Any]]
                  ) -> Optional[List[str]]:
  """A table's sorted class names from the pipeline's custom_config (the
  pipeline reads them from the data); None for the IMDB reviews, whose
  labels are 0/1 already."""
  classes = (custom_config or {}).get(contract.LABEL_CLASSES_KEY)
  if not classes:
    return None
  classes = [str(c) for c in classes]
  if len(classes) < 2 or classes != sorted(set(classes)):
    raise ValueError(f'{contract.LABEL_CLASSES_KEY} must be two or more '
                     f'distinct sorted class names, got {classes}')
  return classes
