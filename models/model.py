"""Trainer module file: the Keras model, and `run_fn` to train and export it.

The model is an NB-weighted bag of n-gram embeddings (the NBSVM idea with
fastText-style embeddings, models/model_layers.py): each distinct n-gram id
of a review looks up its embedding, scaled by the n-gram's naive-Bayes
log-count ratio that the Transform graph attaches to it; the scaled vectors
are summed and divided by sqrt(number of n-grams + 1) into the review vector.
In training whole n-grams are dropped at random (`token_dropout`). Two dense
heads read the review vector: `probability`, a sigmoid P(positive) -- the
mean logit of `sentiment_heads` logistic heads on slices of the vector, each
trained with binary cross-entropy -- and the star rating, a linear head trained with a
Huber loss on the rating rescaled to about -1..1 (weighted by
`rating_loss_weight`) and served as stars clipped to 1..10. A table's model (the users' own
data, two or more classes) has a softmax head `probabilities` instead, and
the regression head only with a target column. LazyAdam trains
it, updating only the embedding rows a batch touches. The embedding table
starts random, from pretrained word vectors, or from the latest blessed
model's weights (warm start).

`run_fn` orchestrates: the input pipelines (models/input_pipeline.py), the
initial embeddings (models/pretrained_embeddings.py, models/warm_start.py),
training with early stopping on the sentiment head, the projector files
(models/term_vectors.py) and the export with its signatures, warm-up requests
and verification samples (models/serving_export.py). The TFX Trainer loads
this file by its path, so it imports its siblings through the `models`
package.
"""

import math
import os
import tempfile
from typing import Any, NamedTuple, Optional

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tensorflow.python.autograph.core import config as autograph_config
from tfx.components.trainer.fn_args_utils import FnArgs

import contract
from models import input_pipeline
from models import model_interface
from models import model_layers
from models import pretrained_embeddings
from models import serving_export
from models import term_vectors
from models import warm_start
from models.settings import hyperparameters
from models.settings import label_classes
from models.settings import vocabulary_settings

# Keras 2 is the `tf_keras` package here. AutoGraph leaves the `keras` package
# alone (its code needs no conversion) but knows nothing of `tf_keras`, so
# every fit() and save() transpiled Keras's own training and call code, source
# file by source file: about 30 s of each Trainer run, for graphs that come
# out the same. Our layers are still converted (Keras converts a layer's
# `call` itself).
_KERAS_RULE = autograph_config.DoNotConvert('tf_keras')
if str(_KERAS_RULE) not in map(str, autograph_config.CONVERSION_RULES):
  autograph_config.CONVERSION_RULES += (_KERAS_RULE,)

def _ragged_input(name: str, dtype: tf.DType) -> tf.keras.Input:
  return tf.keras.Input(shape=(None,), dtype=dtype, ragged=True, name=name)


def _review_vector(num_ids: int, embedding_dim: int, token_dropout: float,
                   embeddings_initializer: Any, trainable_embeddings: bool,
                   dropout_groups: int = 1):
  """The model's inputs and the NB-weighted review vector both heads read."""
  token_ids = _ragged_input(contract.TOKEN_IDS_KEY, tf.int64)
  token_weights = _ragged_input(contract.TOKEN_WEIGHTS_KEY, tf.float32)
  review_vector = model_layers.NaiveBayesEmbeddingBag(
      num_ids, embedding_dim, token_dropout,
      embeddings_initializer=embeddings_initializer,
      trainable_embeddings=trainable_embeddings,
      dropout_groups=dropout_groups,
      name=model_interface.EMBEDDING_LAYER)(token_ids, token_weights)
  return (token_ids, token_weights), review_vector


def _heads_cross_entropy(labels: tf.Tensor, probabilities: tf.Tensor
                         ) -> tf.Tensor:
  """Mean over the heads of each head's cross-entropy with the label (one
  label per review, [batch] or [batch, 1], against [batch, heads])."""
  labels = tf.reshape(tf.cast(labels, probabilities.dtype), [-1, 1])
  return tf.keras.losses.binary_crossentropy(
      tf.broadcast_to(labels, tf.shape(probabilities)), probabilities)


def build_model(num_ids: int, embedding_dim: int, token_dropout: float,
                learning_rate: float, rating_loss_weight: float,
                embeddings_initializer: Any = 'uniform',
                trainable_embeddings: bool = True,
                num_classes: Optional[int] = None,
                has_rating: bool = True,
                sentiment_heads: int = 1) -> tf.keras.Model:
  """NB-weighted bag of n-gram embeddings -> P(positive) and star rating.

  `sentiment_heads` logistic heads each read their own slice of the review
  vector (about embedding_dim / sentiment_heads wide, its own n-gram dropout
  mask) and are each trained on the label (`sentiment_heads`, [batch,
  heads]): an ensemble of that many small bags in one table. `probability`
  is the sigmoid of their mean logit, so the model stays additive over
  n-grams (models/explanations.py); its loss is reported, weighted 0, for
  early stopping and the metrics. The `rating` head (regression on the 1-10
  star scale, learnt as (rating - 5.5) / 4.5 so that its loss is on the
  scale of the sentiment loss) reads the whole vector.

  A table's model (`num_classes`, two or more) has a softmax head
  `probabilities` instead, and the regression head only with a target
  column (`has_rating`), learnt on the target as it is.
  """
  if num_classes:
    return _build_table_model(num_ids, embedding_dim, token_dropout,
                              learning_rate, rating_loss_weight,
                              embeddings_initializer, trainable_embeddings,
                              num_classes, has_rating)
  (token_ids, token_weights), review_vector = _review_vector(
      num_ids, embedding_dim, token_dropout, embeddings_initializer,
      trainable_embeddings, dropout_groups=sentiment_heads)
  bounds = model_layers.slice_bounds(embedding_dim, sentiment_heads)
  head_logits = [
      tf.keras.layers.Dense(1, name=model_interface.sentiment_head(g))(
          review_vector[:, bounds[g]:bounds[g + 1]])
      for g in range(sentiment_heads)]
  head_logits = (tf.keras.layers.Concatenate(axis=1)(head_logits)
                 if sentiment_heads > 1 else head_logits[0])
  head_probabilities = tf.keras.layers.Activation(
      'sigmoid', name=model_interface.SENTIMENT_HEADS)(head_logits)
  probability = tf.keras.layers.Activation(
      'sigmoid', name=contract.PROBABILITY_OUTPUT_KEY)(
          tf.reduce_mean(head_logits, axis=1, keepdims=True))
  rating_scaled = tf.keras.layers.Dense(
      1, name=model_interface.RATING_SCALED)(review_vector)
  model = tf.keras.Model(
      inputs={contract.TOKEN_IDS_KEY: token_ids,
              contract.TOKEN_WEIGHTS_KEY: token_weights},
      outputs={contract.PROBABILITY_OUTPUT_KEY: probability,
               model_interface.SENTIMENT_HEADS: head_probabilities,
               model_interface.RATING_SCALED: rating_scaled})
  model.compile(
      optimizer=model_layers.LazyAdam(learning_rate),
      loss={contract.PROBABILITY_OUTPUT_KEY: 'binary_crossentropy',
            model_interface.SENTIMENT_HEADS: _heads_cross_entropy,
            model_interface.RATING_SCALED: tf.keras.losses.Huber()},
      # The heads' loss is their mean cross-entropy; weighted by their
      # number it is their sum, each head learning as a model of its own
      # beside the rating loss.
      loss_weights={contract.PROBABILITY_OUTPUT_KEY: 0.0,
                    model_interface.SENTIMENT_HEADS: float(sentiment_heads),
                    model_interface.RATING_SCALED: rating_loss_weight},
      metrics={contract.PROBABILITY_OUTPUT_KEY: [
          tf.keras.metrics.BinaryAccuracy(name='accuracy'),
          tf.keras.metrics.AUC(name='auc')]})
  return model


def _build_table_model(num_ids: int, embedding_dim: int, token_dropout: float,
                       learning_rate: float, rating_loss_weight: float,
                       embeddings_initializer: Any, trainable_embeddings: bool,
                       num_classes: int, has_rating: bool) -> tf.keras.Model:
  """The same review vector; a softmax over the classes, and the target's
  regression head if there is a target."""
  (token_ids, token_weights), review_vector = _review_vector(
      num_ids, embedding_dim, token_dropout, embeddings_initializer,
      trainable_embeddings)
  outputs = {contract.PROBABILITIES_OUTPUT_KEY: tf.keras.layers.Dense(
      num_classes, activation='softmax',
      name=contract.PROBABILITIES_OUTPUT_KEY)(review_vector)}
  losses = {contract.PROBABILITIES_OUTPUT_KEY:
                'sparse_categorical_crossentropy'}
  loss_weights = {contract.PROBABILITIES_OUTPUT_KEY: 1.0}
  if has_rating:
    outputs[model_interface.RATING_SCALED] = tf.keras.layers.Dense(
        1, name=model_interface.RATING_SCALED)(review_vector)
    losses[model_interface.RATING_SCALED] = tf.keras.losses.Huber()
    loss_weights[model_interface.RATING_SCALED] = rating_loss_weight
  model = tf.keras.Model(
      inputs={contract.TOKEN_IDS_KEY: token_ids,
              contract.TOKEN_WEIGHTS_KEY: token_weights},
      outputs=outputs)
  model.compile(
      optimizer=model_layers.LazyAdam(learning_rate),
      loss=losses, loss_weights=loss_weights,
      metrics={contract.PROBABILITIES_OUTPUT_KEY: [
          tf.keras.metrics.SparseCategoricalAccuracy(name='accuracy')]})
  return model


def early_stopping_monitor(model: tf.keras.Model) -> str:
  """The eval loss of the class head, which is what the Evaluator gates on
  (Keras names a single output's loss plain `loss`)."""
  if len(model.outputs) == 1:
    return 'val_loss'
  head = (contract.PROBABILITIES_OUTPUT_KEY
          if contract.PROBABILITIES_OUTPUT_KEY in model.output_names
          else contract.PROBABILITY_OUTPUT_KEY)
  return f'val_{head}_loss'


# The eval loss early stopping watches is measured on every k-th `eval`
# review, at most this many: the same reviews at every check, so the checks
# compare like with like; a split of tens of thousands would otherwise cost
# each check as much as its training steps. (The Evaluator scores the whole
# `test` split.)
MAX_EVAL_EXAMPLES_PER_CHECK = 5_000


class CheckSchedule(NamedTuple):
  """How `fit` runs: Keras epochs (each one check of the eval loss), steps
  in each (None: a whole pass; a step count needs the training data
  repeated), and checks before early stopping may stop
  (`start_from_epoch`)."""
  epochs: int
  steps_per_epoch: Optional[int]
  start_from_epoch: int


def check_schedule(train_examples: int, batch_size: int, epochs: int,
                   examples_per_check: int, train_steps: Optional[int]
                   ) -> CheckSchedule:
  """At most `epochs` passes over `train`, checking the eval loss once a
  pass, or every `examples_per_check` examples where a pass is longer (a
  pass cut into equal checks; early stopping waits for the first pass to
  end). A step budget (TrainArgs num_steps, e.g. a Kubeflow runtime
  parameter) is spread over `epochs` checks instead."""
  if train_steps:
    return CheckSchedule(epochs, max(1, math.ceil(train_steps / epochs)), 0)
  checks_per_pass = (max(1, math.ceil(train_examples / examples_per_check))
                     if examples_per_check > 0 else 1)
  if checks_per_pass == 1:
    return CheckSchedule(epochs, None, 0)
  steps_per_pass = math.ceil(train_examples / batch_size)
  return CheckSchedule(epochs * checks_per_pass,
                       math.ceil(steps_per_pass / checks_per_pass),
                       checks_per_pass - 1)


def run_fn(fn_args: FnArgs) -> None:
  """TFX Trainer entry point."""
  params = hyperparameters(fn_args.custom_config)
  tokenization = vocabulary_settings(fn_args.custom_config)
  tf.keras.utils.set_random_seed(params['seed'])
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
  classes = label_classes(fn_args.custom_config)
  has_rating = (contract.RATING_KEY
                in tf_transform_output.transformed_feature_spec())

  # Local scratch space for the transformed examples, removed on the way out.
  with tempfile.TemporaryDirectory(prefix='transformed-') as scratch:
    _train_and_export(fn_args, params, tokenization, tf_transform_output,
                      classes, has_rating, scratch)


def _train_and_export(fn_args: FnArgs, params, tokenization,
                      tf_transform_output: tft.TFTransformOutput,
                      classes, has_rating: bool, scratch: str) -> None:
  train_dataset, train_examples = input_pipeline.transformed_dataset(
      fn_args.train_files, fn_args.data_accessor, tf_transform_output,
      params['batch_size'], shuffle_seed=params['seed'],
      cache_dir=os.path.join(scratch, 'train'), classes=classes)
  eval_dataset, _ = input_pipeline.transformed_dataset(
      fn_args.eval_files, fn_args.data_accessor, tf_transform_output,
      params['batch_size'], shuffle_seed=None,
      cache_dir=os.path.join(scratch, 'eval'), classes=classes,
      max_examples=MAX_EVAL_EXAMPLES_PER_CHECK)

  vocabulary_file = vocabulary = None
  if tokenization['tokenization'] == contract.HASHING:
    num_ids = tokenization['hash_buckets']
  else:
    vocabulary_file = tf_transform_output.vocabulary_file_by_name(
        contract.VOCABULARY_NAME)
    vocabulary = [term.decode('utf-8', errors='replace') for term in
                  tf_transform_output.vocabulary_by_name(
                      contract.VOCABULARY_NAME)]
    num_ids = len(vocabulary) + tokenization['num_oov_buckets']
  initializer, embedding_dim = pretrained_embeddings.embedding_init(
      params, vocabulary, num_ids)
  model = build_model(
      num_ids, embedding_dim, params['token_dropout'],
      params['learning_rate'], params['rating_loss_weight'],
      embeddings_initializer=initializer,
      trainable_embeddings=(not params['pretrained_embeddings']
                            or params['train_pretrained_embeddings']),
      num_classes=len(classes) if classes else None, has_rating=has_rating,
      sentiment_heads=params['sentiment_heads'])
  model.summary(print_fn=logging.info)
  record = warm_start.training_record(tokenization, vocabulary_file, num_ids,
                                      embedding_dim)
  if classes:
    record[contract.LABEL_CLASSES_KEY] = classes
  started = warm_start.warm_start(model, fn_args.base_model, record,
                                  params['warm_start'])
  logging.info('Warm start: %s (%s).',
               'from ' + started['warm_started_from']
               if started['warm_started_from'] else 'no, trained from scratch',
               started['reason'])

  schedule = check_schedule(train_examples, params['batch_size'],
                            params['epochs'], params['examples_per_check'],
                            fn_args.train_steps)
  logging.info('%d training examples: %s.', train_examples, schedule)
  if schedule.steps_per_epoch:
    train_dataset = train_dataset.repeat()
  model.fit(
      train_dataset,
      validation_data=eval_dataset,
      epochs=schedule.epochs,
      steps_per_epoch=schedule.steps_per_epoch,
      callbacks=[
          # Early stopping watches the sentiment head, which is what the
          # Evaluator gates on; the rating head only rides along.
          tf.keras.callbacks.EarlyStopping(
              monitor=early_stopping_monitor(model),
              patience=params['early_stopping_patience'],
              start_from_epoch=schedule.start_from_epoch,
              restore_best_weights=True),
          tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir),
      ],
      verbose=2)

  term_ratios = None
  if vocabulary is not None:
    term_ratios = term_vectors.nb_ratios_by_id(
        tf_transform_output, vocabulary, num_ids)[:len(vocabulary)]
    embeddings = model.get_layer(
        model_interface.EMBEDDING_LAYER).embeddings.numpy()
    term_vectors.write_projector_files(
        fn_args.model_run_dir,
        term_vectors.term_vectors_of(embeddings, term_ratios, len(vocabulary)),
        vocabulary, contract.NUM_PROJECTOR_TERMS)
  serving_export.export_serving_model(
      model, tf_transform_output, fn_args.serving_model_dir, vocabulary_file,
      term_ratios, input_pipeline.read_raw_texts(
          fn_args.eval_files, contract.NUM_VERIFICATION_SAMPLES),
      tokenization, classes=classes)
  warm_start.write_training_file(fn_args.serving_model_dir,
                                 {**record, **started})
