"""The pipeline built on a table: which components, what they are told
(the columns, the classes), TFMA's multi-class configuration and the drift
check on the class distribution. Built, not run."""

import json
import os
import subprocess
import sys

import pytest

from helpers import imdb_data
from helpers import table_data
import contract
from components.table_example_gen.formats import TableDataError
from pipeline import configs as config_lib
from pipeline import data
from pipeline import pipeline as imdb_pipeline

BEAM_ARGS = ['--direct_running_mode=in_memory']


def _built(tmp_path, *flags, rows=None):
  path = table_data.write_csv(str(tmp_path / 'tickets.csv'),
                              rows or table_data.generated_rows(30))
  config = config_lib.from_args(
      ['--output-dir', str(tmp_path / 'out'), '--data', path] + list(flags),
      environ={})
  location = data.resolve(config.data.path)
  built = imdb_pipeline.create_pipeline(config, location, BEAM_ARGS)
  return {c.id: c for c in built.components}, config


def test_a_table_gets_its_example_gen_an_inferred_schema_and_its_classes(
    tmp_path):
  by_id, _ = _built(tmp_path)
  assert 'TableExampleGen' in by_id and 'ImdbExampleGen' not in by_id
  assert 'SchemaGen' in by_id and 'ImportSchemaGen' not in by_id
  classes = ['billing', 'bug', 'praise']
  table_config = json.loads(by_id['TableExampleGen'].exec_properties[
      'table_config'])
  assert table_config['classes'] == classes
  assert table_config['columns']['text'] == 'text'
  for component in ('Transform', 'Trainer'):
    custom_config = json.loads(by_id[component].exec_properties[
        'custom_config'])
    assert custom_config[contract.LABEL_CLASSES_KEY] == classes, component
  eval_config = by_id['Evaluator'].exec_properties['eval_config']
  assert 'MultiClassConfusionMatrixPlot' in eval_config


def test_a_curated_schema_replaces_inference(tmp_path):
  schema = tmp_path / 'schema.pbtxt'
  schema.write_text('feature { name: "text" type: BYTES }\n')
  by_id, _ = _built(tmp_path, '--schema', str(schema))
  assert 'ImportSchemaGen' in by_id and 'SchemaGen' not in by_id
  assert by_id['ImportSchemaGen'].exec_properties['schema_file'] == str(schema)


def test_bad_rows_stop_the_build_naming_file_line_and_column(tmp_path):
  rows = table_data.generated_rows(10)
  rows[4]['text'] = ' '
  with pytest.raises(TableDataError, match=r"tickets.csv:\d+: column 'text': "
                     'empty text'):
    _built(tmp_path, rows=rows)
  with pytest.raises(TableDataError, match="no column 'body'"):
    _built(tmp_path, '--text-column', 'body')


def test_table_eval_config_has_the_multi_class_metrics_gated_on_accuracy():
  config = config_lib.PipelineConfig(evaluation=config_lib.EvaluationSettings(
      min_accuracy=0.6, max_accuracy_drop=0.02))
  eval_config = imdb_pipeline.make_eval_config(config, ['a', 'b', 'c'],
                                               has_target=False)
  [spec] = eval_config.model_specs
  assert dict(spec.label_keys) == {
      contract.PROBABILITIES_OUTPUT_KEY: contract.LABEL_KEY}
  assert list(spec.preprocessing_function_names) == [
      contract.TRANSFORM_SIGNATURE]  # the label TFMA reads is the index
  overall, per_class = eval_config.metrics_specs
  accuracy = next(m for m in overall.metrics
                  if m.class_name == 'SparseCategoricalAccuracy')
  [per_slice] = accuracy.per_slice_thresholds
  assert per_slice.threshold.value_threshold.lower_bound.value == 0.6
  assert 'MultiClassConfusionMatrixPlot' in [m.class_name
                                             for m in overall.metrics]
  assert list(per_class.binarize.class_ids.values) == [0, 1, 2]
  assert {m.class_name for m in per_class.metrics} == {
      'Precision', 'Recall', 'F1Score'}
  # A class is predicted when it is the most probable, as `label` says.
  assert {json.loads(m.config)['top_k'] for m in per_class.metrics} == {1}
  with_target = imdb_pipeline.make_eval_config(config, ['a', 'b'],
                                               has_target=True)
  assert list(with_target.metrics_specs[-1].output_names) == [
      contract.RATING_OUTPUT_KEY]


def test_the_drift_check_compares_the_class_distribution():
  config = config_lib.PipelineConfig()
  drift = imdb_pipeline.make_drift_config(config, table=True)
  [feature] = drift.default_slice_config.feature
  assert list(feature.path.step) == [contract.LABEL_KEY]
  assert feature.distribution_comparator.infinity_norm.threshold == (
      config.retraining.max_label_drift)
  checks = imdb_pipeline.make_drift_checks(config, table=True)
  assert [list(c.feature_test_path.step)
          for c in checks.feature_pair_validations] == [[contract.TEXT_KEY]]
  # IMDB's stay as they were: the label's mean and the text's length.
  assert len(imdb_pipeline.make_drift_checks(
      config).feature_pair_validations) == 2
  assert not imdb_pipeline.make_drift_config(config).ListFields()


def test_make_run_on_a_bad_table_says_where_and_exits_2(tmp_path):
  path = tmp_path / 'bad.csv'
  path.write_text('text,label\nfine,a\n"",b\n', encoding='utf-8')
  env = dict(os.environ, OUTPUT_DIR=str(tmp_path / 'out'))
  env.pop('IMDB_DATA', None)
  result = subprocess.run(
      [sys.executable, os.path.join(imdb_data.PROJECT_ROOT, 'local_runner.py'),
       '--data', str(path)], env=env, capture_output=True, text=True,
      timeout=600, check=False)
  assert result.returncode == 2, result.stderr[-2000:]
  assert f"error: {path}:3: column 'text': empty text" in result.stderr
