"""ValidationGate's executor: fails the run when the validators flagged data.

ExampleValidator (the examples against the curated schema) and
DistributionValidator (the new span against the previous one: label
distribution, review length) record their verdicts but never stop a pipeline:
each sets the custom property `blessed` (per split or split pair) on its
output and carries on. Transform is made to depend on this gate, so anomalous
data stops the run before any training. The executor fails by returning an
error code with the reasons as its message: TFX records that message on the
failed execution in ML Metadata (`__execution_result__`), where a raised
exception would leave only "failed".
"""

import os
from typing import Any, Dict, List, Optional

from absl import logging
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import types
from tfx.components.distribution_validator import executor as drift_executor
from tfx.components.example_validator import executor as validator_executor
from tfx.dsl.components.base import base_executor
from tfx.proto.orchestration import execution_result_pb2
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.utils import io_utils

# Where each validator writes a split's report: ExampleValidator per split,
# DistributionValidator per (new, baseline) split pair.
_SPLIT_DIRECTORY_PREFIXES = ('Split-', 'SplitPair-')
# DistributionValidator's verdict when there is no previous span to compare
# with (the first span): nothing to flag.
_PASSING_VALUES = (validator_executor.BLESSED_VALUE,
                   drift_executor.NO_BASELINE_STATS)


def _report_path(anomalies: standard_artifacts.ExampleAnomalies,
                 split: str) -> str:
  paths = [os.path.join(anomalies.uri, prefix + split,
                        validator_executor.DEFAULT_FILE_NAME)
           for prefix in _SPLIT_DIRECTORY_PREFIXES]
  for path in paths:
    if fileio.exists(path):
      return path
  raise FileNotFoundError(f'{anomalies.uri}: no anomalies report for {split} '
                          f'(looked for {paths})')


def anomalies_of(anomalies: standard_artifacts.ExampleAnomalies
                 ) -> Dict[str, List[str]]:
  """Human-readable anomaly descriptions per split; empty when clean."""
  found = {}
  for split in artifact_utils.decode_split_names(anomalies.split_names):
    report = anomalies_pb2.Anomalies()
    report.ParseFromString(io_utils.read_bytes_file(
        _report_path(anomalies, split)))
    reasons = [
        f'{feature}: {reason.short_description} ({reason.description})'
        for feature, info in sorted(report.anomaly_info.items())
        for reason in info.reason]
    if report.HasField('dataset_anomaly_info'):
      reasons += [f'dataset: {reason.short_description} '
                  f'({reason.description})'
                  for reason in report.dataset_anomaly_info.reason]
    if reasons:
      found[split] = reasons
  return found


class DataAnomaliesError(RuntimeError):
  """The examples do not match the schema or drifted; the message says why."""


def check_anomalies(
    anomalies: standard_artifacts.ExampleAnomalies,
    what: str = 'ExampleValidator') -> None:
  """Raises DataAnomaliesError if any split has anomalies."""
  found = anomalies_of(anomalies)
  blessed = anomalies.get_json_value_custom_property(
      validator_executor.ARTIFACT_PROPERTY_BLESSED_KEY) or {}
  if found or any(value not in _PASSING_VALUES for value in blessed.values()):
    lines = [f'  {split}: {reason}'
             for split, reasons in found.items() for reason in reasons]
    raise DataAnomaliesError(
        f'{what} found anomalies; stopping before training:\n'
        + '\n'.join(lines))
  logging.info('%s: no anomalies in %s.', what, sorted(blessed))


ANOMALIES_KEY = 'anomalies'
DRIFT_ANOMALIES_KEY = 'drift_anomalies'
# google.rpc.Code FAILED_PRECONDITION: the data is not fit to train on.
_FAILED_PRECONDITION = 9


class Executor(base_executor.BaseExecutor):
  """Checks ExampleValidator's anomalies, then DistributionValidator's."""

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]
         ) -> Optional[execution_result_pb2.ExecutorOutput]:
    del output_dict, exec_properties
    try:
      check_anomalies(artifact_utils.get_single_instance(
          input_dict[ANOMALIES_KEY]), 'ExampleValidator')
      for drift in input_dict.get(DRIFT_ANOMALIES_KEY) or []:
        check_anomalies(drift,
                        'DistributionValidator (drift from the previous span)')
    except DataAnomaliesError as e:
      logging.error('%s', e)
      if not (self._context and self._context.executor_output_uri):
        # TFX's pre-IR launcher (Airflow) ignores a returned ExecutorOutput:
        # only an exception fails the task there.
        raise
      return execution_result_pb2.ExecutorOutput(
          execution_result=execution_result_pb2.ExecutionResult(
              code=_FAILED_PRECONDITION, result_message=str(e)))
    return None
