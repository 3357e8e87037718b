"""From a table's records to labelled examples: the columns, the splits and
the checks on the classes. Pure Python beside TensorFlow's Example proto; the
executor maps these functions over records, the pipeline calls
`scan_classes` when it is built, and the tests call them directly.

The examples have the feature names the rest of the pipeline uses (contract):
`text` (bytes), `label` (bytes, the class name: the Transform graph maps it
to the class index), `rating` (float, the optional numeric target of the
second head) and `review_id` (bytes, with an id column).
"""

import collections
import dataclasses
import math
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import tensorflow as tf

from components.imdb_example_gen import reviews
from components.table_example_gen import formats
from components.table_example_gen.formats import TableDataError
import contract

SPLITS = (contract.TRAIN_SPLIT, contract.EVAL_SPLIT, contract.TEST_SPLIT)


@dataclasses.dataclass(frozen=True)
class TableColumns:
  """Which column is what, and how the splits are made."""
  text: str = 'text'
  label: str = 'label'
  target: Optional[str] = None  # numeric, for the second head
  split: Optional[str] = None  # train / eval / test per row
  id: Optional[str] = None  # hashed for the split (default: the text)
  test_percent: int = 10
  eval_percent: int = 10
  min_class_examples: int = 5  # in train, per class

  def to_json_dict(self) -> Dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_json_dict(cls, values: Mapping[str, Any]) -> 'TableColumns':
    return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls)
                  if f.name in values})

  def required(self) -> List[str]:
    return [c for c in (self.text, self.label, self.target, self.split,
                        self.id) if c]


@dataclasses.dataclass(frozen=True)
class Row:
  source: str  # 'file:line', for error messages
  split: str
  text: bytes
  label: str
  target: Optional[float] = None
  row_id: Optional[str] = None

  def to_example(self) -> tf.train.Example:
    feature = {
        contract.TEXT_KEY: _bytes_feature(self.text),
        contract.LABEL_KEY: _bytes_feature(self.label.encode('utf-8')),
    }
    if self.target is not None:
      feature[contract.RATING_KEY] = tf.train.Feature(
          float_list=tf.train.FloatList(value=[self.target]))
    if self.row_id is not None:
      feature[contract.REVIEW_ID_KEY] = _bytes_feature(
          self.row_id.encode('utf-8'))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def _bytes_feature(value: bytes) -> tf.train.Feature:
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _cell(source: str, record: Mapping[str, Any], column: str) -> Any:
  if column not in record:
    raise TableDataError(
        f'{source}: no column {column!r} (the row has '
        f'{", ".join(map(str, record)) or "no columns"})')
  return record[column]


def _text_cell(source: str, record: Mapping[str, Any], column: str) -> str:
  value = _cell(source, record, column)
  if isinstance(value, bytes):
    value = value.decode('utf-8', errors='replace')
  if value is None or (isinstance(value, float) and math.isnan(value)):
    value = ''
  return str(value)


def split_of_key(key: str, test_percent: int, eval_percent: int) -> str:
  """`test`, `eval` or `train` by a stable hash of the row's key (sha256,
  the IMDB reviews' own), `test_percent` and `eval_percent` of 100 buckets."""
  index = reviews.hash_split_index(
      key, (test_percent, eval_percent, 100 - test_percent - eval_percent))
  return (contract.TEST_SPLIT, contract.EVAL_SPLIT, contract.TRAIN_SPLIT)[index]


def parse_row(path: str, line: int, record: Mapping[str, Any],
              columns: TableColumns) -> Row:
  """A Row, or TableDataError naming file, line and column."""
  source = f'{path}:{line}'
  text = _text_cell(source, record, columns.text)
  if not text.strip():
    raise TableDataError(f'{source}: column {columns.text!r}: empty text')
  label = _text_cell(source, record, columns.label).strip()
  if not label:
    raise TableDataError(f'{source}: column {columns.label!r}: empty label')
  target = None
  if columns.target:
    raw = _cell(source, record, columns.target)
    try:
      target = float(raw)
    except (TypeError, ValueError):
      target = float('nan')
    if not math.isfinite(target):
      raise TableDataError(
          f'{source}: column {columns.target!r}: {raw!r} is not a number')
  row_id = _text_cell(source, record, columns.id) if columns.id else None
  if columns.split:
    split = _text_cell(source, record, columns.split).strip().lower()
    if split not in SPLITS:
      raise TableDataError(
          f'{source}: column {columns.split!r}: {split!r} is not one of '
          f'{", ".join(SPLITS)}')
  else:
    split = split_of_key(row_id if row_id is not None else text,
                         columns.test_percent, columns.eval_percent)
  return Row(source=source, split=split, text=text.encode('utf-8'),
             label=label, target=target, row_id=row_id)


def read_rows(path: str, columns: TableColumns) -> Iterable[Row]:
  for line, record in formats.read_records(path):
    yield parse_row(path, line, record, columns)


# (split, label) -> (count, first source).
ClassCounts = Dict[Tuple[str, str], Tuple[int, str]]


def count_classes(rows: Iterable[Row]) -> ClassCounts:
  counts: ClassCounts = {}
  for row in rows:
    count, first = counts.get((row.split, row.label), (0, row.source))
    counts[(row.split, row.label)] = (count + 1, first)
  return counts


def _source_order(source: str) -> Tuple[str, int]:
  """'file:line' in file order (line 10 after line 9)."""
  path, _, line = source.rpartition(':')
  return path, int(line) if line.isdigit() else 0


def merge_counts(parts: Iterable[ClassCounts]) -> ClassCounts:
  merged: ClassCounts = {}
  for part in parts:
    for key, (count, first) in part.items():
      total, earliest = merged.get(key, (0, first))
      merged[key] = (total + count,
                     min(earliest, first, key=_source_order))
  return merged


def check_classes(counts: ClassCounts, columns: TableColumns,
                  where: str) -> List[str]:
  """The sorted class names of `train`, after checking that every split has
  examples, that every class has at least `min_class_examples` of them in
  train and that eval and test have no class train lacks. `where` names
  the data in the messages."""
  by_split = collections.defaultdict(dict)
  for (split, label), value in counts.items():
    by_split[split][label] = value
  for split in SPLITS:
    if not by_split.get(split):
      how = (f'no row says {split!r} in column {columns.split!r}'
             if columns.split else 'the hash split left it empty; the table '
             'is too small')
      raise TableDataError(f'{where}: the {split} split has no examples ({how})')
  train = by_split[contract.TRAIN_SPLIT]
  for split in (contract.EVAL_SPLIT, contract.TEST_SPLIT):
    for label, (count, first) in sorted(by_split[split].items()):
      if label not in train:
        raise TableDataError(
            f'{first}: column {columns.label!r}: class {label!r} is in the '
            f'{split} split ({count} rows) but never in train; the model '
            'cannot learn it')
  if len(train) < 2:
    raise TableDataError(
        f'{where}: column {columns.label!r}: only one class '
        f'({", ".join(train)}); two or more are needed')
  for label, (count, first) in sorted(train.items()):
    if count < columns.min_class_examples:
      raise TableDataError(
          f'{first}: column {columns.label!r}: class {label!r} has '
          f'{count} training examples, fewer than {columns.min_class_examples}'
          ' (--min-class-examples)')
  return sorted(train)


def scan_classes(paths: Sequence[str], columns: TableColumns) -> List[str]:
  """Reads every row (every row error surfaces here) and returns the checked,
  sorted class names."""
  if not paths:
    raise TableDataError('no table files to read')
  counts = merge_counts(count_classes(read_rows(p, columns)) for p in paths)
  where = paths[0] if len(paths) == 1 else f'{len(paths)} files'
  return check_classes(counts, columns, where)
