"""ValidationGate: fails the run when ExampleValidator flagged any split.

ExampleValidator records its verdict but never stops a pipeline: it sets the
custom property `blessed` (per split, 1 = no anomalies) on its output and
carries on. Transform is made to depend on this gate, so anomalous data stops
the run before any training, and the failed execution in ML Metadata carries
the reasons.
"""

import os
from typing import Dict, List

from absl import logging
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx
from tfx.components.example_validator import executor as validator_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils


def anomalies_of(anomalies: tfx.types.standard_artifacts.ExampleAnomalies
                 ) -> Dict[str, List[str]]:
  """Human-readable anomaly descriptions per split; empty when clean."""
  found = {}
  for split in artifact_utils.decode_split_names(anomalies.split_names):
    path = os.path.join(
        artifact_utils.get_split_uri([anomalies], split),
        validator_executor.DEFAULT_FILE_NAME)
    report = anomalies_pb2.Anomalies()
    report.ParseFromString(io_utils.read_bytes_file(path))
    reasons = [
        f'{feature}: {info.short_description} ({info.description})'
        for feature, info in sorted(report.anomaly_info.items())]
    if report.HasField('dataset_anomaly_info'):
      info = report.dataset_anomaly_info
      reasons.append(f'dataset: {info.short_description} ({info.description})')
    if reasons:
      found[split] = reasons
  return found


class DataAnomaliesError(RuntimeError):
  """The examples do not match the schema; the message lists why."""


def check_anomalies(
    anomalies: tfx.types.standard_artifacts.ExampleAnomalies) -> None:
  """Raises DataAnomaliesError if any split has anomalies."""
  found = anomalies_of(anomalies)
  blessed = anomalies.get_json_value_custom_property(
      validator_executor.ARTIFACT_PROPERTY_BLESSED_KEY) or {}
  if found or any(value != validator_executor.BLESSED_VALUE
                   for value in blessed.values()):
    lines = [f'  {split}: {reason}'
             for split, reasons in found.items() for reason in reasons]
    raise DataAnomaliesError(
        'ExampleValidator found anomalies; stopping before training:\n'
        + '\n'.join(lines))
  logging.info('No anomalies in splits %s.', sorted(blessed))


@tfx.dsl.components.component
def ValidationGate(
    anomalies: tfx.dsl.components.InputArtifact[
        tfx.types.standard_artifacts.ExampleAnomalies]) -> None:
  """Fails the run if ExampleValidator found anomalies in any split."""
  check_anomalies(anomalies)
