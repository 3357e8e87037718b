"""TFX's DistributionValidator executor, as Kubeflow Pipelines v2 runs it."""

from google.protobuf import json_format
from tensorflow_data_validation.anomalies.proto import custom_validation_config_pb2
# TFX's own executor, which this one prepares the inputs for.
from tfx.components.distribution_validator import executor as drift_executor
from tfx.proto import distribution_validator_pb2
from tfx.types import standard_component_specs


class KubeflowExecutor(drift_executor.Executor):
  """DistributionValidator's executor as TFX's KFP v2 container calls it.

  The container hands proto parameters over as the JSON the compiler wrote,
  where TFX's executor expects the protos. And a baseline that resolved
  nothing (the first run) may be left out of the inputs altogether, as KFP
  leaves out an optional input: TFX's executor indexes the key.
  """

  _PROTO_PARAMETERS = {
      standard_component_specs.DISTRIBUTION_VALIDATOR_CONFIG_KEY:
          distribution_validator_pb2.DistributionValidatorConfig,
      standard_component_specs.CUSTOM_VALIDATION_CONFIG_KEY:
          custom_validation_config_pb2.CustomValidationConfig,
  }

  def Do(self, input_dict, output_dict, exec_properties):
    input_dict = {standard_component_specs.BASELINE_STATISTICS_KEY: [],
                  **input_dict}
    exec_properties = dict(exec_properties)
    for key, proto_type in self._PROTO_PARAMETERS.items():
      if isinstance(exec_properties.get(key), str):
        exec_properties[key] = json_format.Parse(exec_properties[key],
                                                 proto_type())
    return super().Do(input_dict, output_dict, exec_properties)
