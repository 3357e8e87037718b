"""What ML Metadata recorded of a pipeline: spans, producers and readers.

The resolver strategies (components/) and the run summary (runs/) both ask
ML Metadata which span an artifact holds, which execution produced an
artifact and which Examples an execution read; they ask here. Only
ml_metadata is imported, never TFX: the read side may use this module.
"""

import os
from typing import Dict, List, Sequence, Tuple

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

SPAN_PROPERTY = 'span'
# The input key under which TFX's components read Examples (StatisticsGen,
# Transform, Trainer, ...).
EXAMPLES_KEY = 'examples'


def metadata_path_of(output_dir: str) -> str:
  """Where a local run keeps its ML Metadata store (SQLite)."""
  return os.path.join(output_dir, 'metadata', 'metadata.sqlite')


def sqlite_store(metadata_path: str) -> mlmd.MetadataStore:
  """The ML Metadata store of a local run: the SQLite file LocalDagRunner
  writes. The file must exist; reading never creates one."""
  config = metadata_store_pb2.ConnectionConfig()
  config.sqlite.filename_uri = metadata_path
  config.sqlite.connection_mode = (
      metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE)
  return mlmd.MetadataStore(config)


def span_of(artifact: metadata_store_pb2.Artifact) -> int:
  """The span of an artifact (0: data without spans, or not Examples).

  ExampleGen records it as the `span` custom property, an int (a string in
  older TFX).
  """
  if SPAN_PROPERTY not in artifact.custom_properties:
    return 0
  value = artifact.custom_properties[SPAN_PROPERTY]
  kind = value.WhichOneof('value')
  if kind == 'int_value':
    return value.int_value
  if kind == 'string_value' and value.string_value:
    return int(value.string_value)
  return 0


def _first_key(event: metadata_store_pb2.Event) -> str:
  # An event's path is [key, index]: the input or output key comes first.
  return event.path.steps[0].key if event.path.steps else ''


def producers_of(store: mlmd.MetadataStore, artifact_ids: Sequence[int]
                 ) -> Dict[int, Tuple[str, int]]:
  """{artifact id: (output key, id of the execution that produced it)}."""
  found = {}
  for event in store.get_events_by_artifact_ids(list(artifact_ids)):
    if event.type == metadata_store_pb2.Event.OUTPUT:
      found[event.artifact_id] = (_first_key(event), event.execution_id)
  return found


def examples_read_by(store: mlmd.MetadataStore, execution_ids: Sequence[int]
                     ) -> Dict[int, List[int]]:
  """{execution id: ids of the Examples it read}, for the executions that
  read any (under the `examples` input key)."""
  read: Dict[int, List[int]] = {}
  for event in store.get_events_by_execution_ids(list(execution_ids)):
    if (event.type == metadata_store_pb2.Event.INPUT
        and _first_key(event) == EXAMPLES_KEY):
      read.setdefault(event.execution_id, []).append(event.artifact_id)
  return read
