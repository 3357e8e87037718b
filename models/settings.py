"""Tokenization and training settings, with their defaults (pure Python).

Both module files read their settings from the `custom_config` the pipeline
passes; the pipeline configuration builds its defaults from here too, without
importing TensorFlow.
"""

from typing import Any, Dict, Mapping, Optional

import contract

DEFAULT_HYPERPARAMETERS = {
    'embedding_dim': 32,
    'token_dropout': 0.3,  # share of a review's n-grams dropped per step
    'learning_rate': 0.005,
    'batch_size': 64,
    'epochs': 4,
    'early_stopping_patience': 1,
    # Weight of the star-rating head's loss beside the sentiment loss.
    'rating_loss_weight': 0.2,
    # A GloVe/word2vec text file to initialize the embeddings from ('' = none).
    'pretrained_embeddings': '',
    'train_pretrained_embeddings': True,  # False freezes them
    'seed': 42,
    # Start from the latest blessed model's weights when its tokenization is
    # the same (hashing always is; a vocabulary only if it did not change);
    # otherwise, or when False, train from scratch.
    'warm_start': True,
}

DEFAULT_TOKENIZATION = {
    'tokenization': contract.VOCABULARY,
    'vocabulary_size': contract.DEFAULT_VOCABULARY_SIZE,
    'vocabulary_min_frequency': contract.DEFAULT_VOCABULARY_MIN_FREQUENCY,
    'num_oov_buckets': contract.DEFAULT_NUM_OOV_BUCKETS,
    'hash_buckets': contract.DEFAULT_HASH_BUCKETS,
    'ngram_max': contract.DEFAULT_NGRAM_MAX,
    'max_words': contract.DEFAULT_MAX_WORDS,
    'nb_smoothing': contract.DEFAULT_NB_SMOOTHING,
}


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
