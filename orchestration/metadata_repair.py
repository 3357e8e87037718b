"""Executions a killed run left behind in ML Metadata.

A run killed midway (or stopped by a full disk) never records how its
executions ended: they stay RUNNING (or NEW) for ever, and anyone reading
the store sees work in progress that no process is doing. The local runner
holds the output directory's lock while it runs, so when the next run has
the lock, no such execution can still be alive: it marks them FAILED and says
so. Uses ML Metadata directly (no TFX), so it runs before TFX is imported.
"""

import os
from typing import List

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

ABANDONED_PROPERTY = 'abandoned'
_UNFINISHED = (metadata_store_pb2.Execution.NEW,
               metadata_store_pb2.Execution.RUNNING)


def mark_abandoned_executions(metadata_path: str) -> List[str]:
  """Marks every unfinished execution in the SQLite store FAILED; returns
  them as 'ComponentType #id' (none when there is no store yet)."""
  if not os.path.exists(metadata_path):
    return []
  connection = metadata_store_pb2.ConnectionConfig()
  connection.sqlite.filename_uri = metadata_path
  connection.sqlite.connection_mode = (
      metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE)
  store = mlmd.MetadataStore(connection)
  abandoned = [e for e in store.get_executions()
               if e.last_known_state in _UNFINISHED]
  if not abandoned:
    return []
  for execution in abandoned:
    execution.last_known_state = metadata_store_pb2.Execution.FAILED
    execution.custom_properties[ABANDONED_PROPERTY].string_value = (
        'its run ended without recording an outcome (killed, or out of '
        'disk); marked failed by the next run')
  store.put_executions(abandoned)
  types = {t.id: t.name for t in store.get_execution_types_by_id(
      sorted({e.type_id for e in abandoned}))}
  return [f'{types.get(e.type_id, "execution")} #{e.id}' for e in abandoned]
