"""Beam executor of TableExampleGen.

Every file of the input pattern is read by one worker (a CSV with quoted
line breaks cannot be split at arbitrary offsets), its rows parsed and
assigned to `train`, `eval` or `test` (a split column, or a hash of the id or
the text). The class counts of all rows are combined and checked
(rows.check_classes) before any example is written: the examples wait on the
check as a side input, so bad data fails the run with the check's message.
"""

import json
import os
from typing import Any, Dict, List

import apache_beam as beam
import tensorflow as tf
from absl import logging
from tfx import types
from tfx.components.example_gen import base_example_gen_executor
from tfx.components.example_gen import write_split
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import example_writer
from components.table_example_gen import formats
from components.table_example_gen import rows
import contract

TABLE_CONFIG_KEY = 'table_config'
OUTPUT_SPLITS = (contract.TRAIN_SPLIT, contract.EVAL_SPLIT, contract.TEST_SPLIT)


def table_files(input_base: str, pattern: str) -> List[str]:
  """The table files of the pattern, sorted; TableDataError if none."""
  where = os.path.join(input_base, pattern)
  paths = sorted(p for p in tf.io.gfile.glob(where)
                 if formats.is_table_path(p) and not tf.io.gfile.isdir(p))
  if not paths:
    raise formats.TableDataError(
        f'{where}: no table files (.csv, .jsonl, .parquet) match')
  found = {formats.format_of(p) for p in paths}
  if len(found) > 1:
    raise formats.TableDataError(
        f'{where}: matches files of several formats ({", ".join(sorted(found))})'
        '; use one')
  return paths


def _checked_classes(counts: rows.ClassCounts, columns: rows.TableColumns,
                     where: str, recorded: List[str]) -> List[str]:
  classes = rows.check_classes(counts, columns, where)
  if recorded and classes != recorded:
    raise formats.TableDataError(
        f'{where}: the classes are now {classes}, the pipeline was built with '
        f'{recorded}; build the pipeline again (re-run the command)')
  return classes


def _to_example(row: rows.Row, classes: List[str]) -> tf.train.Example:
  del classes  # only waited on: the check passed
  return row.to_example()


class _MergeCounts(beam.CombineFn):
  def create_accumulator(self):
    return {}

  def add_input(self, accumulator, row):
    return rows.merge_counts([accumulator, rows.count_classes([row])])

  def merge_accumulators(self, accumulators):
    return rows.merge_counts(accumulators)

  def extract_output(self, accumulator):
    return accumulator


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
  """Reads a labelled text table into tf.Examples."""

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    # Not used: GenerateExamplesByBeam reads and splits the rows itself.
    raise NotImplementedError

  def GenerateExamplesByBeam(self, pipeline: beam.Pipeline,
                             exec_properties: Dict[str, Any]
                             ) -> Dict[str, beam.PCollection]:
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(
        exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
        input_config)
    table_config = json.loads(exec_properties[TABLE_CONFIG_KEY])
    columns = rows.TableColumns.from_json_dict(table_config['columns'])
    input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    [split] = input_config.splits
    paths = table_files(input_base, split.pattern)
    where = os.path.join(input_base, split.pattern)
    table_rows = (pipeline
                  | 'Files' >> beam.Create(paths)
                  | 'ReadRows' >> beam.FlatMap(rows.read_rows, columns))
    classes = (table_rows
               | 'CountClasses' >> beam.CombineGlobally(_MergeCounts())
               | 'CheckClasses' >> beam.Map(
                   _checked_classes, columns, where,
                   table_config.get('classes') or []))
    parts = table_rows | 'Split' >> beam.Partition(
        lambda row, _: OUTPUT_SPLITS.index(row.split), len(OUTPUT_SPLITS))
    return {
        name: part | f'ToExample[{name}]' >> beam.Map(
            _to_example, beam.pvalue.AsSingleton(classes))
        for name, part in zip(OUTPUT_SPLITS, parts)
    }

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    examples_artifact = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.EXAMPLES_KEY])
    examples_artifact.split_names = artifact_utils.encode_split_names(
        list(OUTPUT_SPLITS))
    output_file_format = exec_properties.get(
        standard_component_specs.OUTPUT_FILE_FORMAT_KEY,
        example_gen_pb2.FORMAT_TFRECORDS_GZIP)
    logging.info('Generating examples from the table(s) under %s.',
                 exec_properties[standard_component_specs.INPUT_BASE_KEY])
    with self._make_beam_pipeline() as pipeline:
      for split_name, examples in self.GenerateExamplesByBeam(
          pipeline, exec_properties).items():
        _ = (examples
             | f'WriteSplit[{split_name}]' >> example_writer.WriteExamples(
                 artifact_utils.get_split_uri([examples_artifact], split_name)))
    examples_utils.set_payload_format(
        examples_artifact,
        exec_properties.get(standard_component_specs.OUTPUT_DATA_FORMAT_KEY,
                            example_gen_pb2.FORMAT_TF_EXAMPLE))
    examples_utils.set_file_format(
        examples_artifact, write_split.to_file_format_str(output_file_format))
