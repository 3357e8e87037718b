"""A small model trained on generated reviews and exported as run_fn exports
it (ServingModule, every signature), without a pipeline: for the tests of the
signatures and of what reads them (serving, the run report)."""

import os
import random
from typing import Any, Dict

import numpy as np
import tensorflow as tf

from helpers import imdb_data
from helpers import transform_util
import contract
from models import model as model_lib
from models import model_interface
from models import serving_export
from models.settings import vocabulary_settings

# A small vocabulary (many n-grams fall into the two OOV buckets) and few
# words per review (some reviews are cut short).
EXPLAINED_CONFIG = {'vocabulary_size': 60, 'vocabulary_min_frequency': 1,
                    'num_oov_buckets': 2, 'ngram_max': 2, 'max_words': 30}


def fit(model, data, epochs):
  """Trains on transformed rows as the Trainer's targets give them (the
  sentiment heads' target too: without it nothing trains `probability`)."""
  features = {key: tf.ragged.constant([row[key] for row in data])
              for key in model_interface.MODEL_INPUT_KEYS}
  targets = model_interface.targets(
      np.array([row[contract.LABEL_KEY] for row in data]),
      np.array([row[contract.RATING_KEY] for row in data]))
  dataset = tf.data.Dataset.from_tensor_slices((features, targets)).batch(32)
  model.fit(dataset, epochs=epochs, verbose=0)


def export_small_model(work_dir: str, config: Dict[str, Any],
                       num_reviews: int = 200, epochs: int = 15,
                       learning_rate: float = 0.05) -> str:
  """Transform (Beam), a few epochs of training and the export into
  `<work_dir>/model/1`, whose path is returned. `config`: tokenization
  settings over the defaults (models/settings.py)."""
  rng = random.Random(1)
  raw = [{'text': imdb_data.generated_review(rng, i % 2 == 1).encode(),
          'label': i % 2, 'rating': 8 if i % 2 else 2}
         for i in range(num_reviews)]
  tokenization = vocabulary_settings(config)
  data, tft_output = transform_util.analyze_and_transform(
      raw, config, os.path.join(work_dir, 'tft'))
  vocabulary_file = vocabulary = None
  if tokenization['tokenization'] == contract.HASHING:
    num_ids = tokenization['hash_buckets']
  else:
    vocabulary_file = tft_output.vocabulary_file_by_name(
        contract.VOCABULARY_NAME)
    vocabulary = tft_output.vocabulary_by_name(contract.VOCABULARY_NAME)
    num_ids = len(vocabulary) + tokenization['num_oov_buckets']
  tf.keras.utils.set_random_seed(3)
  # Two sentiment heads: the explanation must cover their mean logit.
  model = model_lib.build_model(num_ids, embedding_dim=8, token_dropout=0.0,
                                learning_rate=learning_rate,
                                rating_loss_weight=0.5, sentiment_heads=2)
  fit(model, data, epochs)
  ratios = None
  if vocabulary is not None:
    ratios = np.zeros(num_ids, np.float32)
    for row in data:
      ratios[row[contract.TOKEN_IDS_KEY]] = row[contract.TOKEN_WEIGHTS_KEY]
    ratios = ratios[:len(vocabulary)]
  export_dir = os.path.join(work_dir, 'model', '1')
  module = serving_export.ServingModule(model, tft_output, vocabulary_file,
                                        ratios, tokenization)
  tf.saved_model.save(module, export_dir, signatures=module.signatures())
  return export_dir
