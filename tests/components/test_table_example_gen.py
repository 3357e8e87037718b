"""TableExampleGen: the formats, the splits and every bad-input case."""

import glob
import json
import os

import pytest
import tensorflow as tf
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs

from helpers import table_data
from components.table_example_gen import component
from components.table_example_gen import executor
from components.table_example_gen import formats
from components.table_example_gen import rows
from components.table_example_gen.formats import TableDataError
import contract
from pipeline import data

COLUMNS = rows.TableColumns()


def _write(tmp_path, table_format, table_rows, name='data', **options):
  path = str(tmp_path / f'{name}.{table_format}')
  return table_data.WRITERS[table_format](path, table_rows, **options)


def _records(path):
  return [record for _, record in formats.read_records(path)]


@pytest.mark.parametrize('table_format', ['csv', 'jsonl', 'parquet'])
def test_every_format_reads_the_texts_back_exactly(tmp_path, table_format):
  table_rows = table_data.generated_rows(4)
  path = _write(tmp_path, table_format, table_rows)
  assert _records(path) == table_rows
  assert any('\n' in r['text'] and '"' in r['text'] and ',' in r['text']
             for r in table_rows)  # the awkward cases are in there


def test_csv_with_bom_blank_lines_and_quoted_line_breaks(tmp_path):
  table_rows = table_data.generated_rows(5)
  path = _write(tmp_path, 'csv', table_rows, bom=True, blank_lines=True)
  found = list(formats.read_records(path))
  assert [record for _, record in found] == table_rows
  assert list(found[0][1]) == ['text', 'label']  # no BOM in the first name
  # Line numbers are where each record starts in the file.
  lines = open(path, encoding='utf-8-sig', newline='').read().split('\r\n')
  first_line, first = found[1]
  assert lines[first_line - 1].startswith(
      ('"' + first['text'][:5], first['text'][:5]))


def test_csv_row_with_too_many_fields_names_file_and_line(tmp_path):
  path = tmp_path / 'bad.csv'
  path.write_text('text,label\nfine,a\nnot quoted, at all,b\n')
  with pytest.raises(TableDataError, match=r'bad.csv:3: 3 fields, the header '
                     r'has 2 .* must be quoted'):
    _records(str(path))


def test_jsonl_bad_line_names_file_and_line(tmp_path):
  path = tmp_path / 'bad.jsonl'
  path.write_text('{"text": "a", "label": "x"}\n\n{"text": oops}\n')
  with pytest.raises(TableDataError, match=r'bad.jsonl:3: not JSON'):
    _records(str(path))


def test_unreadable_files_are_errors_naming_them(tmp_path):
  broken = tmp_path / 'broken.parquet'
  broken.write_bytes(b'not parquet at all')
  with pytest.raises(TableDataError, match='broken.parquet: not a readable '
                     'Parquet file'):
    _records(str(broken))
  latin = tmp_path / 'latin.csv'
  latin.write_bytes(b'text,label\ncaf\xe9,a\n')
  with pytest.raises(TableDataError, match=r'latin.csv:2: not valid UTF-8'):
    _records(str(latin))
  with pytest.raises(TableDataError, match='missing.csv: cannot be read'):
    _records(str(tmp_path / 'missing.csv'))
  empty = tmp_path / 'empty.csv'
  empty.write_text('\n\n')
  with pytest.raises(TableDataError, match='empty.csv: empty file'):
    _records(str(empty))


def test_missing_column_names_file_line_and_column(tmp_path):
  path = _write(tmp_path, 'csv', [{'body': 'x', 'label': 'a'}])
  with pytest.raises(TableDataError,
                     match=r"data.csv:2: no column 'text' \(the row has "
                     r"body, label\)"):
    list(rows.read_rows(path, COLUMNS))


def test_empty_text_and_non_numeric_target_are_errors(tmp_path):
  path = _write(tmp_path, 'jsonl', [{'text': 'ok', 'label': 'a', 's': 1},
                                    {'text': '  ', 'label': 'a', 's': 2}])
  with pytest.raises(TableDataError,
                     match=r"data.jsonl:2: column 'text': empty text"):
    list(rows.read_rows(path, COLUMNS))
  path = _write(tmp_path, 'csv', [{'text': 'ok', 'label': 'a', 's': '1.5'},
                                  {'text': 'no', 'label': 'a', 's': 'high'}])
  columns = rows.TableColumns(target='s')
  with pytest.raises(TableDataError,
                     match=r"data.csv:3: column 's': 'high' is not a number"):
    list(rows.read_rows(path, columns))


def test_a_split_column_must_say_train_eval_or_test(tmp_path):
  path = _write(tmp_path, 'csv', [{'text': 'x', 'label': 'a', 'part': 'dev'}])
  with pytest.raises(TableDataError, match=r"data.csv:2: column 'part': "
                     r"'dev' is not one of train, eval, test"):
    list(rows.read_rows(path, rows.TableColumns(split='part')))


def test_hash_split_is_stable_and_by_the_documented_shares():
  splits = [rows.split_of_key(f'row {i}', 10, 20) for i in range(3000)]
  assert rows.split_of_key('row 7', 10, 20) == splits[7]
  shares = {s: splits.count(s) / len(splits) for s in set(splits)}
  assert abs(shares['test'] - 0.1) < 0.03 and abs(shares['eval'] - 0.2) < 0.03


def _counts(pairs):
  return {(split, label): (count, f'f.csv:{count}')
          for split, label, count in pairs}


def test_class_checks_name_the_problem():
  good = _counts([('train', 'a', 9), ('train', 'b', 9), ('eval', 'a', 2),
                  ('test', 'b', 2)])
  assert rows.check_classes(good, COLUMNS, 'f.csv') == ['a', 'b']
  unseen = {**good, **_counts([('test', 'c', 3)])}
  with pytest.raises(TableDataError, match=r"f.csv:3: column 'label': class "
                     r"'c' is in the test split \(3 rows\) but never in train"):
    rows.check_classes(unseen, COLUMNS, 'f.csv')
  rare = {**good, **_counts([('train', 'c', 2)])}
  with pytest.raises(TableDataError, match=r"class 'c' has 2 training "
                     'examples, fewer than 5'):
    rows.check_classes(rare, COLUMNS, 'f.csv')
  one = _counts([('train', 'a', 9), ('eval', 'a', 2), ('test', 'a', 2)])
  with pytest.raises(TableDataError, match='only one class'):
    rows.check_classes(one, COLUMNS, 'f.csv')
  no_test = _counts([('train', 'a', 9), ('train', 'b', 9), ('eval', 'a', 2)])
  with pytest.raises(TableDataError, match='the test split has no examples'):
    rows.check_classes(no_test, COLUMNS, 'f.csv')


def test_locate_tells_tables_from_the_imdb_layout(tmp_path):
  path = _write(tmp_path, 'csv', table_data.generated_rows(2))
  location = data.locate(path)
  assert location.is_table and location.input_base == str(tmp_path)
  assert location.train_pattern == 'data.csv'
  assert data.locate(str(tmp_path)).train_pattern == '*.csv'
  assert data.locate(str(tmp_path / '*.csv')).train_pattern == '*.csv'
  assert data.locate('s3://bucket/tickets/*.parquet') == data.DataLocation(
      's3://bucket/tickets', '*.parquet', '*.parquet', kind=data.TABLE)
  _write(tmp_path, 'jsonl', table_data.generated_rows(2))
  with pytest.raises(data.DataSourceError, match='several formats'):
    data.locate(str(tmp_path))
  with pytest.raises(data.DataSourceError, match='no such file'):
    data.locate(str(tmp_path / 'nothing*.csv'))
  assert not data.locate(str(tmp_path / 'data.csv')).spans


# --- The executor, through Beam.


def _run_executor(tmp_path, location, columns=COLUMNS, classes=()):
  examples = standard_artifacts.Examples()
  examples.uri = str(tmp_path / 'output')
  gen = component.TableExampleGen(location.input_base, location.train_pattern,
                                  columns, classes)
  exec_properties = {
      standard_component_specs.INPUT_BASE_KEY: location.input_base,
      standard_component_specs.INPUT_CONFIG_KEY:
          gen.exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
      standard_component_specs.OUTPUT_DATA_FORMAT_KEY:
          example_gen_pb2.FORMAT_TF_EXAMPLE,
      executor.TABLE_CONFIG_KEY: gen.exec_properties[
          executor.TABLE_CONFIG_KEY],
  }
  executor.Executor().Do({}, {standard_component_specs.EXAMPLES_KEY:
                              [examples]}, exec_properties)
  return examples


def _read_split(examples, split):
  files = glob.glob(os.path.join(
      artifact_utils.get_split_uri([examples], split), '*.gz'))
  return [tf.train.Example.FromString(record.numpy()) for record in
          tf.data.TFRecordDataset(files, compression_type='GZIP')]


def test_executor_writes_the_hash_splits_with_the_contract_features(tmp_path):
  table_rows = table_data.generated_rows(40, target=True)
  path = _write(tmp_path, 'csv', table_rows, bom=True, blank_lines=True)
  columns = rows.TableColumns(target='score')
  classes = rows.scan_classes([path], columns)
  assert classes == ['billing', 'bug', 'praise']
  examples = _run_executor(tmp_path, data.locate(path), columns, classes)
  assert artifact_utils.decode_split_names(examples.split_names) == [
      'train', 'eval', 'test']
  by_split = {s: _read_split(examples, s) for s in executor.OUTPUT_SPLITS}
  assert sum(len(v) for v in by_split.values()) == 120
  texts = {e.features.feature[contract.TEXT_KEY].bytes_list.value[0].decode():
           split for split, found in by_split.items() for e in found}
  for row in table_rows:  # every text whole, in the split its hash says
    assert texts[row['text']] == rows.split_of_key(row['text'], 10, 10)
  feature = by_split['train'][0].features.feature
  assert feature[contract.LABEL_KEY].bytes_list.value[0] in (
      b'billing', b'bug', b'praise')
  assert len(feature[contract.RATING_KEY].float_list.value) == 1


def test_executor_follows_a_split_column_and_an_id_column(tmp_path):
  table_rows = table_data.generated_rows(12, classes=table_data.BINARY_CUES)
  for index, row in enumerate(table_rows):
    row['part'] = ('train', 'train', 'eval', 'test')[index % 4]
    row['id'] = f'r{index}'
  path = _write(tmp_path, 'parquet', table_rows)
  columns = rows.TableColumns(split='part', id='id', min_class_examples=2)
  examples = _run_executor(tmp_path, data.locate(path), columns)
  ids = {split: sorted(e.features.feature[contract.REVIEW_ID_KEY]
                       .bytes_list.value[0].decode()
                       for e in _read_split(examples, split))
         for split in executor.OUTPUT_SPLITS}
  assert ids['test'] == sorted(f'r{i}' for i in range(3, 24, 4))
  assert len(ids['train']) == 12 and len(ids['eval']) == 6


def test_executor_fails_on_a_class_only_in_test(tmp_path):
  table_rows = [dict(r, part='train') for r in table_data.generated_rows(6)]
  table_rows += [{'text': 'new thing', 'label': 'other', 'part': 'test'},
                 {'text': 'eval row', 'label': 'bug', 'part': 'eval'}]
  path = _write(tmp_path, 'jsonl', table_rows)
  with pytest.raises(Exception, match=r"data.jsonl:19: column 'label': class "
                     r"'other' is in the test split"):
    _run_executor(tmp_path, data.locate(path), rows.TableColumns(split='part'))


def test_executor_fails_when_the_classes_changed_since_the_build(tmp_path):
  path = _write(tmp_path, 'csv', table_data.generated_rows(30))
  with pytest.raises(Exception, match=r"the classes are now \['billing', "
                     "'bug', 'praise'\\], the pipeline was built with"):
    _run_executor(tmp_path, data.locate(path), COLUMNS, ['billing', 'bug'])


def test_component_records_columns_and_classes():
  gen = component.TableExampleGen('/data', '*.csv',
                                  rows.TableColumns(target='score'), ['a', 'b'])
  config = json.loads(gen.exec_properties[executor.TABLE_CONFIG_KEY])
  assert config['classes'] == ['a', 'b']
  assert rows.TableColumns.from_json_dict(config['columns']).target == 'score'


def test_merged_counts_name_the_first_row_in_file_order():
  merged = rows.merge_counts([{('test', 'c'): (1, 'f.csv:10')},
                              {('test', 'c'): (2, 'f.csv:9')}])
  assert merged == {('test', 'c'): (3, 'f.csv:9')}
