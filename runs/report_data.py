"""What the run report shows, read from a run's artifacts; no plotting.

StatisticsGen's statistics, the validators' anomalies, the Examples' texts
tokenized by the run's own Transform graph, the vocabulary, the Trainer's
TensorBoard logs, what of TFMA's output the figures need, what each metric
means (its unit, which way is better) and which pushed version a model is.
Paths may be on object storage: everything is read through TensorFlow's file
system.
"""

import collections
import json
import math
import os
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_metadata.proto.v0 import anomalies_pb2

import contract
from contract import serving_directory
from runs import summary as summary_lib
from runs import transform_tokenizer

_BATCH = 512
# Reviews of a split the report tokenizes at most, evenly spaced (a split is
# stored sorted by label, so not the first ones): the charts and rates of a
# few thousand reviews are those of the split, and tokenizing all of a big
# one took most of the report's time.
TOKENIZED_REVIEWS = 4000
CALIBRATION_BINS = 10

# Slices: {value: {metric name: value}} of one feature, in a sensible order.
Slices = List[Tuple[object, Dict[str, float]]]

# Not worth a chart per slice: counts and means, shown in tables.
_NOT_PLOTTED = ('example_count', 'mean_label', 'mean_prediction')
# Undefined or meaningless on a slice whose examples all have one label (IMDB
# star ratings: 1-4 are all negative, 7-10 all positive).
_NEEDS_BOTH_CLASSES = ('auc', 'auc_precision_recall', 'precision', 'recall',
                       'calibration')


def first_uri(run: summary_lib.RunSummary, component: str,
              type_name: str) -> Optional[str]:
  """The URI of a component's first output of a type in the run, if any."""
  for records in run.outputs.get(component, {}).values():
    for record in records:
      if record.type == type_name:
        return record.uri
  return None


def first_record(records: summary_lib.Artifacts, component: str, key: str
                 ) -> Optional[summary_lib.ArtifactRecord]:
  """A component's first artifact under an input or output key, if any."""
  found = records.get(component, {}).get(key, [])
  return found[0] if found else None


# --- Data -----------------------------------------------------------------


def split_statistics(statistics_uri: str) -> Dict[str, Tuple[int, float]]:
  """{split: (examples, share of positive labels)} from StatisticsGen."""
  # pylint: disable-next=g-import-not-at-top
  import tensorflow_data_validation as tfdv
  splits = {}
  for path in sorted(tf.io.gfile.glob(os.path.join(
      statistics_uri, 'Split-*', 'FeatureStats.pb'))):
    split = os.path.basename(os.path.dirname(path))[len('Split-'):]
    dataset = tfdv.load_stats_binary(path).datasets[0]
    positive_share = float('nan')
    for feature in dataset.features:
      if list(feature.path.step) == [contract.LABEL_KEY]:
        positive_share = feature.num_stats.mean  # labels are 0/1
    splits[split] = (int(dataset.num_examples), positive_share)
  return splits


def split_order(splits) -> List[str]:
  """train, eval, test first, then any other split by name."""
  known = [contract.TRAIN_SPLIT, contract.EVAL_SPLIT, contract.TEST_SPLIT]
  return ([s for s in known if s in splits]
          + sorted(s for s in splits if s not in known))


def read_evenly_spaced_texts(examples_uri: str, split: str, count: int,
                             limit: int) -> List[bytes]:
  """At most `limit` review texts of one split of `count` reviews (as
  StatisticsGen counted them), every k-th from the first. Only the texts
  kept are parsed, so the report's memory does not grow with the data
  (holding every text was the run's peak at 220,000 reviews)."""
  files = sorted(tf.io.gfile.glob(os.path.join(examples_uri,
                                               f'Split-{split}', '*')))
  kept = tf.data.TFRecordDataset(files, compression_type='GZIP').shard(
      max(1, math.ceil(count / limit)), 0)
  spec = {contract.TEXT_KEY: tf.io.FixedLenFeature([], tf.string)}
  texts = []
  for batch in kept.batch(_BATCH):
    texts.extend(tf.io.parse_example(batch, spec)[contract.TEXT_KEY]
                 .numpy().tolist())
  return texts


class TokenStatistics:
  """Words per review, word counts and the n-grams' out-of-vocabulary count
  of one split, tokenized by the run's Transform graph, as the model saw
  them."""

  def __init__(self):
    self.lengths: List[int] = []
    self.words = collections.Counter()
    self.ngrams = 0
    self.out_of_vocabulary = 0


def token_statistics(texts: Sequence[bytes],
                     tokenizer: transform_tokenizer.TransformTokenizer,
                     vocabulary: Optional[Set[bytes]]) -> TokenStatistics:
  # Only words are counted: counting every n-gram of a large split (up to
  # trigrams by default) would take gigabytes for the sake of one chart.
  stats = TokenStatistics()
  for start in range(0, len(texts), _BATCH):
    tokens = tokenizer(texts[start:start + _BATCH])
    stats.lengths.extend(tokens.lengths.tolist())
    stats.words.update(tokens.words)
    if vocabulary is not None and tokens.terms is not None:
      stats.ngrams += len(tokens.terms)
      stats.out_of_vocabulary += sum(1 for t in tokens.terms
                                     if t not in vocabulary)
  return stats


def vocabulary(transform_graph_uri: str) -> Optional[Set[bytes]]:
  """The Transform vocabulary's terms; None when the run used none (hashed
  n-gram ids)."""
  path = tft.TFTransformOutput(transform_graph_uri).vocabulary_file_by_name(
      contract.VOCABULARY_NAME)  # None if the graph has no such vocabulary
  if not path or not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path, 'rb') as f:
    return {line.rstrip(b'\n') for line in f}


def ngram_settings(run: summary_lib.RunSummary) -> Dict[str, int]:
  """`ngram_max` and `max_words` as the run's Transform had them."""
  custom_config = run.execution_properties.get('Transform', {}).get(
      'custom_config')
  # The pipeline passes every tokenization setting; the defaults are for a
  # Transform run with no custom_config.
  config = json.loads(custom_config) if custom_config else {}
  return {'ngram_max': int(config.get('ngram_max', contract.DEFAULT_NGRAM_MAX)),
          'max_words': int(config.get('max_words', contract.DEFAULT_MAX_WORDS))}


# The file each validator writes per split (ExampleValidator: Split-<split>)
# or split pair (DistributionValidator: SplitPair-<new>_<previous>).
_ANOMALIES_FILE = 'SchemaDiff.pb'
# The validators' `blessed` per split: DistributionValidator's 2 means there
# were no previous statistics to compare with, so nothing was checked.
NO_BASELINE_STATISTICS = 2


def anomalies(anomalies_uri: str) -> Dict[str, List[Tuple[str, str, str]]]:
  """{split (or split pair): [(feature or 'dataset', anomaly, details)]} of
  an ExampleAnomalies artifact; a clean split has an empty list."""
  found = {}
  for path in sorted(tf.io.gfile.glob(os.path.join(
      anomalies_uri, 'Split*-*', _ANOMALIES_FILE))):
    split = os.path.basename(os.path.dirname(path)).split('-', 1)[1]
    report = anomalies_pb2.Anomalies()
    with tf.io.gfile.GFile(path, 'rb') as f:
      report.ParseFromString(f.read())
    found[split] = [(feature, reason.short_description, reason.description)
                    for feature, info in sorted(report.anomaly_info.items())
                    for reason in info.reason]
    if report.HasField('dataset_anomaly_info'):
      found[split] += [('dataset', reason.short_description,
                        reason.description)
                       for reason in report.dataset_anomaly_info.reason]
  return {split: found[split] for split in split_order(found)}


# --- Training -------------------------------------------------------------


def epoch_curves(model_run_uri: str) -> Dict[str, Dict[str, List[float]]]:
  """{metric: {'train'|'validation': [value per epoch]}} from the Keras
  TensorBoard callback's event files."""
  # pylint: disable-next=g-import-not-at-top
  from tensorboard.backend.event_processing import event_accumulator
  curves = collections.defaultdict(dict)
  for run_name in ('train', 'validation'):
    directory = os.path.join(model_run_uri, run_name)
    if not tf.io.gfile.isdir(directory):
      continue
    events = event_accumulator.EventAccumulator(
        directory, size_guidance={event_accumulator.TENSORS: 0})
    events.Reload()
    for tag in events.Tags()['tensors']:
      if tag.startswith('epoch_'):
        points = sorted((e.step, float(tf.make_ndarray(e.tensor_proto)))
                        for e in events.Tensors(tag))
        curves[tag[len('epoch_'):]][run_name] = [v for _, v in points]
  return dict(curves)


# --- Evaluation -----------------------------------------------------------


# Which way a metric is better, by its name without the output: TFMA's
# Calibration is mean prediction over mean label, best at 1.
_HIGHER_IS_BETTER = ('binary_accuracy', 'accuracy', 'auc',
                     'auc_precision_recall', 'precision', 'recall')
_LOWER_IS_BETTER = ('mean_absolute_error', 'mean_squared_error',
                    'root_mean_squared_error', 'loss')
_BEST_AT_ONE = ('calibration',)
# The rating head predicts stars: its errors are in stars (squared: stars²).
_UNITS = {'mean_absolute_error': 'stars', 'root_mean_squared_error': 'stars',
          'mean_squared_error': 'stars²'}
# A change smaller than this shows as +0.0000 in the tables: the same.
_SAME = 5e-5


def better_direction(metric: str) -> Optional[str]:
  """'higher', 'lower' or 'closer to 1'; None for counts and means."""
  base = _base_name(metric)
  if base in _HIGHER_IS_BETTER:
    return 'higher'
  if base in _LOWER_IS_BETTER:
    return 'lower'
  if base in _BEST_AT_ONE:
    return 'closer to 1'
  return None


def change_verdict(metric: str, candidate: Optional[float],
                   baseline: Optional[float]) -> Optional[str]:
  """Whether the candidate's value is 'better', 'worse' or the 'same' as the
  baseline's; None when the metric has no better direction or a value is
  missing."""
  direction = better_direction(metric)
  if (direction is None or candidate is None or baseline is None
      or not math.isfinite(candidate) or not math.isfinite(baseline)):
    return None
  gain = {'higher': candidate - baseline, 'lower': baseline - candidate,
          'closer to 1': abs(baseline - 1) - abs(candidate - 1)}[direction]
  if abs(gain) < _SAME:
    return 'same'
  return 'better' if gain > 0 else 'worse'


def metric_unit(metric: str) -> str:
  """What a metric's values are: 'stars' or 'stars²' for the rating head's
  errors, '0–1' for shares and ratios (accuracy, AUC, calibration, ...)."""
  return _UNITS.get(_base_name(metric), '0–1')


def metric_groups(names: Sequence[str]) -> List[Tuple[str, str, List[str]]]:
  """(output, unit, metrics) of `names`, in order: what one axis may hold
  without a squared error in stars² flattening accuracies."""
  groups = {}
  for name in names:
    output = name.rsplit('/', 1)[0] if '/' in name else ''
    groups.setdefault((output, metric_unit(name)), []).append(name)
  return [(output, unit, metrics)
          for (output, unit), metrics in groups.items()]


def _slice_sort_key(value):
  if isinstance(value, (int, float)):
    return (0, value, '')
  text = str(value)
  if text in contract.LENGTH_BUCKET_NAMES:
    return (0, contract.LENGTH_BUCKET_NAMES.index(text), text)
  return (1, 0, text)


def slice_features(by_slice) -> Dict[str, Slices]:
  """{feature: its single-feature slices}, from {slice key: metrics}."""
  features = collections.defaultdict(list)
  for slice_key, metrics in by_slice.items():
    if len(slice_key) == 1:
      column, value = slice_key[0]
      features[column].append((value, metrics))
  for column in features:
    features[column].sort(key=lambda item: _slice_sort_key(item[0]))
  return dict(features)


def _base_name(metric: str) -> str:
  return metric.rsplit('/', 1)[-1]


def plotted_overall_metrics(names: Sequence[str]) -> List[str]:
  """The metrics of `names` worth a bar chart (no counts or means)."""
  return [n for n in names if _base_name(n) not in _NOT_PLOTTED]


def slice_example_counts(slices: Slices) -> List[Optional[int]]:
  """TFMA's example count of each slice (None where it has none)."""
  counts = []
  for _, metrics in slices:
    # Named after an output (probability/example_count) when there are
    # several; every output counts the same examples.
    names = sorted(n for n in metrics if _base_name(n) == 'example_count')
    counts.append(int(metrics[names[0]]) if names else None)
  return counts


def _single_class(slices: Slices) -> bool:
  labels = [v for _, m in slices for n, v in m.items()
            if _base_name(n) == 'mean_label']
  return bool(labels) and all(v in (0.0, 1.0) for v in labels)


def plotted_slice_metrics(slices: Slices) -> Tuple[List[str], bool]:
  """The metrics worth a chart per slice, and whether every slice holds a
  single label (then those that need both are left out)."""
  # Metrics undefined on every slice (AUC where each slice holds one class)
  # would only be empty axes.
  names = [n for n in plotted_overall_metrics(
      summary_lib.ordered_metric_names({n for _, m in slices for n in m}))
           if any(math.isfinite(m.get(n, math.nan)) for _, m in slices)]
  single_class = _single_class(slices)
  if single_class:
    names = [n for n in names if _base_name(n) not in _NEEDS_BOTH_CLASSES]
  return names, single_class


def confusion_at_threshold(plots) -> Optional[Dict[str, Any]]:
  """TFMA's confusion matrix nearest the decision threshold, if any."""
  matrices = [m for m in plots['confusionMatrixAtThresholds']['matrices']
              if 'threshold' in m]
  if not matrices:
    return None
  return min(matrices, key=lambda m: abs(float(m['threshold'])
                                         - contract.DECISION_THRESHOLD))


def calibration_bins(plots) -> Dict[str, np.ndarray]:
  """TFMA's calibration histogram in CALIBRATION_BINS equal bins: `edges`,
  and per bin the `examples`, `labels` and `predictions` (weighted sums)."""
  edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
  examples = np.zeros(CALIBRATION_BINS)
  labels = np.zeros(CALIBRATION_BINS)
  predictions = np.zeros(CALIBRATION_BINS)
  for bucket in plots['calibrationHistogramBuckets']['buckets']:
    count = float(bucket.get('numWeightedExamples', 0.0))
    if not count:
      continue
    low = float(bucket.get('lowerThresholdInclusive', 0.0))
    index = int(np.clip(np.searchsorted(edges, max(low, 0.0), side='right')
                        - 1, 0, CALIBRATION_BINS - 1))
    examples[index] += count
    labels[index] += float(bucket.get('totalWeightedLabel', 0.0))
    predictions[index] += float(bucket.get('totalWeightedRefinedPrediction',
                                           0.0))
  return {'edges': edges, 'examples': examples, 'labels': labels,
          'predictions': predictions}


# --- Models ---------------------------------------------------------------


def serving_dir(run: summary_lib.RunSummary, output_dir: str) -> str:
  """Where the run's Pusher pushes: its push destination, else the output
  directory's serving directory."""
  destination = run.execution_properties.get('Pusher', {}).get(
      'push_destination')
  base = (json.loads(destination).get('filesystem', {}).get('base_directory')
          if destination else None)
  return base or serving_directory.serving_dir_of(output_dir)


def pushed_version_of(model_uri: str, serving_dir_path: str) -> Optional[int]:
  """The version a model artifact was pushed as, from the release.json of
  the versions in the serving directory; None if it was never pushed (or
  its version has been removed)."""
  model_uri = model_uri.rstrip('/')
  for version in reversed(serving_directory.version_numbers(
      serving_dir_path)):
    release = serving_directory.read_json_asset(
        os.path.join(serving_dir_path, str(version)), contract.RELEASE_FILE)
    if release and str(release.get('model', '')).rstrip('/') == model_uri:
      return version
  return None
