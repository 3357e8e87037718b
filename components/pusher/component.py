"""VersionedPusher: TFX's Pusher, plus what a release history needs.

Same inputs and output as the stock Pusher, and two more (both optional):
`model_evaluation` (the Evaluator's metrics of the pushed model) and
`examples` (what it was trained on: their spans). The executor writes both
into the pushed version's `assets.extra/release.json`.
"""

from typing import Any, Dict, Optional

from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.proto import pusher_pb2
from tfx.types import component_spec
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.utils import json_utils

from components.pusher import executor

MODEL_EVALUATION_KEY = 'model_evaluation'
EXAMPLES_KEY = standard_component_specs.EXAMPLES_KEY


class VersionedPusherSpec(standard_component_specs.PusherSpec):
  INPUTS = {
      **standard_component_specs.PusherSpec.INPUTS,
      MODEL_EVALUATION_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ModelEvaluation, optional=True),
      EXAMPLES_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.Examples, optional=True),
  }


class VersionedPusher(base_component.BaseComponent):
  """Pushes a blessed model to a TF Serving directory as a new version."""

  SPEC_CLASS = VersionedPusherSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self,
               model: types.BaseChannel,
               model_blessing: types.BaseChannel,
               push_destination: pusher_pb2.PushDestination,
               model_evaluation: Optional[types.BaseChannel] = None,
               examples: Optional[types.BaseChannel] = None,
               custom_config: Optional[Dict[str, Any]] = None):
    super().__init__(spec=VersionedPusherSpec(
        model=model,
        model_blessing=model_blessing,
        model_evaluation=model_evaluation,
        examples=examples,
        push_destination=push_destination,
        custom_config=json_utils.dumps(custom_config),
        pushed_model=types.Channel(type=standard_artifacts.PushedModel)))
