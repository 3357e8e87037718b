"""ValidationGate stops the run on anomalies ExampleValidator really reports."""

import os

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tfx.components.distribution_validator import executor as drift_executor
from tfx.components.example_validator import executor as validator_executor
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.utils import json_utils

from components.validation_gate import DataAnomaliesError
from components.validation_gate import check_anomalies
from components.validation_gate import executor as gate_executor
from pipeline import configs as config_lib
from pipeline import pipeline as imdb_pipeline


def _statistics(tmp_path, name, frames):
  """TFDV statistics of `frames` ({split: DataFrame}) as StatisticsGen
  writes them."""
  statistics = standard_artifacts.ExampleStatistics()
  statistics.uri = str(tmp_path / name)
  statistics.split_names = artifact_utils.encode_split_names(list(frames))
  for split, frame in frames.items():
    stats = tfdv.generate_statistics_from_dataframe(frame)
    split_dir = os.path.join(statistics.uri, f'Split-{split}')
    os.makedirs(split_dir, exist_ok=True)
    with open(os.path.join(split_dir, 'FeatureStats.pb'), 'wb') as f:
      f.write(stats.SerializeToString())
  return statistics


def _validate(tmp_path, frames):
  """Runs the real ExampleValidator executor on statistics of `frames`."""
  statistics = _statistics(tmp_path, 'statistics', frames)
  schema = standard_artifacts.Schema()
  schema.uri = os.path.dirname(config_lib.SCHEMA_PATH)
  anomalies = standard_artifacts.ExampleAnomalies()
  anomalies.uri = str(tmp_path / 'anomalies')
  validator_executor.Executor().Do(
      {standard_component_specs.STATISTICS_KEY: [statistics],
       standard_component_specs.SCHEMA_KEY: [schema]},
      {standard_component_specs.ANOMALIES_KEY: [anomalies]},
      {standard_component_specs.EXCLUDE_SPLITS_KEY: json_utils.dumps([])})
  return anomalies


def _frame(labels, ratings):
  return pd.DataFrame({
      'text': [b'some review'] * len(labels),
      'label': labels,
      'rating': ratings,
      'review_id': [f'train/pos/{i}'.encode() for i in range(len(labels))],
  })


def test_clean_data_passes_the_gate(tmp_path):
  anomalies = _validate(tmp_path, {'train': _frame([0, 1, 1], [2, 8, 10])})
  check_anomalies(anomalies)  # raises on anomalies


def test_out_of_domain_values_stop_the_run_naming_split_and_feature(tmp_path):
  anomalies = _validate(tmp_path, {
      'train': _frame([0, 1], [2, 8]),
      'test': _frame([0, 2], [3, 11]),
  })
  with pytest.raises(DataAnomaliesError) as error:
    check_anomalies(anomalies)
  message = str(error.value)
  assert 'test: label' in message and 'test: rating' in message
  assert 'train:' not in message


# --- Drift: DistributionValidator, configured as the pipeline configures it.

def _drift(tmp_path, new_frame, previous_frame, **settings):
  """Runs the real DistributionValidator executor, new span vs previous."""
  config = config_lib.PipelineConfig(
      retraining=config_lib.RetrainingSettings(**settings))
  new = _statistics(tmp_path, 'new', {'train': new_frame})
  baseline = ([_statistics(tmp_path, 'previous', {'train': previous_frame})]
              if previous_frame is not None else [])
  anomalies = standard_artifacts.ExampleAnomalies()
  anomalies.uri = str(tmp_path / 'drift')
  drift_executor.Executor().Do(
      {standard_component_specs.STATISTICS_KEY: [new],
       standard_component_specs.BASELINE_STATISTICS_KEY: baseline},
      {standard_component_specs.ANOMALIES_KEY: [anomalies]},
      # The launcher hands these over as protos (use_proto parameters).
      {standard_component_specs.DISTRIBUTION_VALIDATOR_CONFIG_KEY:
           imdb_pipeline.make_drift_config(config),
       standard_component_specs.CUSTOM_VALIDATION_CONFIG_KEY:
           imdb_pipeline.make_drift_checks(config)})
  return anomalies


def _reviews(labels, words=20):
  return pd.DataFrame({
      'text': [b' '.join([b'word'] * words)] * len(labels),
      'label': labels,
      'rating': [8 if label else 2 for label in labels],
      'review_id': [f'train/pos/{i}'.encode() for i in range(len(labels))],
  })


def test_a_span_like_the_previous_one_passes(tmp_path):
  anomalies = _drift(tmp_path, _reviews([0, 1] * 20, words=21),
                     _reviews([1, 0, 0, 1] * 10, words=20))
  check_anomalies(anomalies, 'drift')


def test_the_first_span_has_nothing_to_drift_from(tmp_path):
  check_anomalies(_drift(tmp_path, _reviews([1] * 40), None), 'drift')


def test_a_label_distribution_shift_stops_the_run(tmp_path):
  anomalies = _drift(tmp_path, _reviews([1] * 36 + [0] * 4),
                     _reviews([0, 1] * 20), max_label_drift=0.1)
  with pytest.raises(DataAnomaliesError) as error:
    check_anomalies(anomalies, 'drift')
  assert 'train_train: label' in str(error.value)
  assert 'share of positive reviews moved by more than 0.1' in str(error.value)
  assert 'train_train: text' not in str(error.value)


def test_a_review_length_change_stops_the_run(tmp_path):
  anomalies = _drift(tmp_path, _reviews([0, 1] * 20, words=5),
                     _reviews([0, 1] * 20, words=20), max_length_change=0.25)
  with pytest.raises(DataAnomaliesError) as error:
    check_anomalies(anomalies, 'drift')
  assert 'train_train: text' in str(error.value)
  assert 'mean review length changed by more than 25%' in str(error.value)


def test_the_gate_fails_with_the_reasons_as_its_recorded_message(tmp_path):
  """TFX stores an executor's error message on the failed execution in ML
  Metadata; a raised exception would leave none."""
  clean = _validate(tmp_path / 'clean', {'train': _frame([0, 1], [2, 8])})
  drifted = _drift(tmp_path, _reviews([1] * 40), _reviews([0, 1] * 20))
  # As LocalDagRunner and Kubeflow's launcher make it.
  gate = gate_executor.Executor(gate_executor.Executor.Context(
      executor_output_uri=str(tmp_path / 'executor_output.pb')))
  assert gate.Do({'anomalies': [clean]}, {}, {}) is None
  assert gate.Do({'anomalies': [clean], 'drift_anomalies': []}, {}, {}) is None
  output = gate.Do({'anomalies': [clean], 'drift_anomalies': [drifted]}, {},
                   {})
  assert output.execution_result.code != 0
  assert 'share of positive reviews moved' in (
      output.execution_result.result_message)

  # TFX's pre-IR launcher (Airflow) ignores return values: it must raise.
  with pytest.raises(DataAnomaliesError, match='share of positive reviews'):
    gate_executor.Executor().Do(
        {'anomalies': [clean], 'drift_anomalies': [drifted]}, {}, {})
