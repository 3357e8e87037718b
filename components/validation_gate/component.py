"""ValidationGate: a run's stop sign between data validation and training."""

from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import component_spec
from tfx.types import standard_artifacts

from components.validation_gate import executor


class ValidationGateSpec(component_spec.ComponentSpec):
  PARAMETERS = {}
  INPUTS = {
      executor.ANOMALIES_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ExampleAnomalies),
      executor.DRIFT_ANOMALIES_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ExampleAnomalies, optional=True),
  }
  OUTPUTS = {}


class ValidationGate(base_component.BaseComponent):
  """Fails the run if ExampleValidator (against the schema) or
  DistributionValidator (against the previous span) found anomalies; the
  failed execution carries the reasons. Make Transform depend on it."""

  SPEC_CLASS = ValidationGateSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, anomalies: types.BaseChannel,
               drift_anomalies: types.BaseChannel = None):
    super().__init__(spec=ValidationGateSpec(
        anomalies=anomalies, drift_anomalies=drift_anomalies))
