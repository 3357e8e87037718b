"""`make bench-classes`: a real four-class task from real text, the IMDB
star ratings (1-2, 3-4, 7-8, 9-10 stars), through the table path.

Exports the dev archive (IMDB_DATA, default the shared one) to a CSV with
`text`, `stars` (the class), `rating` (the numeric target of the second head)
and `split` (the archive's test/ is `test`; 10% of its train/, by a hash of
the review id, is `eval`), runs the pipeline on it as a user would
(`--data reviews.csv --label-column stars --target-column rating
--split-column split`), and reads TFMA's accuracy and macro F1 on `test`.
Beside it, on the same splits: the majority class, and scikit-learn's
logistic regression on the same features (the n-gram ids the run's own
Transform graph gives each review, as presence). Prints a table, writes
JSON. A benchmark, not a test: nothing here asserts a target.
"""

import csv
import os
from typing import Dict, List, Sequence, Tuple

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
import contract

# Star ranges -> class names (5 and 6 stars are not in the dataset).
STAR_CLASSES = ((1, 2, '1-2 stars'), (3, 4, '3-4 stars'), (7, 8, '7-8 stars'),
                (9, 10, '9-10 stars'))
EVAL_PERCENT = 10
# Above any id the Transform graph gives (the default hash buckets included).
_ID_SPACE = contract.DEFAULT_HASH_BUCKETS + 1


def star_class(rating: int) -> str:
  for low, high, name in STAR_CLASSES:
    if low <= rating <= high:
      return name
  raise ValueError(f'rating {rating} is in no star class')


def export_csv(archive: str, path: str) -> Dict[str, int]:
  """The archive's reviews as a CSV of the table path; rows per split."""
  from components.imdb_example_gen import reviews
  counts = {contract.TRAIN_SPLIT: 0, contract.EVAL_SPLIT: 0,
            contract.TEST_SPLIT: 0}
  with open(path, 'w', encoding='utf-8', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['id', 'text', 'stars', 'rating', 'split'])
    # Eval is carved by ImdbExampleGen's key, each review's movie (from its
    # lowest buckets, where ImdbExampleGen takes the highest).
    movies = reviews.movie_urls([archive], contract.TRAIN_SPLIT)
    for source_split in (contract.TRAIN_SPLIT, contract.TEST_SPLIT):
      for review in reviews.iter_archive_reviews(archive, source_split):
        split = source_split
        if (source_split == contract.TRAIN_SPLIT and reviews.bucket_of(
            reviews.split_key(review.review_id, movies),
            100) < EVAL_PERCENT):
          split = contract.EVAL_SPLIT
        writer.writerow([review.review_id, review.text.decode('utf-8'),
                         star_class(review.rating), review.rating, split])
        counts[split] += 1
  return counts


def macro_f1(truth: Sequence[int], predicted: Sequence[int],
             num_classes: int) -> float:
  from sklearn import metrics
  return float(metrics.f1_score(truth, predicted, average='macro',
                                labels=list(range(num_classes)),
                                zero_division=0))


def _examples(examples_uri: str, split: str,
              classes: List[str]) -> Tuple[List[bytes], List[int]]:
  import glob
  import tensorflow as tf
  files = sorted(glob.glob(os.path.join(examples_uri, f'Split-{split}', '*')))
  texts, labels = [], []
  for record in tf.data.TFRecordDataset(files, compression_type='GZIP'):
    feature = tf.train.Example.FromString(record.numpy()).features.feature
    texts.append(feature[contract.TEXT_KEY].bytes_list.value[0])
    labels.append(classes.index(
        feature[contract.LABEL_KEY].bytes_list.value[0].decode()))
  return texts, labels


def _features(transform_uri: str, texts: List[bytes], num_ids: int):
  """Presence of each n-gram id of the run's Transform graph: a sparse
  [reviews, ids] matrix, the model's own input without its NB weights."""
  import numpy as np
  import tensorflow as tf
  import tensorflow_transform as tft
  from scipy import sparse
  output = tft.TFTransformOutput(transform_uri)
  layer = output.transform_features_layer()
  # The inferred schema gives each text the shape [1].
  shape = [-1] + list(output.raw_feature_spec()[contract.TEXT_KEY].shape)
  rows, cols = [], []
  for start in range(0, len(texts), 512):
    batch = tf.reshape(tf.constant(texts[start:start + 512]), shape)
    ids = layer({contract.TEXT_KEY: batch})[contract.TOKEN_IDS_KEY]
    rows.append(ids.value_rowids().numpy() + start)
    cols.append(ids.values.numpy())
  rows, cols = np.concatenate(rows), np.concatenate(cols)
  return sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                           shape=(len(texts), num_ids))


def baselines(examples_uri: str, transform_uri: str, classes: List[str]
              ) -> Dict[str, Dict[str, float]]:
  """Majority class and logistic regression, fit on train, scored on test."""
  import collections
  import time
  import numpy as np
  from sklearn import linear_model
  train_texts, train_labels = _examples(examples_uri, contract.TRAIN_SPLIT,
                                        classes)
  test_texts, test_labels = _examples(examples_uri, contract.TEST_SPLIT,
                                      classes)
  majority = collections.Counter(train_labels).most_common(1)[0][0]
  result = {'majority class': {
      'accuracy': float(np.mean(np.array(test_labels) == majority)),
      'macro_f1': macro_f1(test_labels, [majority] * len(test_labels),
                           len(classes)),
      'class': classes[majority]}}
  # Ids are below the vocabulary size plus the OOV buckets (or the hash
  # buckets); the matrix is as wide as the largest id seen.
  train = _features(transform_uri, train_texts, _ID_SPACE)
  test = _features(transform_uri, test_texts, _ID_SPACE)
  width = max(train.indices.max(initial=0), test.indices.max(initial=0)) + 1
  train, test = train[:, :width], test[:, :width]
  start = time.time()
  model = linear_model.LogisticRegression(max_iter=1000, C=1.0)
  model.fit(train, train_labels)
  predicted = model.predict(test)
  result['scikit-learn logistic regression'] = {
      'accuracy': float(np.mean(predicted == np.array(test_labels))),
      'macro_f1': macro_f1(test_labels, predicted.tolist(), len(classes)),
      'fit_seconds': round(time.time() - start, 1),
      'features': int(width)}
  return result


def format_table(result) -> str:
  lines = [f'Four star classes of {result["data"]} '
           f'({result["rows"]["train"]:,} train, {result["rows"]["eval"]:,} '
           f'eval, {result["rows"]["test"]:,} test reviews):',
           f'  {"model":<52} {"accuracy":>9} {"macro F1":>9}']
  for name, figures in result['models'].items():
    lines.append(f'  {name:<52} {figures["accuracy"]:>9.4f} '
                 f'{figures["macro_f1"]:>9.4f}')
  lines.append(f'  pipeline wall time {result["wall_seconds"]:.0f} s, peak '
               f'RSS {result["peak_gb"]:.2f} GB')
  return '\n'.join(lines)


def main(argv=None) -> int:
  parser = common.argument_parser(__doc__.split('\n')[0], 'bench-classes')
  args = parser.parse_args(argv)
  if not os.path.exists(args.data):
    parser.error(f'{args.data}: no such file or directory (set IMDB_DATA)')
  common.require_fresh_output_dir(parser, args.output_dir)
  os.makedirs(args.output_dir, exist_ok=True)
  table = os.path.join(args.output_dir, 'reviews.csv')
  rows = export_csv(args.data, table)
  flags = ['--label-column', 'stars', '--target-column', 'rating',
           '--split-column', 'split', '--id-column', 'id']
  wall_seconds, peak_gb = common.run_pipeline(
      table, args.output_dir, flags + list(args.pipeline_args),
      os.path.join(args.output_dir, 'bench-run.log'))
  from contract import evaluation
  from pipeline import configs as config_lib
  from runs import summary
  config = config_lib.from_args(
      ['--data', table, '--output-dir', args.output_dir] + flags
      + list(args.pipeline_args), environ={})
  run = summary.latest_run(config.metadata_path, config.pipeline_name)
  head = contract.PROBABILITIES_OUTPUT_KEY
  classes = [name for _, _, name in STAR_CLASSES]
  examples_uri = common.examples_uri(config.pipeline_root, 'TableExampleGen')
  transform_uri = common.artifact_uri(config.pipeline_root, 'Transform',
                                      'transform_graph')
  pipeline_figures = {
      'accuracy': run.metrics.get(evaluation.metric_name(
          head, '', 'sparse_categorical_accuracy'), float('nan')),
      'macro_f1': run.metrics.get(evaluation.metric_name(
          head, '', 'macro_f1_score'), float('nan')),
      'rating_mae': run.metrics.get(evaluation.metric_name(
          contract.RATING_OUTPUT_KEY, '', 'mean_absolute_error')),
      'blessed': run.blessed,
  }
  result = {
      'data': args.data, 'rows': rows, 'classes': classes,
      'wall_seconds': round(wall_seconds, 1), 'peak_gb': round(peak_gb, 2),
      'models': {'pipeline (NB-weighted n-gram embeddings, softmax)':
                 pipeline_figures,
                 **baselines(examples_uri, transform_uri, classes)},
      'per_class': {name: value for name, value in run.metrics.items()
                    if '/classId:' in name},
  }
  common.write_result(args.output_dir, 'bench-classes.json', result,
                      format_table)
  return 0


if __name__ == '__main__':
  raise SystemExit(main())
