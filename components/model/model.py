"""Trainer module file: the Keras model, its training and the served contract.

The model is a bag of n-grams (fastText-style): n-gram embeddings averaged over
the review, then a sigmoid. Training reads the raw examples and applies the
Transform graph on the fly (once; the result is cached in memory), so training
and serving run the very same TransformFeaturesLayer and the raw eval reviews
are at hand for the verification samples exported with the model.
"""

import json
import math
import os
from typing import Any, Dict, List, Optional

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tensorflow_serving.apis import model_pb2
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_log_pb2
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from components.model import contract
from components.model.settings import hyperparameters
from components.model.settings import vocabulary_settings

def build_model(num_ids: int, max_tokens: int, embedding_dim: int,
                dropout: float, learning_rate: float) -> tf.keras.Model:
  """Averaged n-gram embeddings -> P(positive). Id 0 is padding (masked)."""
  token_ids = tf.keras.Input(shape=(max_tokens,), dtype=tf.int64,
                             name=contract.TOKEN_IDS_KEY)
  embedded = tf.keras.layers.Embedding(
      num_ids, embedding_dim, mask_zero=True, name='ngram_embedding')(token_ids)
  pooled = tf.keras.layers.GlobalAveragePooling1D(name='mean_pool')(embedded)
  pooled = tf.keras.layers.Dropout(dropout)(pooled)
  probability = tf.keras.layers.Dense(
      1, activation='sigmoid', name='probability')(pooled)
  model = tf.keras.Model(token_ids, probability)
  model.compile(
      optimizer=tf.keras.optimizers.Adam(learning_rate),
      loss='binary_crossentropy',
      metrics=[tf.keras.metrics.BinaryAccuracy(name='accuracy'),
               tf.keras.metrics.AUC(name='auc')])
  return model


def _raw_dataset(file_pattern: List[str], data_accessor, raw_schema,
                 batch_size: int) -> tf.data.Dataset:
  """One pass over the raw examples, as batches of raw feature dicts."""
  return data_accessor.tf_dataset_factory(
      file_pattern,
      tfxio.TensorFlowDatasetOptions(batch_size=batch_size, num_epochs=1,
                                     shuffle=False),
      raw_schema)


def _transformed_dataset(file_pattern, data_accessor,
                         tf_transform_output: tft.TFTransformOutput,
                         batch_size: int, shuffle_seed: Optional[int]
                         ) -> tf.data.Dataset:
  """(token_ids, label) batches; transformed once, then cached in memory."""
  tft_layer = tf_transform_output.transform_features_layer()

  def transform(raw):
    transformed = tft_layer(raw)
    return (transformed[contract.TOKEN_IDS_KEY],
            tf.cast(transformed[contract.LABEL_KEY], tf.float32))

  dataset = _raw_dataset(file_pattern, data_accessor,
                         tf_transform_output.raw_metadata.schema, batch_size)
  dataset = dataset.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
  dataset = dataset.unbatch().cache()
  if shuffle_seed is not None:
    dataset = dataset.shuffle(50_000, seed=shuffle_seed,
                              reshuffle_each_iteration=True)
  return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


class ServingModule(tf.Module):
  """The exported signatures. The Transform graph is tracked as `tft_layer`,
  so the vocabulary travels as an asset of the SavedModel."""

  def __init__(self, model: tf.keras.Model,
               tf_transform_output: tft.TFTransformOutput):
    super().__init__()
    self.model = model
    self.tft_layer = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()
    # Serving sees no label: only the text is parsed from incoming examples.
    self._example_spec = {contract.TEXT_KEY: raw_spec[contract.TEXT_KEY]}
    self._raw_feature_spec = raw_spec

  def _predict(self, text: tf.Tensor) -> Dict[str, tf.Tensor]:
    transformed = self.tft_layer({contract.TEXT_KEY: text})
    probability = tf.reshape(
        self.model(transformed[contract.TOKEN_IDS_KEY]), [-1])
    is_positive = tf.cast(probability >= contract.DECISION_THRESHOLD, tf.int32)
    return {
        contract.PROBABILITY_OUTPUT_KEY: probability,
        contract.LABEL_OUTPUT_KEY: tf.gather(
            tf.constant(contract.LABEL_NAMES), is_positive),
    }

  @tf.function(input_signature=[tf.TensorSpec(
      [None], tf.string, name=contract.SERVING_INPUT_KEY)])
  def serve_text(self, text):
    return self._predict(text)

  @tf.function(input_signature=[tf.TensorSpec(
      [None], tf.string, name=contract.EXAMPLES_INPUT_KEY)])
  def serve_examples(self, examples):
    parsed = tf.io.parse_example(examples, self._example_spec)
    return self._predict(parsed[contract.TEXT_KEY])

  @tf.function(input_signature=[tf.TensorSpec(
      [None], tf.string, name=contract.EXAMPLES_INPUT_KEY)])
  def transform_features(self, examples):
    """Transformed features of labelled examples; TFMA slices on them."""
    parsed = tf.io.parse_example(examples, self._raw_feature_spec)
    transformed = self.tft_layer(parsed)
    return {contract.LENGTH_BUCKET_KEY: transformed[contract.LENGTH_BUCKET_KEY]}

  def signatures(self) -> Dict[str, Any]:
    return {
        contract.SERVING_SIGNATURE: self.serve_text.get_concrete_function(),
        contract.EXAMPLES_SIGNATURE:
            self.serve_examples.get_concrete_function(),
        contract.TRANSFORM_SIGNATURE:
            self.transform_features.get_concrete_function(),
    }


def read_raw_texts(file_pattern: List[str], limit: int) -> List[str]:
  """The first `limit` review texts of gzipped tf.Example files."""
  files = [f for pattern in file_pattern for f in tf.io.gfile.glob(pattern)]
  dataset = tf.data.TFRecordDataset(sorted(files), compression_type='GZIP')
  spec = {contract.TEXT_KEY: tf.io.FixedLenFeature([], tf.string)}
  return [tf.io.parse_single_example(record, spec)[contract.TEXT_KEY]
          .numpy().decode('utf-8') for record in dataset.take(limit)]


def write_warmup_requests(model_dir: str, texts: List[str]) -> str:
  """TF Serving warm-up file: PredictionLogs of raw-text requests."""
  path = os.path.join(model_dir, 'assets.extra', contract.WARMUP_FILE)
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.TFRecordWriter(path) as writer:
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(
            name=contract.MODEL_NAME,
            signature_name=contract.SERVING_SIGNATURE))
    request.inputs[contract.SERVING_INPUT_KEY].CopyFrom(
        tf.make_tensor_proto(texts, dtype=tf.string))
    log = prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request))
    writer.write(log.SerializeToString())
  return path


def write_verification_samples(model_dir: str, texts: List[str]) -> str:
  """`verification.jsonl`: TF Serving REST requests and the responses this
  very SavedModel gives, one review a line. Replaying them against any server
  that serves this version must give the same answers."""
  serve = tf.saved_model.load(model_dir).signatures[contract.SERVING_SIGNATURE]
  outputs = serve(**{contract.SERVING_INPUT_KEY: tf.constant(texts)})
  probabilities = outputs[contract.PROBABILITY_OUTPUT_KEY].numpy().tolist()
  labels = [label.decode() for label in
            outputs[contract.LABEL_OUTPUT_KEY].numpy().tolist()]
  path = os.path.join(model_dir, 'assets.extra', contract.VERIFICATION_FILE)
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.gfile.GFile(path, 'w') as f:
    for text, probability, label in zip(texts, probabilities, labels):
      f.write(json.dumps({
          'request': {'signature_name': contract.SERVING_SIGNATURE,
                      'instances': [text]},
          'response': {'predictions': [{
              contract.PROBABILITY_OUTPUT_KEY: probability,
              contract.LABEL_OUTPUT_KEY: label}]},
      }) + '\n')
  return path


def run_fn(fn_args: tfx.components.FnArgs) -> None:
  """TFX Trainer entry point."""
  params = hyperparameters(fn_args.custom_config)
  tf.keras.utils.set_random_seed(params['seed'])
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)

  train_dataset = _transformed_dataset(
      fn_args.train_files, fn_args.data_accessor, tf_transform_output,
      params['batch_size'], shuffle_seed=params['seed'])
  eval_dataset = _transformed_dataset(
      fn_args.eval_files, fn_args.data_accessor, tf_transform_output,
      params['batch_size'], shuffle_seed=None)

  token_ids_spec = tf_transform_output.transformed_feature_spec()[
      contract.TOKEN_IDS_KEY]
  # Vocabulary + OOV buckets + the padding id 0.
  num_ids = (tf_transform_output.vocabulary_size_by_name(
      contract.VOCABULARY_NAME)
             + vocabulary_settings(fn_args.custom_config)['num_oov_buckets']
             + 1)
  model = build_model(num_ids, token_ids_spec.shape[0],
                      params['embedding_dim'], params['dropout'],
                      params['learning_rate'])
  model.summary(print_fn=logging.info)

  # By default one epoch is one pass over `train`. A step budget (TrainArgs
  # num_steps, e.g. a Kubeflow runtime parameter) is spread over the epochs
  # instead, so early stopping still checks `eval` `epochs` times.
  steps_per_epoch = None
  if fn_args.train_steps:
    steps_per_epoch = max(1, math.ceil(fn_args.train_steps / params['epochs']))
    train_dataset = train_dataset.repeat()
  model.fit(
      train_dataset,
      validation_data=eval_dataset,
      epochs=params['epochs'],
      steps_per_epoch=steps_per_epoch,
      callbacks=[
          tf.keras.callbacks.EarlyStopping(
              monitor='val_loss', patience=params['early_stopping_patience'],
              restore_best_weights=True),
          tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir),
      ],
      verbose=2)

  module = ServingModule(model, tf_transform_output)
  tf.saved_model.save(module, fn_args.serving_model_dir,
                      signatures=module.signatures())

  texts = read_raw_texts(fn_args.eval_files, contract.NUM_VERIFICATION_SAMPLES)
  write_warmup_requests(fn_args.serving_model_dir, texts[:4])
  write_verification_samples(fn_args.serving_model_dir, texts)
