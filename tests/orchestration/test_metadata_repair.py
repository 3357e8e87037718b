"""A killed run's unfinished executions are marked failed by the next run."""

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from orchestration import metadata_repair

Execution = metadata_store_pb2.Execution


def _store(path):
  connection = metadata_store_pb2.ConnectionConfig()
  connection.sqlite.filename_uri = str(path)
  connection.sqlite.connection_mode = (
      metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
  return metadata_store.MetadataStore(connection)


def test_running_and_new_executions_become_failed_finished_ones_stay(tmp_path):
  path = tmp_path / 'metadata.sqlite'
  store = _store(path)
  trainer = store.put_execution_type(
      metadata_store_pb2.ExecutionType(name='Trainer'))
  states = [Execution.RUNNING, Execution.NEW, Execution.COMPLETE,
            Execution.CACHED, Execution.FAILED]
  ids = store.put_executions(
      [Execution(type_id=trainer, last_known_state=s) for s in states])
  marked = metadata_repair.mark_abandoned_executions(str(path))
  assert marked == [f'Trainer #{ids[0]}', f'Trainer #{ids[1]}']
  after = {e.id: e for e in _store(path).get_executions_by_id(ids)}
  assert [after[i].last_known_state for i in ids] == [
      Execution.FAILED, Execution.FAILED, Execution.COMPLETE,
      Execution.CACHED, Execution.FAILED]
  assert 'killed' in after[ids[0]].custom_properties[
      metadata_repair.ABANDONED_PROPERTY].string_value
  assert metadata_repair.ABANDONED_PROPERTY not in after[
      ids[2]].custom_properties
  # Nothing left to mark the second time.
  assert metadata_repair.mark_abandoned_executions(str(path)) == []


def test_no_store_yet_is_nothing_to_repair(tmp_path):
  assert metadata_repair.mark_abandoned_executions(
      str(tmp_path / 'none.sqlite')) == []
  assert not (tmp_path / 'none.sqlite').exists()
