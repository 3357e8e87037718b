"""ValidationGate stops the run on anomalies ExampleValidator really reports."""

import os

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tfx.components.example_validator import executor as validator_executor
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.utils import json_utils

from components.validation_gate import DataAnomaliesError
from components.validation_gate import check_anomalies
from pipeline import config as config_lib


def _validate(tmp_path, frames):
  """Runs the real ExampleValidator executor on statistics of `frames`."""
  statistics = standard_artifacts.ExampleStatistics()
  statistics.uri = str(tmp_path / 'statistics')
  statistics.split_names = artifact_utils.encode_split_names(list(frames))
  for split, frame in frames.items():
    stats = tfdv.generate_statistics_from_dataframe(frame)
    split_dir = os.path.join(statistics.uri, f'Split-{split}')
    os.makedirs(split_dir)
    with open(os.path.join(split_dir, 'FeatureStats.pb'), 'wb') as f:
      f.write(stats.SerializeToString())
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
