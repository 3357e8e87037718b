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
from google.protobuf import json_format
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
# A table model's (more than two classes) are `sparse_categorical_accuracy`,
# `macro_f1_score` and per-class precision and recall (`classId:<i>/...`).
_SUMMARY_METRICS = ('example_count', 'binary_accuracy',
                    'sparse_categorical_accuracy', 'macro_f1_score', 'auc',
                    'precision', 'recall', 'calibration',
                    'mean_absolute_error')


@dataclasses.dataclass
class ArtifactRecord:
  """What ML Metadata holds of one artifact a component read or wrote."""
  id: int
  type: str
  uri: str
  span: int
  # Custom properties as Python values; TFX's JSON ones (e.g. the validators'
  # `blessed`: {split: 0|1|2}) as the dicts and lists they encode.
  properties: Dict[str, Any]


# {component id: {input or output key: [ArtifactRecord, ...]}}
Artifacts = Dict[str, Dict[str, List[ArtifactRecord]]]


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
  # {component id: {execution property: value}}, e.g. Transform's
  # `custom_config` (JSON): the settings the run actually used.
  execution_properties: Dict[str, Dict[str, Any]] = dataclasses.field(
      default_factory=dict)
  # The span ExampleGen ingested (0 for data without spans) and the spans
  # the Trainer read (a window may hold several).
  ingested_span: Optional[int] = None
  trained_spans: List[int] = dataclasses.field(default_factory=list)
  # The Trainer's warm start: {'warm_started_from': dir or None, 'reason'}.
  # When the Trainer was cached, the earlier run's that trained its model.
  warm_start: Optional[Dict[str, Any]] = None
  # What each component read and wrote (cached outputs included), by key:
  # what the run report is built from. E.g. the Evaluator's `baseline_model`
  # (the latest blessed model), DistributionValidator's
  # `baseline_statistics` (the previous span's, absent on the first).
  inputs: Artifacts = dataclasses.field(default_factory=dict)
  outputs: Artifacts = dataclasses.field(default_factory=dict)

  def state_of(self, component: str) -> Optional[str]:
    """executed, cached, failed, ... as ML Metadata recorded it; None if the
    component is not in the run."""
    return next((state for name, state, _ in self.components
                 if name == component), None)


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
  inputs_by_key, outputs_by_key = {}, {}
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
    inputs_by_key[component], outputs_by_key[component] = _records_by_key(
        store, events)
    if component == 'Trainer':
      trained_on = store.get_artifacts_by_id(lineage.examples_read_by(
          store, [execution.id]).get(execution.id, []))
  summary = _summarize(run.name, components, outputs)
  summary.trained_spans = sorted({lineage.span_of(a) for a in trained_on})
  summary.inputs, summary.outputs = inputs_by_key, outputs_by_key
  return summary


def _event_keys(event: metadata_store_pb2.Event) -> List[str]:
  # An event's path is [key, index] per key the artifact was passed under: an
  # Evaluator whose baseline is its candidate too has [model, 0,
  # baseline_model, 0] on one event.
  return [step.key for step in event.path.steps
          if step.WhichOneof('value') == 'key']


def _property_value(value: metadata_store_pb2.Value) -> Any:
  kind = value.WhichOneof('value')
  if kind == 'struct_value':
    decoded = json_format.MessageToDict(value.struct_value)
    # TFX keeps a JSON value that is not an object as {'__value__': value}.
    return decoded.get('__value__', decoded)
  if kind in ('int_value', 'double_value', 'string_value', 'bool_value'):
    return getattr(value, kind)
  return None


def _record(artifact: metadata_store_pb2.Artifact) -> ArtifactRecord:
  # ExampleStatistics and ExampleAnomalies declare `span` as a property,
  # ExampleGen's Examples carry it as a custom property.
  span = (artifact.properties['span'].int_value
          if 'span' in artifact.properties else lineage.span_of(artifact))
  return ArtifactRecord(
      artifact.id, artifact.type, artifact.uri, span,
      {name: _property_value(value)
       for name, value in artifact.custom_properties.items()})


def _records_by_key(store, events) -> Tuple[Dict[str, List[ArtifactRecord]],
                                            Dict[str, List[ArtifactRecord]]]:
  """({input key: records}, {output key: records}) of one execution."""
  records = {a.id: _record(a) for a in store.get_artifacts_by_id(
      sorted({e.artifact_id for e in events}))}
  inputs, outputs = {}, {}
  by_type = {metadata_store_pb2.Event.INPUT: inputs,
             metadata_store_pb2.Event.OUTPUT: outputs}
  for event in events:
    for key in _event_keys(event) if event.type in by_type else []:
      by_type[event.type].setdefault(key, []).append(
          records[event.artifact_id])
  return inputs, outputs


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
  execution_properties = {
      component: {name: getattr(value, value.WhichOneof('value'))
                  for name, value in execution.custom_properties.items()
                  if value.WhichOneof('value') in ('string_value', 'int_value',
                                                   'double_value')}
      for component, (execution, _) in outputs.items()}
  ingested_span, warm_start = None, None
  for example_gen in contract.EXAMPLE_GEN_IDS:
    for artifact in outputs.get(example_gen, (None, []))[1]:
      ingested_span = lineage.span_of(artifact)
  for artifact in outputs.get('Trainer', (None, []))[1]:
    if artifact.type == 'Model':
      warm_start = _training_record(artifact.uri)
  return RunSummary(run_id, components, pushed, serving_model_dir,
                    identical_to_version, blessed, metrics,
                    baseline_metrics, not_blessed_because, pushed_version,
                    execution_properties=execution_properties,
                    ingested_span=ingested_span, warm_start=warm_start)


def _training_record(model_uri: str) -> Optional[Dict[str, Any]]:
  """The Trainer's training.json (tokenization, warm start) of a model."""
  return serving_directory.read_json_asset(
      os.path.join(model_uri, 'Format-Serving'), contract.TRAINING_FILE)


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


# The Trainer's reasons (models/warm_start.py) are in the present tense of
# the run that trained; a cached Trainer's model was trained in an earlier one.
_THEN = {'no blessed model trained on other examples':
             'no blessed model trained on other examples at the time',
         'warm start is off': 'warm start was off'}


def warm_start_text(summary: RunSummary) -> str:
  """Whether the run's model was warm-started, and from what; when the
  Trainer was cached, that the answer is the earlier run's that trained it
  (what was true of the models blessed then may not be of this run's)."""
  record = summary.warm_start or {}
  source, reason = record.get('warm_started_from'), record.get('reason')
  if summary.state_of('Trainer') != 'cached':
    return (f'from {source} ({reason})' if source else
            f'no, trained from scratch ({reason})')
  what = (f'was warm-started from {source} ({reason})' if source else
          f'was trained from scratch: {_THEN.get(reason, reason)}')
  return f'Trainer cached; its model (trained in an earlier run) {what}'


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
    lines.append(f'Warm start: {warm_start_text(summary)}')
  if summary.metrics:
    lines.append('Evaluation on the test split (candidate model'
                 + (', and the latest other blessed model as baseline):'
                    if summary.baseline_metrics else
                    '; no other blessed model to compare with):'))
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
