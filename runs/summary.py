"""What the latest run did, read back from ML Metadata and its artifacts.

The end-of-run summary the runners print, and the facts the run report is
built from. A read-side module: ML Metadata, TensorFlow's file system (local
paths and object storage) and TFMA, never TFX or the pipeline's code.
"""

import dataclasses
import math
import os
from typing import Any, Dict, List, Optional, Tuple

import tensorflow as tf
import tensorflow_model_analysis as tfma
from ml_metadata.proto import metadata_store_pb2

import contract
from contract import evaluation
from contract import lineage
from contract import serving_directory

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
  # The baseline's (latest blessed model's) overall metrics from the same
  # evaluation; empty when there was no baseline.
  baseline_metrics: Dict[str, float] = dataclasses.field(default_factory=dict)
  # Why the candidate was not blessed: one line per failed threshold.
  not_blessed_because: List[str] = dataclasses.field(default_factory=list)
  pushed_version: Optional[str] = None
  # {component id: {artifact type name: [uri, ...]}}: this run's outputs,
  # cached ones included; what the run report is built from.
  artifact_uris: Dict[str, Dict[str, List[str]]] = dataclasses.field(
      default_factory=dict)
  # {component id: {execution property: value}}, e.g. Transform's
  # `custom_config` (JSON): the settings the run actually used.
  execution_properties: Dict[str, Dict[str, Any]] = dataclasses.field(
      default_factory=dict)
  # The span ExampleGen ingested (0 for data without spans) and the spans
  # the Trainer read (a window may hold several).
  ingested_span: Optional[int] = None
  trained_spans: List[int] = dataclasses.field(default_factory=list)
  # The Trainer's warm start: {'warm_started_from': dir or None, 'reason'}.
  warm_start: Optional[Dict[str, Any]] = None


def _component_id(context_name: str, pipeline_name: str) -> str:
  return context_name[len(pipeline_name) + 1:]


def latest_run(metadata_path: str, pipeline_name: str,
               since_ms: int = 0) -> Optional[RunSummary]:
  """The summary of the newest run of `pipeline_name` recorded in the ML
  Metadata file `metadata_path`, or None if it never ran (or not since
  `since_ms`, milliseconds since the epoch)."""
  if not os.path.exists(metadata_path):
    return None
  store = lineage.sqlite_store(metadata_path)
  runs = [c for c in store.get_contexts_by_type('pipeline_run')
          if c.name and _belongs_to(store, c, pipeline_name)]
  if not runs:
    return None
  run = max(runs, key=lambda c: c.create_time_since_epoch)
  if run.create_time_since_epoch < since_ms:
    return None
  executions = store.get_executions_by_context(run.id)
  components, outputs, trained_on = [], {}, []
  for execution in sorted(executions,
                          key=lambda e: e.create_time_since_epoch):
    node = next((c for c in store.get_contexts_by_execution(execution.id)
                 if c.type == 'node'), None)
    component = (_component_id(node.name, pipeline_name)
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
    if component == 'Trainer':
      trained_on = store.get_artifacts_by_id(lineage.examples_read_by(
          store, [execution.id]).get(execution.id, []))
  summary = _summarize(run.name, components, outputs)
  summary.trained_spans = sorted({lineage.span_of(a) for a in trained_on})
  return summary


def _belongs_to(store, run_context, pipeline_name: str) -> bool:
  parents = store.get_parent_contexts_by_context(run_context.id)
  return any(p.name == pipeline_name for p in parents) or (
      run_context.name.startswith(pipeline_name))


def _summarize(run_id, components, outputs) -> RunSummary:
  pushed, serving_model_dir, blessed, metrics = False, None, None, {}
  identical_to_version, pushed_version = None, None
  baseline_metrics, not_blessed_because = {}, []
  if 'Pusher' in outputs:
    execution, artifacts = outputs['Pusher']
    for artifact in artifacts:
      properties = artifact.custom_properties
      if properties['pushed'].int_value == 1:
        serving_model_dir = properties['pushed_destination'].string_value
        pushed_version = (properties['pushed_version'].string_value
                          if 'pushed_version' in properties else None)
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
        metrics = evaluation.overall_metrics(artifact.uri)
        baseline_metrics = evaluation.overall_metrics(artifact.uri,
                                                      evaluation.BASELINE)
        not_blessed_because = failed_thresholds(artifact.uri)
  artifact_uris = {
      component: _uris_by_type(artifacts)
      for component, (_, artifacts) in outputs.items()}
  execution_properties = {
      component: {name: getattr(value, value.WhichOneof('value'))
                  for name, value in execution.custom_properties.items()
                  if value.WhichOneof('value') in ('string_value', 'int_value',
                                                   'double_value')}
      for component, (execution, _) in outputs.items()}
  ingested_span, warm_start = None, None
  for artifact in outputs.get('ImdbExampleGen', (None, []))[1]:
    ingested_span = lineage.span_of(artifact)
  for artifact in outputs.get('Trainer', (None, []))[1]:
    if artifact.type == 'Model':
      warm_start = _training_record(artifact.uri)
  return RunSummary(run_id, components, pushed, serving_model_dir,
                    identical_to_version, blessed, metrics,
                    baseline_metrics, not_blessed_because, pushed_version,
                    artifact_uris, execution_properties, ingested_span,
                    [], warm_start)


def _training_record(model_uri: str) -> Optional[Dict[str, Any]]:
  """The Trainer's training.json (tokenization, warm start) of a model."""
  return serving_directory.read_json_asset(
      os.path.join(model_uri, 'Format-Serving'), contract.TRAINING_FILE)


def _uris_by_type(artifacts) -> Dict[str, List[str]]:
  uris = {}
  for artifact in artifacts:
    uris.setdefault(artifact.type, []).append(artifact.uri)
  return uris


def _threshold_text(threshold) -> str:
  parts = []
  if threshold.HasField('value_threshold'):
    bounds = threshold.value_threshold
    if bounds.HasField('lower_bound'):
      parts.append(f'at least {bounds.lower_bound.value:g}')
    if bounds.HasField('upper_bound'):
      parts.append(f'at most {bounds.upper_bound.value:g}')
  if threshold.HasField('change_threshold'):
    change = threshold.change_threshold
    if change.HasField('absolute'):
      parts.append(f'a change from the baseline of at least '
                   f'{change.absolute.value:+g}')
    if change.HasField('relative'):
      parts.append(f'a relative change from the baseline of at least '
                   f'{change.relative.value:+g}')
  return ' and '.join(parts) or str(threshold).replace('\n', ' ')


def _slice_text(slice_key) -> str:
  items = []
  for column in slice_key.single_slice_keys:
    value = getattr(column, column.WhichOneof('kind'))
    if isinstance(value, bytes):
      value = value.decode('utf-8', errors='replace')
    items.append(f'{column.column}={value}')
  return ', '.join(items) or 'overall'


def failed_thresholds(evaluation_uri: str) -> List[str]:
  """One line per metric threshold the candidate failed, from TFMA's own
  validation result; empty when it passed."""
  path = os.path.join(evaluation_uri, 'validations.tfrecord')
  if not tf.io.gfile.exists(path):
    return []
  validation = tfma.load_validation_result(evaluation_uri)
  if validation.validation_ok:
    return []
  lines = []
  for per_slice in validation.metric_validations_per_slice:
    for failure in per_slice.failures:
      key = failure.metric_key
      name = evaluation.metric_name(key.output_name, '', key.name)
      if key.is_diff:
        name += ' (change from the baseline)'
      value = failure.metric_value.double_value.value
      lines.append(f'{name} {value:.4f} on {_slice_text(per_slice.slice_key)}'
                   f': needs {_threshold_text(failure.metric_threshold)}')
  for missing in validation.missing_slices:
    lines.append(f'slice missing from the evaluation: {missing}')
  if not lines:
    lines.append('TFMA reported the validation as failed without a metric '
                 'failure (see the evaluation artifact).')
  return lines


def ordered_metric_names(names) -> List[str]:
  """The summary's usual metrics first, then the rest alphabetically."""
  def rank(name):
    base = name.rsplit('/', 1)[-1]
    known = (_SUMMARY_METRICS.index(base) if base in _SUMMARY_METRICS
             else len(_SUMMARY_METRICS))
    return (known, name)
  return sorted(names, key=rank)


def format_number(value: Optional[float], count: bool = False) -> str:
  """A metric value for a table: four decimals, counts as integers."""
  if value is None:
    return '—'
  if math.isnan(value):
    return 'nan'
  return f'{int(value):,}' if count else f'{value:.4f}'


def format_metrics_table(candidate: Dict[str, float],
                         baseline: Dict[str, float]) -> List[str]:
  names = ordered_metric_names(set(candidate) | set(baseline))
  width = max([len(n) for n in names] + [16])
  lines = [f'  {"metric":<{width}} {"candidate":>10} {"baseline":>10}'
           if baseline else f'  {"metric":<{width}} {"candidate":>10}']
  for name in names:
    line = f'  {name:<{width}} {format_number(candidate.get(name)):>10}'
    if baseline:
      line += f' {format_number(baseline.get(name)):>10}'
    lines.append(line)
  return lines


def format_summary(summary: Optional[RunSummary],
                   report_path: Optional[str] = None) -> str:
  if summary is None:
    return 'No run found in ML Metadata.'
  lines = [f'Run {summary.run_id}:']
  lines += [f'  {name:<32} {state:<9} {seconds:7.1f} s'
            for name, state, seconds in summary.components]
  if summary.ingested_span:
    lines.append(f'Data: span {summary.ingested_span} ingested; trained on '
                 f'span(s) {", ".join(map(str, summary.trained_spans))}')
  if summary.warm_start:
    source = summary.warm_start.get('warm_started_from')
    lines.append(f'Warm start: from {source}' if source else
                 'Warm start: no, trained from scratch')
    lines[-1] += f' ({summary.warm_start.get("reason")})'
  if summary.metrics:
    lines.append('Evaluation on the test split (candidate model'
                 + (', and the latest blessed model as baseline):'
                    if summary.baseline_metrics else
                    '; no blessed baseline yet):'))
    # The summary's usual metrics only; the report has all of them.
    shown = [n for n in summary.metrics
             if n.rsplit('/', 1)[-1] in _SUMMARY_METRICS]
    lines += format_metrics_table(
        {n: summary.metrics[n] for n in shown},
        {n: summary.baseline_metrics[n] for n in shown
         if n in summary.baseline_metrics})
  if summary.blessed is not None:
    if summary.blessed:
      lines.append('Blessed: yes (every threshold met)')
    else:
      lines.append('Blessed: no')
      lines += [f'  {reason}' for reason in summary.not_blessed_because]
  if summary.pushed:
    lines.append(f'Pushed model: {summary.serving_model_dir} '
                 f'(version {summary.pushed_version})')
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
  if report_path:
    lines.append(f'Report: {report_path}')
  return '\n'.join(lines)
