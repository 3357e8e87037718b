"""contract.lineage on a small ML Metadata store made by hand: spans of
artifacts, which execution produced an artifact, which Examples it read."""

from ml_metadata.proto import metadata_store_pb2

from contract import lineage


def _artifact(span=None):
  artifact = metadata_store_pb2.Artifact()
  if isinstance(span, int):
    artifact.custom_properties['span'].int_value = span
  elif isinstance(span, str):
    artifact.custom_properties['span'].string_value = span
  return artifact


def test_span_is_the_custom_property_int_or_string():
  assert lineage.span_of(_artifact(7)) == 7
  assert lineage.span_of(_artifact('3')) == 3  # as older TFX wrote it
  assert lineage.span_of(_artifact()) == 0  # data without spans
  assert lineage.span_of(_artifact('')) == 0


def _event(is_input, artifact_id, execution_id, key):
  event = metadata_store_pb2.Event(
      type=(metadata_store_pb2.Event.INPUT if is_input
            else metadata_store_pb2.Event.OUTPUT),
      artifact_id=artifact_id, execution_id=execution_id)
  event.path.steps.add().key = key  # as TFX records it: [key, index]
  event.path.steps.add().index = 0
  return event


def _store(tmp_path):
  """Two spans of Examples, a StatisticsGen run on span 2 and a Trainer run
  on both; returns (store, {name: id})."""
  path = str(tmp_path / 'metadata.sqlite')
  open(path, 'wb').close()  # the reader never creates the file
  store = lineage.sqlite_store(path)
  examples_type = store.put_artifact_type(
      metadata_store_pb2.ArtifactType(name='Examples'))
  other_type = store.put_artifact_type(
      metadata_store_pb2.ArtifactType(name='Other'))
  execution_type = store.put_execution_type(
      metadata_store_pb2.ExecutionType(name='Component'))
  ids = {}
  for span in (1, 2):
    artifact = _artifact(span)
    artifact.type_id = examples_type
    [ids[f'span{span}']] = store.put_artifacts([artifact])
  [ids['schema'], ids['statistics'], ids['model']] = store.put_artifacts(
      [metadata_store_pb2.Artifact(type_id=other_type) for _ in range(3)])
  runs = {
      'statistics_gen': [('examples', 'span2', True),
                         ('statistics', 'statistics', False)],
      'trainer': [('examples', 'span1', True), ('examples', 'span2', True),
                  ('schema', 'schema', True), ('model', 'model', False)],
  }
  for name, events in runs.items():
    [ids[name]] = store.put_executions(
        [metadata_store_pb2.Execution(type_id=execution_type)])
    store.put_events([_event(is_input, ids[artifact], ids[name], key)
                      for key, artifact, is_input in events])
  return store, ids


def test_producers_and_the_examples_an_execution_read(tmp_path):
  store, ids = _store(tmp_path)
  assert lineage.producers_of(store, [ids['model'], ids['statistics'],
                                      ids['span1']]) == {
      ids['model']: ('model', ids['trainer']),
      ids['statistics']: ('statistics', ids['statistics_gen'])}
  read = lineage.examples_read_by(
      store, [ids['trainer'], ids['statistics_gen']])
  assert sorted(read[ids['trainer']]) == [ids['span1'], ids['span2']]
  assert read[ids['statistics_gen']] == [ids['span2']]
  assert [lineage.span_of(a) for a in store.get_artifacts_by_id(
      read[ids['trainer']])] == [1, 2]
