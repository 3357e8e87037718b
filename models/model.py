"""Trainer module file: the Keras model, its training and the served contract.

The model is a bag of n-grams (fastText-style): n-gram embeddings averaged over
the review, then a sigmoid. Training reads the raw examples and applies the
Transform graph on the fly (once; the result is cached in memory), so training
and serving run the very same TransformFeaturesLayer and the raw eval reviews
are at hand for the verification samples exported with the model.
"""

import hashlib
import json
import math
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tensorflow_serving.apis import model_pb2
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_log_pb2
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

import contract
from models.settings import hyperparameters
from models.settings import vocabulary_settings

MODEL_INPUT_KEYS = (contract.TOKEN_IDS_KEY, contract.TOKEN_WEIGHTS_KEY)
EMBEDDING_LAYER = 'ngram_embedding'
# The rating head learns a rescaled rating; serving returns stars.
_RATING_SCALED = 'rating_scaled'
_RATING_CENTER = (contract.MIN_RATING + contract.MAX_RATING) / 2
_RATING_HALF_RANGE = (contract.MAX_RATING - contract.MIN_RATING) / 2

class NaiveBayesEmbeddingBag(tf.keras.layers.Layer):
  """A review's n-gram embeddings, each scaled by the n-gram's naive-Bayes
  log-count ratio, summed and divided by sqrt(number of n-grams).

  The NB ratios (from the Transform graph) tell the model which n-grams carry
  sentiment before it has learnt anything: the NBSVM idea, with embeddings in
  place of a linear weight so that the review gets a vector (for a second head
  and for `similar_terms`). Ragged inputs: no padding ids exist. During
  training whole n-grams are dropped at random (`token_dropout`).
  """

  def __init__(self, num_ids: int, embedding_dim: int, token_dropout: float,
               embeddings_initializer: Any = 'uniform',
               trainable_embeddings: bool = True, **kwargs):
    super().__init__(**kwargs)
    self.num_ids = num_ids
    self.embedding_dim = embedding_dim
    self.token_dropout = token_dropout
    self.embeddings_initializer = tf.keras.initializers.get(
        embeddings_initializer)
    self.trainable_embeddings = trainable_embeddings

  def build(self, input_shape):
    self.embeddings = self.add_weight(
        name='embeddings', shape=(self.num_ids, self.embedding_dim),
        initializer=self.embeddings_initializer,
        trainable=self.trainable_embeddings)
    super().build(input_shape)

  def call(self, token_ids, token_weights, training=None):
    weights = token_weights.values
    if training and self.token_dropout:
      weights = tf.nn.dropout(weights, rate=self.token_dropout)
    vectors = tf.gather(self.embeddings, token_ids.values) * weights[:, None]
    summed = tf.math.unsorted_segment_sum(
        vectors, token_ids.value_rowids(), token_ids.nrows())
    counts = tf.cast(token_ids.row_lengths(), tf.float32)[:, None]
    return summed / tf.sqrt(counts + 1.0)


class LazyAdam(tf.keras.optimizers.Adam):
  """Adam that, for sparse gradients, updates only the embedding rows a batch
  touched (as tensorflow_addons' LazyAdam did).

  Keras's Adam decays the moments of all rows on every step: for a 500k-row
  n-gram table that dense update, not the model, dominated training time.
  Rows not in the batch keep their moments until they are seen again.
  """

  def update_step(self, gradient, variable):
    if not isinstance(gradient, tf.IndexedSlices):
      return super().update_step(gradient, variable)
    indices, positions = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(
        gradient.values, positions, tf.shape(indices)[0])
    lr = tf.cast(self.learning_rate, variable.dtype)
    step = tf.cast(self.iterations + 1, variable.dtype)
    beta_1 = tf.cast(self.beta_1, variable.dtype)
    beta_2 = tf.cast(self.beta_2, variable.dtype)
    alpha = lr * tf.sqrt(1 - tf.pow(beta_2, step)) / (
        1 - tf.pow(beta_1, step))
    key = self._var_key(variable)
    m = self._momentums[self._index_dict[key]]
    v = self._velocities[self._index_dict[key]]
    m_rows = beta_1 * tf.gather(m, indices) + (1 - beta_1) * values
    v_rows = beta_2 * tf.gather(v, indices) + (1 - beta_2) * tf.square(values)
    m.scatter_update(tf.IndexedSlices(m_rows, indices))
    v.scatter_update(tf.IndexedSlices(v_rows, indices))
    variable.scatter_sub(tf.IndexedSlices(
        alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon), indices))


def _ragged_input(name: str, dtype: tf.DType) -> tf.keras.Input:
  return tf.keras.Input(shape=(None,), dtype=dtype, ragged=True, name=name)


def build_model(num_ids: int, embedding_dim: int, token_dropout: float,
                learning_rate: float, rating_loss_weight: float,
                embeddings_initializer: Any = 'uniform',
                trainable_embeddings: bool = True) -> tf.keras.Model:
  """NB-weighted bag of n-gram embeddings -> P(positive) and star rating.

  Two heads on the same review vector: `probability` (sigmoid) and `rating`
  (regression on the 1-10 star scale, learnt as (rating - 5.5) / 4.5 so that
  its loss is on the scale of the sentiment loss).
  """
  token_ids = _ragged_input(contract.TOKEN_IDS_KEY, tf.int64)
  token_weights = _ragged_input(contract.TOKEN_WEIGHTS_KEY, tf.float32)
  review_vector = NaiveBayesEmbeddingBag(
      num_ids, embedding_dim, token_dropout,
      embeddings_initializer=embeddings_initializer,
      trainable_embeddings=trainable_embeddings,
      name=EMBEDDING_LAYER)(token_ids, token_weights)
  probability = tf.keras.layers.Dense(
      1, activation='sigmoid', name=contract.PROBABILITY_OUTPUT_KEY)(
          review_vector)
  rating_scaled = tf.keras.layers.Dense(1, name=_RATING_SCALED)(review_vector)
  model = tf.keras.Model(
      inputs={contract.TOKEN_IDS_KEY: token_ids,
              contract.TOKEN_WEIGHTS_KEY: token_weights},
      outputs={contract.PROBABILITY_OUTPUT_KEY: probability,
               _RATING_SCALED: rating_scaled})
  model.compile(
      optimizer=LazyAdam(learning_rate),
      loss={contract.PROBABILITY_OUTPUT_KEY: 'binary_crossentropy',
            _RATING_SCALED: tf.keras.losses.Huber()},
      loss_weights={contract.PROBABILITY_OUTPUT_KEY: 1.0,
                    _RATING_SCALED: rating_loss_weight},
      metrics={contract.PROBABILITY_OUTPUT_KEY: [
          tf.keras.metrics.BinaryAccuracy(name='accuracy'),
          tf.keras.metrics.AUC(name='auc')]})
  return model


def scale_rating(rating: tf.Tensor) -> tf.Tensor:
  """Star rating 1..10 -> the rating head's training target, about -1..1."""
  return (tf.cast(rating, tf.float32) - _RATING_CENTER) / _RATING_HALF_RANGE


def unscale_rating(scaled: tf.Tensor) -> tf.Tensor:
  """The rating head's output -> a star rating, clipped to 1..10."""
  return tf.clip_by_value(scaled * _RATING_HALF_RANGE + _RATING_CENTER,
                          contract.MIN_RATING, contract.MAX_RATING)


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
  """(features, targets) batches; transformed once, then cached in memory."""
  tft_layer = tf_transform_output.transform_features_layer()

  def transform(raw):
    transformed = tft_layer(raw)
    features = {key: transformed[key] for key in MODEL_INPUT_KEYS}
    targets = {
        contract.PROBABILITY_OUTPUT_KEY:
            tf.cast(transformed[contract.LABEL_KEY], tf.float32),
        _RATING_SCALED: scale_rating(transformed[contract.RATING_KEY]),
    }
    return features, targets

  dataset = _raw_dataset(file_pattern, data_accessor,
                         tf_transform_output.raw_metadata.schema, batch_size)
  dataset = dataset.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
  dataset = dataset.unbatch().cache()
  if shuffle_seed is not None:
    dataset = dataset.shuffle(50_000, seed=shuffle_seed,
                              reshuffle_each_iteration=True)
  return dataset.ragged_batch(batch_size).prefetch(tf.data.AUTOTUNE)


class ServingModule(tf.Module):
  """The exported signatures. The Transform graph is tracked as `tft_layer`,
  so the vocabulary travels as an asset of the SavedModel."""

  def __init__(self, model: tf.keras.Model,
               tf_transform_output: tft.TFTransformOutput,
               vocabulary_file: Optional[str] = None,
               term_ratios: Optional[np.ndarray] = None):
    """`vocabulary_file` (the Transform vocabulary, one term a line) and the
    terms' NB ratios in vocabulary order enable the `similar_terms`
    signature; hashing models have no terms."""
    super().__init__()
    # The same layers in an uncompiled twin: saving the trained model itself
    # would also save its optimizer's slots, twice the embedding's size.
    self.model = tf.keras.Model(model.input, model.output)
    self.tft_layer = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()
    # Serving sees no label: only the text is parsed from incoming examples.
    self._example_spec = {contract.TEXT_KEY: raw_spec[contract.TEXT_KEY]}
    self._raw_feature_spec = raw_spec
    self.terms = None
    if vocabulary_file:
      # Id -> term, read from the vocabulary file, which becomes an asset.
      self.terms = tf.lookup.StaticHashTable(
          tf.lookup.TextFileInitializer(
              vocabulary_file,
              key_dtype=tf.int64, key_index=tf.lookup.TextFileIndex.LINE_NUMBER,
              value_dtype=tf.string,
              value_index=tf.lookup.TextFileIndex.WHOLE_LINE),
          default_value='')
      # Each term's NB ratio (a vector, not a copy of the embedding table):
      # the term vectors are computed from the live embeddings per request.
      self.term_ratios = tf.constant(term_ratios)
      # Only defined (and so only saved) when there are terms to name.
      self.similar_terms = tf.function(
          self._similar_terms, input_signature=[tf.TensorSpec(
              [None], tf.string, name=contract.SERVING_INPUT_KEY)])

  def _model_inputs(self, text: tf.Tensor) -> Dict[str, tf.Tensor]:
    transformed = self.tft_layer({contract.TEXT_KEY: text})
    return {key: transformed[key] for key in MODEL_INPUT_KEYS}

  def _predict(self, text: tf.Tensor) -> Dict[str, tf.Tensor]:
    outputs = self.model(self._model_inputs(text))
    probability = tf.reshape(outputs[contract.PROBABILITY_OUTPUT_KEY], [-1])
    rating = unscale_rating(tf.reshape(outputs[_RATING_SCALED], [-1]))
    is_positive = tf.cast(probability >= contract.DECISION_THRESHOLD, tf.int32)
    return {
        contract.PROBABILITY_OUTPUT_KEY: probability,
        contract.LABEL_OUTPUT_KEY: tf.gather(
            tf.constant(contract.LABEL_NAMES), is_positive),
        contract.RATING_OUTPUT_KEY: rating,
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

  def _similar_terms(self, text):
    """The vocabulary terms whose embeddings are nearest (cosine) to each
    review's vector; OOV buckets are not terms and are left out."""
    embedding_layer = self.model.get_layer(EMBEDDING_LAYER)
    inputs = self._model_inputs(text)
    review_vectors = tf.math.l2_normalize(embedding_layer(
        inputs[contract.TOKEN_IDS_KEY], inputs[contract.TOKEN_WEIGHTS_KEY]),
                                          axis=1)
    num_terms = self.term_ratios.shape[0]
    term_vectors = tf.math.l2_normalize(term_vectors_of(
        embedding_layer.embeddings, self.term_ratios, num_terms), axis=1)
    scores, ids = tf.math.top_k(
        tf.matmul(review_vectors, term_vectors, transpose_b=True),
        k=min(contract.NUM_SIMILAR_TERMS, num_terms))
    return {contract.SIMILAR_TERM_OUTPUT_KEY: self.terms.lookup(
                tf.cast(ids, tf.int64)),
            contract.SIMILARITY_OUTPUT_KEY: scores}

  def signatures(self) -> Dict[str, Any]:
    signatures = {
        contract.SERVING_SIGNATURE: self.serve_text.get_concrete_function(),
        contract.EXAMPLES_SIGNATURE:
            self.serve_examples.get_concrete_function(),
        contract.TRANSFORM_SIGNATURE:
            self.transform_features.get_concrete_function(),
    }
    if hasattr(self, 'similar_terms'):
      signatures[contract.SIMILAR_TERMS_SIGNATURE] = (
          self.similar_terms.get_concrete_function())
    return signatures


def nb_ratios_by_id(dataset: tf.data.Dataset, num_ids: int) -> np.ndarray:
  """Each id's log-count ratio, as the Transform graph attached it to the
  ids in `dataset` (ids never seen stay 0)."""
  ratios = np.zeros(num_ids, np.float32)
  for features, _ in dataset:
    ratios[features[contract.TOKEN_IDS_KEY].values.numpy()] = (
        features[contract.TOKEN_WEIGHTS_KEY].values.numpy())
  return ratios


def term_vectors_of(embeddings, ratios, num_terms: int):
  """What each vocabulary term adds to a review's vector: its embedding
  scaled by its NB ratio (so 'awful' points away from 'great'). Works on
  NumPy arrays and tensors alike."""
  return embeddings[:num_terms] * ratios[:num_terms, None]


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
  columns = {key: [value.decode() if isinstance(value, bytes) else value
                   for value in tensor.numpy().tolist()]
             for key, tensor in outputs.items()}
  path = os.path.join(model_dir, 'assets.extra', contract.VERIFICATION_FILE)
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.gfile.GFile(path, 'w') as f:
    for index, text in enumerate(texts):
      f.write(json.dumps({
          'request': {'signature_name': contract.SERVING_SIGNATURE,
                      'instances': [text]},
          'response': {'predictions': [
              {key: values[index] for key, values in sorted(columns.items())}
          ]},
      }) + '\n')
  return path


def read_word_vectors(path: str) -> Dict[str, np.ndarray]:
  """A GloVe or word2vec text file: `word v1 v2 ...` per line (word2vec's
  `count dim` header line is skipped). Errors name the file and line."""
  vectors: Dict[str, np.ndarray] = {}
  dim = None
  with tf.io.gfile.GFile(path, 'rb') as f:
    for number, raw_line in enumerate(f, start=1):
      parts = raw_line.decode('utf-8', errors='replace').rstrip().split(' ')
      if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
        continue  # word2vec header
      if len(parts) < 2:
        raise ValueError(f'{path}:{number}: expected a word and a vector')
      try:
        vector = np.asarray(parts[1:], dtype=np.float32)
      except ValueError:
        raise ValueError(
            f'{path}:{number}: vector of {parts[0]!r} is not numeric') from None
      if dim is None:
        dim = vector.size
      elif vector.size != dim:
        raise ValueError(f'{path}:{number}: {vector.size} values, '
                         f'earlier lines have {dim}')
      vectors[parts[0]] = vector
  if not vectors:
    raise ValueError(f'{path}: no word vectors found')
  return vectors


def pretrained_embedding_matrix(vocabulary: List[str], num_ids: int,
                                vectors: Dict[str, np.ndarray], seed: int
                                ) -> Tuple[np.ndarray, int]:
  """Embedding matrix in vocabulary order: a term's pretrained vector where
  the file has it; a small random vector for the rest of the vocabulary (e.g.
  bigrams); one fixed vector, the mean of the file's vectors, for every OOV
  bucket. The model reads ragged ids, so there is no padding row.
  Returns the matrix and how many terms were found in the file."""
  dim = len(next(iter(vectors.values())))
  rng = np.random.default_rng(seed)
  matrix = rng.uniform(-0.05, 0.05, (num_ids, dim)).astype(np.float32)
  found = 0
  for term_id, term in enumerate(vocabulary):
    if term in vectors:
      matrix[term_id] = vectors[term]
      found += 1
  matrix[len(vocabulary):] = np.mean(list(vectors.values()), axis=0)
  return matrix, found


def _embedding_init(params: Dict[str, Any], vocabulary: Optional[List[str]],
                    num_ids: int) -> Tuple[Any, int]:
  """The embedding initializer and dimension, pretrained if configured."""
  path = params['pretrained_embeddings']
  if not path:
    return 'uniform', params['embedding_dim']
  if vocabulary is None:
    raise ValueError('--pretrained-embeddings needs the vocabulary '
                     'tokenization: hashed ids name no words')
  matrix, found = pretrained_embedding_matrix(
      vocabulary, num_ids, read_word_vectors(path), params['seed'])
  logging.info('Pretrained embeddings %s: %d of %d vocabulary terms found, '
               'dimension %d (embedding_dim follows the file), %s.', path,
               found, len(vocabulary), matrix.shape[1],
               'fine-tuned' if params['train_pretrained_embeddings']
               else 'frozen')
  return tf.keras.initializers.Constant(matrix), matrix.shape[1]


def write_projector_files(log_dir: str, embeddings: np.ndarray,
                          vocabulary: List[str], limit: int) -> str:
  """The first `limit` (most frequent) terms' vectors as TSV, with the
  config TensorBoard's projector reads from the Trainer's log directory."""
  projector_dir = os.path.join(log_dir, 'projector')
  tf.io.gfile.makedirs(projector_dir)
  count = min(limit, len(vocabulary))
  with tf.io.gfile.GFile(os.path.join(projector_dir, 'vectors.tsv'), 'w') as f:
    for row in embeddings[:count]:
      f.write('\t'.join(f'{value:.5f}' for value in row) + '\n')
  with tf.io.gfile.GFile(os.path.join(projector_dir, 'metadata.tsv'),
                         'w') as f:
    for term in vocabulary[:count]:
      f.write(term.replace('\t', ' ') + '\n')
  with tf.io.gfile.GFile(os.path.join(log_dir, 'projector_config.pbtxt'),
                         'w') as f:
    f.write('embeddings {\n'
            f'  tensor_name: "{EMBEDDING_LAYER}"\n'
            '  tensor_path: "projector/vectors.tsv"\n'
            '  metadata_path: "projector/metadata.tsv"\n}\n')
  return projector_dir


def training_record(tokenization: Dict[str, Any],
                    vocabulary_file: Optional[str], num_ids: int,
                    embedding_dim: int) -> Dict[str, Any]:
  """What a later model must match to start from this one's weights.

  Hashing maps an n-gram to the same id in every model; a vocabulary does so
  only if it is the same file, hence its digest.
  """
  digest = None
  if vocabulary_file:
    with tf.io.gfile.GFile(vocabulary_file, 'rb') as f:
      digest = hashlib.sha256(f.read()).hexdigest()
  return {'tokenization': dict(tokenization), 'vocabulary_sha256': digest,
          'num_ids': num_ids, 'embedding_dim': embedding_dim}


def read_training_record(model_dir: str) -> Optional[Dict[str, Any]]:
  path = os.path.join(model_dir, 'assets.extra', contract.TRAINING_FILE)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def warm_start_incompatibility(base: Optional[Dict[str, Any]],
                               current: Dict[str, Any]) -> Optional[str]:
  """Why a model trained as `base` cannot seed one trained as `current`;
  None when it can."""
  if base is None:
    return f'the base model has no {contract.TRAINING_FILE}'
  for key in ('tokenization', 'vocabulary_sha256', 'num_ids', 'embedding_dim'):
    if base.get(key) != current[key]:
      if key == 'vocabulary_sha256':
        return 'the vocabulary changed with the new data'
      return f'{key} differs ({base.get(key)} -> {current[key]})'
  return None


def warm_start(model: tf.keras.Model, base_model_dir: Optional[str],
               record: Dict[str, Any], enabled: bool) -> Dict[str, Any]:
  """Copies the base model's weights into `model` when they fit.

  Returns what happened, for the run log and the exported training.json:
  `{'warm_started_from': dir or None, 'reason': ...}`. All weights or none:
  a partly warm-started model would be neither one thing nor the other.
  """
  if not enabled:
    return {'warm_started_from': None, 'reason': 'warm start is off'}
  if not base_model_dir:
    return {'warm_started_from': None, 'reason': 'no blessed model yet'}
  reason = warm_start_incompatibility(read_training_record(base_model_dir),
                                      record)
  if reason is None:
    base = {v.name: v for v in tf.saved_model.load(base_model_dir).model.variables}
    mismatched = [v.name for v in model.variables
                  if v.name not in base or base[v.name].shape != v.shape]
    if mismatched:
      reason = f'the base model lacks or differs in {mismatched}'
    else:
      for variable in model.variables:
        variable.assign(base[variable.name])
      return {'warm_started_from': base_model_dir,
              'reason': 'same tokenization as the latest blessed model'}
  return {'warm_started_from': None, 'reason': reason}


def write_training_file(model_dir: str, record: Dict[str, Any]) -> str:
  path = os.path.join(model_dir, 'assets.extra', contract.TRAINING_FILE)
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.gfile.GFile(path, 'w') as f:
    json.dump(record, f, indent=2, sort_keys=True)
  return path


def run_fn(fn_args: tfx.components.FnArgs) -> None:
  """TFX Trainer entry point."""
  params = hyperparameters(fn_args.custom_config)
  tokenization = vocabulary_settings(fn_args.custom_config)
  tf.keras.utils.set_random_seed(params['seed'])
  tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)

  train_dataset = _transformed_dataset(
      fn_args.train_files, fn_args.data_accessor, tf_transform_output,
      params['batch_size'], shuffle_seed=params['seed'])
  eval_dataset = _transformed_dataset(
      fn_args.eval_files, fn_args.data_accessor, tf_transform_output,
      params['batch_size'], shuffle_seed=None)

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
  initializer, embedding_dim = _embedding_init(params, vocabulary, num_ids)
  model = build_model(
      num_ids, embedding_dim, params['token_dropout'],
      params['learning_rate'], params['rating_loss_weight'],
      embeddings_initializer=initializer,
      trainable_embeddings=(not params['pretrained_embeddings']
                            or params['train_pretrained_embeddings']))
  model.summary(print_fn=logging.info)
  record = training_record(tokenization, vocabulary_file, num_ids,
                           embedding_dim)
  started = warm_start(model, fn_args.base_model, record,
                       params['warm_start'])
  logging.info('Warm start: %s (%s).',
               'from ' + started['warm_started_from']
               if started['warm_started_from'] else 'no, trained from scratch',
               started['reason'])

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
          # Early stopping watches the sentiment head, which is what the
          # Evaluator gates on; the rating head only rides along.
          tf.keras.callbacks.EarlyStopping(
              monitor=f'val_{contract.PROBABILITY_OUTPUT_KEY}_loss',
              patience=params['early_stopping_patience'],
              restore_best_weights=True),
          tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir),
      ],
      verbose=2)

  term_ratios = None
  if vocabulary is not None:
    term_ratios = nb_ratios_by_id(train_dataset.take(steps_per_epoch or -1),
                                  num_ids)[:len(vocabulary)]
    write_projector_files(
        fn_args.model_run_dir,
        term_vectors_of(model.get_layer(EMBEDDING_LAYER).embeddings.numpy(),
                        term_ratios, len(vocabulary)),
        vocabulary, contract.NUM_PROJECTOR_TERMS)
  module = ServingModule(model, tf_transform_output, vocabulary_file,
                         term_ratios)
  tf.saved_model.save(module, fn_args.serving_model_dir,
                      signatures=module.signatures())

  texts = read_raw_texts(fn_args.eval_files, contract.NUM_VERIFICATION_SAMPLES)
  write_warmup_requests(fn_args.serving_model_dir, texts[:4])
  write_verification_samples(fn_args.serving_model_dir, texts)
  write_training_file(fn_args.serving_model_dir, {**record, **started})
