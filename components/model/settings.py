"""Tokenization and training settings, with their defaults (pure Python).

Both module files read their settings from the `custom_config` the pipeline
passes; the pipeline configuration builds its defaults from here too, without
importing TensorFlow.
"""

from typing import Any, Dict, Mapping, Optional

from components.model import contract

DEFAULT_HYPERPARAMETERS = {
    'embedding_dim': 32,
    'dropout': 0.3,
    'learning_rate': 0.005,
    'batch_size': 128,
    'epochs': 10,
    'early_stopping_patience': 2,
    'seed': 42,
}


def vocabulary_settings(custom_config: Optional[Mapping[str, Any]]
                        ) -> Dict[str, int]:
  """Tokenization settings from the pipeline's custom_config, with defaults."""
  config = dict(custom_config or {})
  return {
      'vocabulary_size': int(config.get(
          'vocabulary_size', contract.DEFAULT_VOCABULARY_SIZE)),
      'vocabulary_min_frequency': int(config.get(
          'vocabulary_min_frequency',
          contract.DEFAULT_VOCABULARY_MIN_FREQUENCY)),
      'num_oov_buckets': int(config.get(
          'num_oov_buckets', contract.DEFAULT_NUM_OOV_BUCKETS)),
      'ngram_max': int(config.get('ngram_max', contract.DEFAULT_NGRAM_MAX)),
      'max_words': int(config.get('max_words', contract.DEFAULT_MAX_WORDS)),
  }


def hyperparameters(custom_config: Optional[Mapping[str, Any]]
                    ) -> Dict[str, Any]:
  """Training settings from the pipeline's custom_config, with defaults."""
  config = dict(custom_config or {})
  return {key: type(default)(config.get(key, default))
          for key, default in DEFAULT_HYPERPARAMETERS.items()}
