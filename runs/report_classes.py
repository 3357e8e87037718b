"""The report's view of a table's classes: examples per split and class
(StatisticsGen), the class names (the model's assets/label_classes.txt) and
TFMA's multi-class confusion matrix, as HTML tables. The IMDB reviews'
0/1 labels have none of these: their label is numeric and the binary
sections of report.py show them."""

import os
from typing import Dict, List, Optional

import tensorflow as tf

import contract
from runs import report_html

# {split: {class name: examples}}
ClassCounts = Dict[str, Dict[str, int]]


def class_counts(statistics_uri: str) -> Optional[ClassCounts]:
  """Examples per split and class name when the label is a class name (a
  table); None when it is IMDB's numeric 0/1."""
  # pylint: disable-next=g-import-not-at-top
  import tensorflow_data_validation as tfdv
  counts: ClassCounts = {}
  for path in sorted(tf.io.gfile.glob(os.path.join(
      statistics_uri, 'Split-*', 'FeatureStats.pb'))):
    split = os.path.basename(os.path.dirname(path))[len('Split-'):]
    dataset = tfdv.load_stats_binary(path).datasets[0]
    for feature in dataset.features:
      if list(feature.path.step) != [contract.LABEL_KEY]:
        continue
      if not feature.HasField('string_stats'):
        return None
      counts[split] = {
          bucket.label: int(bucket.sample_count)
          for bucket in feature.string_stats.rank_histogram.buckets}
  return counts or None


def class_names(model_uri: Optional[str]) -> Optional[List[str]]:
  """The class names of a Trainer's model, in the order of its outputs."""
  if not model_uri:
    return None
  path = os.path.join(model_uri, 'Format-Serving', 'assets',
                      contract.CLASSES_FILE)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return f.read().splitlines()


def class_counts_table(counts: ClassCounts, order: List[str]) -> str:
  names = sorted({name for split in counts.values() for name in split})
  rows = []
  for split in order:
    total = sum(counts.get(split, {}).values())
    rows.append([split, f'{total:,}'] + [
        f'{counts.get(split, {}).get(name, 0):,} '
        f'({counts.get(split, {}).get(name, 0) / max(total, 1):.0%})'
        for name in names])
  return report_html.table(['split', 'examples'] + names, rows)


def multi_class_matrix(tfma_plots) -> Optional[Dict[int, Dict[int, float]]]:
  """{actual class: {predicted class: examples}} of TFMA's
  MultiClassConfusionMatrixPlot (its one, argmax, threshold)."""
  matrices = tfma_plots.get('multiClassConfusionMatrixAtThresholds', {}).get(
      'matrices', [])
  if not matrices:
    return None
  matrix: Dict[int, Dict[int, float]] = {}
  for entry in matrices[0].get('entries', []):
    actual = int(entry.get('actualClassId', 0))
    predicted = int(entry.get('predictedClassId', 0))
    matrix.setdefault(actual, {})[predicted] = float(
        entry.get('numWeightedExamples', 0.0))
  return matrix


def confusion_table(matrix: Dict[int, Dict[int, float]],
                    names: Optional[List[str]]) -> str:
  """Rows: the actual class; columns: the predicted one."""
  ids = sorted(set(matrix) | {p for row in matrix.values() for p in row}
               | set(range(len(names or []))))
  ids = [i for i in ids if i >= 0]

  def name(class_id: int) -> str:
    if names and class_id < len(names):
      return names[class_id]
    return f'class {class_id}'

  header = ['actual \\ predicted'] + [name(i) for i in ids]
  rows = [[name(actual)]
          + [f'{matrix.get(actual, {}).get(predicted, 0.0):,.0f}'
             for predicted in ids] for actual in ids]
  return report_html.table(header, rows)
