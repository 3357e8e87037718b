"""The end-of-run summary, read from an ML Metadata store written here as
TFX's launcher writes one (no pipeline run)."""

import json
import os

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2

import contract
from contract import serving_directory
from runs import summary

_PIPELINE = 'imdb_sentiment'


class _Store:
  """A pipeline, one run of it, and executions in that run."""

  def __init__(self, path: str):
    config = mlmd_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = (
        mlmd_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
    self.store = mlmd.MetadataStore(config)
    self.types = {}
    pipeline = self._context('pipeline', _PIPELINE)
    self.run = self._context('pipeline_run', '2026-01-01T00:00:00.000001')
    self.store.put_parent_contexts([mlmd_pb2.ParentContext(
        child_id=self.run.id, parent_id=pipeline.id)])

  def type_id(self, kind: str, name: str) -> int:
    if (kind, name) not in self.types:
      put = {'context': (self.store.put_context_type, mlmd_pb2.ContextType),
             'execution': (self.store.put_execution_type,
                           mlmd_pb2.ExecutionType),
             'artifact': (self.store.put_artifact_type,
                          mlmd_pb2.ArtifactType)}[kind]
      declared = put[1](name=name)
      if name == 'ExampleAnomalies':  # TFX declares its span a property
        declared.properties['span'] = mlmd_pb2.INT
      self.types[kind, name] = put[0](declared)
    return self.types[kind, name]

  def _context(self, type_name: str, name: str) -> mlmd_pb2.Context:
    context = mlmd_pb2.Context(type_id=self.type_id('context', type_name),
                               name=name)
    [context.id] = self.store.put_contexts([context])
    return context

  def artifact(self, type_name: str, uri: str, **custom) -> mlmd_pb2.Artifact:
    artifact = mlmd_pb2.Artifact(type_id=self.type_id('artifact', type_name),
                                 uri=uri, state=mlmd_pb2.Artifact.LIVE)
    for name, value in custom.items():
      artifact.custom_properties[name].int_value = value
    [artifact.id] = self.store.put_artifacts([artifact])
    return artifact

  def execution(self, component: str, state, inputs=(), outputs=()) -> None:
    """`inputs`, `outputs`: (artifact, [key, ...]); an artifact passed under
    two keys has one event whose path holds both, as TFX records it."""
    execution = mlmd_pb2.Execution(
        type_id=self.type_id('execution', component), last_known_state=state)
    events = []
    for event_type, pairs in ((mlmd_pb2.Event.INPUT, inputs),
                              (mlmd_pb2.Event.OUTPUT, outputs)):
      for artifact, keys in pairs:
        event = mlmd_pb2.Event(type=event_type)
        for key in keys:
          event.path.steps.add().key = key
          event.path.steps.add().index = 0
        events.append((artifact, event))
    node = self._context('node', f'{_PIPELINE}.{component}')
    self.store.put_execution(execution, events, [self.run, node])


def _model(root, name: str, warm_start) -> str:
  """A Trainer's Model artifact directory with its training.json."""
  uri = os.path.join(str(root), 'Trainer', 'model', name)
  path = serving_directory.assets_extra_path(
      os.path.join(uri, 'Format-Serving'), contract.TRAINING_FILE)
  os.makedirs(os.path.dirname(path))
  with open(path, 'w', encoding='utf-8') as f:
    json.dump(warm_start, f)
  return uri


def test_cached_trainer_s_warm_start_is_said_to_be_the_earlier_run_s(
    tmp_path):
  # A re-run on the same data: the Trainer is cached (its model is the first
  # run's, trained from scratch), the Evaluator compares it with the first
  # run's blessed model, the same artifact.
  store = _Store(str(tmp_path / 'metadata.sqlite'))
  model = store.artifact('Model', _model(tmp_path, '9', {
      'warm_started_from': None,
      'reason': 'no blessed model trained on other examples'}))
  blessing = store.artifact('ModelBlessing', str(tmp_path / 'blessing'),
                            blessed=1)
  store.execution('Trainer', mlmd_pb2.Execution.CACHED,
                  outputs=[(model, ['model'])])
  store.execution('Evaluator', mlmd_pb2.Execution.COMPLETE,
                  inputs=[(model, ['model', 'baseline_model'])],
                  outputs=[(blessing, ['blessing'])])
  run = summary.latest_run(str(tmp_path / 'metadata.sqlite'), _PIPELINE)
  assert run.state_of('Trainer') == 'cached'
  assert [a.id for a in run.inputs['Evaluator']['baseline_model']] == [
      model.id]
  assert [a.id for a in run.inputs['Evaluator']['model']] == [model.id]
  assert run.outputs['Evaluator']['blessing'][0].properties == {'blessed': 1}
  text = summary.format_summary(run)
  assert ('Warm start: Trainer cached; its model (trained in an earlier run) '
          'was trained from scratch: no blessed model trained on other '
          'examples at the time') in text
  assert '(no blessed model trained on other examples)' not in text


def test_a_trainer_that_ran_says_what_it_did():
  run = summary.RunSummary(
      'r', [('Trainer', 'executed', 9.0)], False, None, None, None, {},
      warm_start={'warm_started_from': None,
                  'reason': 'no blessed model trained on other examples'})
  assert ('Warm start: no, trained from scratch (no blessed model trained on '
          'other examples)'
          in summary.format_summary(run))
  run.warm_start = {'warm_started_from': '/m/Format-Serving',
                    'reason': 'same tokenization as the latest blessed model'}
  assert ('Warm start: from /m/Format-Serving (same tokenization as the '
          'latest blessed model)') in summary.format_summary(run)
  run.components = [('Trainer', 'cached', 0.0)]
  assert ('Warm start: Trainer cached; its model (trained in an earlier run) '
          'was warm-started from /m/Format-Serving') in (
              summary.format_summary(run))


def test_json_custom_properties_and_spans_are_read(tmp_path):
  store = _Store(str(tmp_path / 'metadata.sqlite'))
  anomalies = mlmd_pb2.Artifact(
      type_id=store.type_id('artifact', 'ExampleAnomalies'),
      uri=str(tmp_path / 'anomalies'))
  anomalies.properties['span'].int_value = 3
  anomalies.custom_properties['blessed'].struct_value.update(
      {'train': 2, 'eval': 2})
  anomalies.custom_properties['rates'].struct_value.update(
      {'__value__': [1, 2]})
  [anomalies.id] = store.store.put_artifacts([anomalies])
  store.execution('DistributionValidator', mlmd_pb2.Execution.COMPLETE,
                  outputs=[(anomalies, ['anomalies'])])
  run = summary.latest_run(str(tmp_path / 'metadata.sqlite'), _PIPELINE)
  [record] = run.outputs['DistributionValidator']['anomalies']
  assert record.span == 3
  assert record.properties == {'blessed': {'train': 2.0, 'eval': 2.0},
                               'rates': [1.0, 2.0]}
