"""What the latest run did, read back from ML Metadata and its artifacts."""

import dataclasses
import os
from typing import Dict, List, Optional, Tuple

import ml_metadata as mlmd
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.writers import eval_config_writer
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata

from pipeline.config import PipelineConfig

_STATE_NAMES = {
    metadata_store_pb2.Execution.COMPLETE: 'executed',
    metadata_store_pb2.Execution.CACHED: 'cached',
    metadata_store_pb2.Execution.FAILED: 'failed',
    metadata_store_pb2.Execution.RUNNING: 'running',
    metadata_store_pb2.Execution.NEW: 'new',
    metadata_store_pb2.Execution.CANCELED: 'canceled',
}
_SUMMARY_METRICS = ('example_count', 'binary_accuracy', 'auc', 'precision',
                    'recall', 'calibration', 'mean_absolute_error')


@dataclasses.dataclass
class RunSummary:
  run_id: str
  # (component id, executed/cached/..., seconds from start to last update)
  components: List[Tuple[str, str, float]]
  pushed: bool  # whether this run pushed a new version
  serving_model_dir: Optional[str]  # the version pushed by this or a past run
  identical_to_version: Optional[str]  # set when a re-blessed model was not
                                       # pushed again
  blessed: Optional[bool]
  metrics: Dict[str, float]  # overall test-split metrics of the candidate


def _component_id(context_name: str, pipeline_name: str) -> str:
  return context_name[len(pipeline_name) + 1:]


def latest_run(config: PipelineConfig,
               since_ms: int = 0) -> Optional[RunSummary]:
  """The summary of the pipeline's newest run, or None if it never ran (or
  not since `since_ms`, milliseconds since the epoch)."""
  if not os.path.exists(config.metadata_path):
    return None
  store = mlmd.MetadataStore(
      metadata.sqlite_metadata_connection_config(config.metadata_path))
  runs = [c for c in store.get_contexts_by_type('pipeline_run')
          if c.name and _belongs_to(store, c, config.pipeline_name)]
  if not runs:
    return None
  run = max(runs, key=lambda c: c.create_time_since_epoch)
  if run.create_time_since_epoch < since_ms:
    return None
  executions = store.get_executions_by_context(run.id)
  components, outputs = [], {}
  for execution in sorted(executions,
                          key=lambda e: e.create_time_since_epoch):
    node = next((c for c in store.get_contexts_by_execution(execution.id)
                 if c.type == 'node'), None)
    component = (_component_id(node.name, config.pipeline_name)
                 if node else execution.type)
    seconds = (execution.last_update_time_since_epoch
               - execution.create_time_since_epoch) / 1000
    components.append(
        (component, _STATE_NAMES.get(execution.last_known_state, '?'),
         seconds))
    events = store.get_events_by_execution_ids([execution.id])
    ids = [e.artifact_id for e in events
           if e.type == metadata_store_pb2.Event.OUTPUT]
    outputs[component] = (execution, store.get_artifacts_by_id(ids))
  return _summarize(run.name, components, outputs)


def _belongs_to(store, run_context, pipeline_name: str) -> bool:
  parents = store.get_parent_contexts_by_context(run_context.id)
  return any(p.name == pipeline_name for p in parents) or (
      run_context.name.startswith(pipeline_name))


def _summarize(run_id, components, outputs) -> RunSummary:
  pushed, serving_model_dir, blessed, metrics = False, None, None, {}
  identical_to_version = None
  if 'Pusher' in outputs:
    execution, artifacts = outputs['Pusher']
    for artifact in artifacts:
      properties = artifact.custom_properties
      if properties['pushed'].int_value == 1:
        serving_model_dir = properties['pushed_destination'].string_value
        pushed = (execution.last_known_state
                  == metadata_store_pb2.Execution.COMPLETE)
      if 'identical_to_version' in properties:
        identical_to_version = properties['identical_to_version'].string_value
  if 'Evaluator' in outputs:
    _, artifacts = outputs['Evaluator']
    for artifact in artifacts:
      if artifact.type == 'ModelBlessing':
        blessed = artifact.custom_properties['blessed'].int_value == 1
      elif artifact.type == 'ModelEvaluation':
        metrics = overall_metrics(artifact.uri)
  return RunSummary(run_id, components, pushed, serving_model_dir,
                    identical_to_version, blessed, metrics)


def overall_metrics(evaluation_uri: str) -> Dict[str, float]:
  """The candidate's metrics on the whole evaluated split."""
  # With a baseline the evaluation holds two models' metrics: pick the
  # candidate's explicitly.
  _, _, _, model_locations = eval_config_writer.load_eval_run(evaluation_uri)
  model_name = (tfma.CANDIDATE_KEY if tfma.CANDIDATE_KEY in model_locations
                else None)
  result = tfma.load_eval_result(evaluation_uri, model_name=model_name)
  for slice_key, slice_metrics in result.slicing_metrics:
    if slice_key == ():
      flat = {}
      for output in slice_metrics.values():
        for sub_key in output.values():
          for name, value in sub_key.items():
            if 'doubleValue' in value:
              flat[name] = value['doubleValue']
      return {k: flat[k] for k in _SUMMARY_METRICS if k in flat}
  return {}


def format_summary(summary: Optional[RunSummary]) -> str:
  if summary is None:
    return 'No run found in ML Metadata.'
  lines = [f'Run {summary.run_id}:']
  lines += [f'  {name:<32} {state:<9} {seconds:7.1f} s'
            for name, state, seconds in summary.components]
  if summary.metrics:
    lines.append('Evaluation on the test split (candidate model):')
    lines += [f'  {name:<16} {value:.4f}'
              for name, value in summary.metrics.items()]
  if summary.blessed is not None:
    lines.append(f'Blessed: {"yes" if summary.blessed else "no"}')
  if summary.pushed:
    lines.append(f'Pushed model: {summary.serving_model_dir}')
  elif summary.identical_to_version:
    lines.append('Nothing new pushed: the blessed model is identical to '
                 f'version {summary.identical_to_version}, already in the '
                 'serving directory (use --push-identical-model to push '
                 'it again).')
  elif summary.serving_model_dir:
    lines.append('Nothing new pushed (cached); latest push: '
                 f'{summary.serving_model_dir}')
  else:
    lines.append('Nothing pushed.')
  return '\n'.join(lines)
