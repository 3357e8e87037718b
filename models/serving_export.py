"""The exported model: the serving signatures, the SavedModel and the files
shipped beside it in assets.extra (TF Serving warm-up requests, verification
samples)."""

import json
import os
import tempfile
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_serving.apis import model_pb2
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_log_pb2

import contract
from contract import serving_directory
from models import explanations
from models import model_interface
from models import term_vectors


def _batch_of_strings_function(input_name: str):
  """A signature function over a batch of strings, traced without AutoGraph:
  the signatures branch on Python values only, never on tensors, and
  AutoGraph's transpiling of them and of what they call took 40% of an
  export (a process's first: 6.8 s instead of 11.5 s)."""
  return tf.function(input_signature=[tf.TensorSpec(
      [None], tf.string, name=input_name)], autograph=False)


class ServingModule(tf.Module):
  """The exported signatures. The Transform graph is tracked as `tft_layer`,
  so the vocabulary travels as an asset of the SavedModel."""

  def __init__(self, model: tf.keras.Model,
               tf_transform_output: tft.TFTransformOutput,
               vocabulary_file: Optional[str] = None,
               term_ratios: Optional[np.ndarray] = None,
               tokenization: Optional[Dict[str, Any]] = None,
               classes: Optional[Sequence[str]] = None):
    """`vocabulary_file` (the Transform vocabulary, one term a line) and the
    terms' NB ratios in vocabulary order enable the `similar_terms`
    signature; hashing models have no terms. `tokenization`, the settings
    the Transform ran with, enables `explain` (for a model with the binary
    sigmoid head: a softmax over classes has no single logit to split).
    `classes`: a table model's sorted class names (None: IMDB's)."""
    super().__init__()
    self.classes = None
    if classes:
      self.classes = tf.constant(list(classes))
      # The class names travel with the model: assets/label_classes.txt.
      self.classes_file = tf.saved_model.Asset(write_classes_file(classes))
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
      self.similar_terms = _batch_of_strings_function(
          contract.SERVING_INPUT_KEY)(self._similar_terms)
    if tokenization is not None and contract.PROBABILITY_OUTPUT_KEY in (
        self.model.output_names):
      self._add_explain(tokenization, vocabulary_file)

  def _model_inputs(self, text: tf.Tensor) -> Dict[str, tf.Tensor]:
    # As the raw schema shapes it: a scalar per review (the curated schema),
    # or one value in a list (SchemaGen's inferred shape, [1]).
    text = tf.reshape(
        text, [-1] + list(self._example_spec[contract.TEXT_KEY].shape))
    return model_interface.model_inputs(
        self.tft_layer({contract.TEXT_KEY: text}))

  def _predict(self, text: tf.Tensor) -> Dict[str, tf.Tensor]:
    outputs = self.model(self._model_inputs(text))
    if self.classes is not None:
      return self._predict_class(outputs)
    probability = tf.reshape(outputs[contract.PROBABILITY_OUTPUT_KEY], [-1])
    rating = model_interface.unscale_rating(
        tf.reshape(outputs[model_interface.RATING_SCALED], [-1]))
    is_positive = tf.cast(probability >= contract.DECISION_THRESHOLD, tf.int32)
    return {
        contract.PROBABILITY_OUTPUT_KEY: probability,
        contract.LABEL_OUTPUT_KEY: tf.gather(
            tf.constant(contract.LABEL_NAMES), is_positive),
        contract.RATING_OUTPUT_KEY: rating,
    }

  def _predict_class(self, outputs: Dict[str, tf.Tensor]
                     ) -> Dict[str, tf.Tensor]:
    """A table model: the most probable class's name and every class's
    probability; with two classes also `probability` (of the second), the
    binary contract IMDB's clients read."""
    probabilities = outputs[contract.PROBABILITIES_OUTPUT_KEY]
    predicted = {
        contract.PROBABILITIES_OUTPUT_KEY: probabilities,
        contract.LABEL_OUTPUT_KEY: tf.gather(
            self.classes, tf.argmax(probabilities, axis=1)),
    }
    if self.classes.shape[0] == 2:
      predicted[contract.PROBABILITY_OUTPUT_KEY] = probabilities[:, 1]
    if model_interface.RATING_SCALED in outputs:
      predicted[contract.RATING_OUTPUT_KEY] = tf.reshape(
          outputs[model_interface.RATING_SCALED], [-1])
    return predicted

  @_batch_of_strings_function(contract.SERVING_INPUT_KEY)
  def serve_text(self, text):
    return self._predict(text)

  @_batch_of_strings_function(contract.EXAMPLES_INPUT_KEY)
  def serve_examples(self, examples):
    parsed = tf.io.parse_example(examples, self._example_spec)
    return self._predict(parsed[contract.TEXT_KEY])

  @_batch_of_strings_function(contract.EXAMPLES_INPUT_KEY)
  def transform_features(self, examples):
    """Transformed features of labelled examples; TFMA slices on them."""
    parsed = tf.io.parse_example(examples, self._raw_feature_spec)
    transformed = self.tft_layer(parsed)
    features = {
        contract.LENGTH_BUCKET_KEY: transformed[contract.LENGTH_BUCKET_KEY]}
    if self.classes is not None:
      # A table's label is a class name; TFMA reads its index from here.
      features[contract.LABEL_KEY] = transformed[contract.LABEL_KEY]
    return features

  def _similar_terms(self, text):
    """The vocabulary terms whose embeddings are nearest (cosine) to each
    review's vector; OOV buckets are not terms and are left out."""
    embedding_layer = self.model.get_layer(model_interface.EMBEDDING_LAYER)
    inputs = self._model_inputs(text)
    review_vectors = tf.math.l2_normalize(embedding_layer(
        inputs[contract.TOKEN_IDS_KEY], inputs[contract.TOKEN_WEIGHTS_KEY]),
                                          axis=1)
    num_terms = self.term_ratios.shape[0]
    vectors = tf.math.l2_normalize(term_vectors.term_vectors_of(
        embedding_layer.embeddings, self.term_ratios, num_terms), axis=1)
    scores, ids = tf.math.top_k(
        tf.matmul(review_vectors, vectors, transpose_b=True),
        k=min(contract.NUM_SIMILAR_TERMS, num_terms))
    return {contract.SIMILAR_TERM_OUTPUT_KEY: self.terms.lookup(
                tf.cast(ids, tf.int64)),
            contract.SIMILARITY_OUTPUT_KEY: scores}

  def _add_explain(self, tokenization: Dict[str, Any],
                   vocabulary_file: Optional[str]) -> None:
    """The `explain` signature (models/explanations.py): the top n-grams of
    each review by their exact contribution to the sentiment logit."""
    self.ngram_namer = explanations.NgramNamer(tokenization, vocabulary_file)
    self.explain = _batch_of_strings_function(
        contract.SERVING_INPUT_KEY)(self._explain)

  def _explain(self, text):
    predictions = self._predict(text)
    return {
        contract.PROBABILITY_OUTPUT_KEY:
            predictions[contract.PROBABILITY_OUTPUT_KEY],
        contract.LABEL_OUTPUT_KEY: predictions[contract.LABEL_OUTPUT_KEY],
        **explanations.explain(self.model, self.ngram_namer, text,
                               self._model_inputs(text)),
    }

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
    if hasattr(self, 'explain'):
      signatures[contract.EXPLAIN_SIGNATURE] = (
          self.explain.get_concrete_function())
    return signatures


def export_serving_model(model: tf.keras.Model,
                         tf_transform_output: tft.TFTransformOutput,
                         model_dir: str, vocabulary_file: Optional[str],
                         term_ratios: Optional[np.ndarray],
                         sample_texts: List[str],
                         tokenization: Optional[Dict[str, Any]] = None,
                         classes: Optional[Sequence[str]] = None) -> None:
  """The SavedModel with its signatures, then its warm-up requests (the
  first four sample texts) and its verification samples (all of them)."""
  module = ServingModule(model, tf_transform_output, vocabulary_file,
                         term_ratios, tokenization, classes)
  tf.saved_model.save(module, model_dir, signatures=module.signatures())
  write_warmup_requests(model_dir, sample_texts[:4])
  write_verification_samples(model_dir, sample_texts, module.serve_text)


def write_classes_file(classes: Sequence[str]) -> str:
  """The class names, one a line, in a new temporary directory: saving the
  model copies the file into its assets/."""
  path = os.path.join(tempfile.mkdtemp(), contract.CLASSES_FILE)
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(''.join(f'{name}\n' for name in classes))
  return path


# Where the files beside the SavedModel go is part of the serving directory's
# description, which its readers share.
assets_extra_path = serving_directory.assets_extra_path


def new_assets_extra_file(model_dir: str, file_name: str) -> str:
  """`assets_extra_path`, its directory made, for writing."""
  path = assets_extra_path(model_dir, file_name)
  tf.io.gfile.makedirs(os.path.dirname(path))
  return path


def write_warmup_requests(model_dir: str, texts: List[str]) -> str:
  """TF Serving warm-up file: PredictionLogs of raw-text requests."""
  path = new_assets_extra_file(model_dir, contract.WARMUP_FILE)
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


def write_verification_samples(model_dir: str, texts: List[str],
                               serve: Optional[Any] = None) -> str:
  """`verification.jsonl`: TF Serving REST requests and the responses this
  very SavedModel gives, one review a line. Replaying them against any server
  that serves this version must give the same answers.

  `serve`: the exporting module's own `serve_text`, the function saved as
  `serving_default` (same graph, same variables), which saves loading the
  model back (3 s of a Trainer run); by default the loaded model's."""
  if serve is None:
    serve = tf.saved_model.load(model_dir).signatures[
        contract.SERVING_SIGNATURE]
  outputs = serve(**{contract.SERVING_INPUT_KEY: tf.constant(texts)})
  columns = {key: [value.decode() if isinstance(value, bytes) else value
                   for value in tensor.numpy().tolist()]
             for key, tensor in outputs.items()}
  path = new_assets_extra_file(model_dir, contract.VERIFICATION_FILE)
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
