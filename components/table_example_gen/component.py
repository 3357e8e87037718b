"""TableExampleGen: TFX's FileBasedExampleGen with the table reader as executor.

Being a FileBasedExampleGen keeps TFX's own driver: it fingerprints the input
files (so an unchanged table hits the cache) and records the span, as it does
for the IMDB reviews. Its spec adds one parameter, `table_config`: which
column is what and how the splits are made (rows.TableColumns, as JSON).
"""

import json
from typing import Sequence

from tfx.components.example_gen import driver
from tfx.dsl.components.base import base_beam_component
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2
from tfx.types import channel
from tfx.types import component_spec
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs

from components.table_example_gen import executor
from components.table_example_gen.rows import TableColumns

TABLE_CONFIG_KEY = executor.TABLE_CONFIG_KEY
# The one input split: every file of the pattern; the executor makes train,
# eval and test of it.
INPUT_SPLIT = 'table'


class TableExampleGenSpec(standard_component_specs.FileBasedExampleGenSpec):
  PARAMETERS = {
      **standard_component_specs.FileBasedExampleGenSpec.PARAMETERS,
      TABLE_CONFIG_KEY: component_spec.ExecutionParameter(type=str),
  }


class TableExampleGen(base_beam_component.BaseBeamComponent):
  """Reads the table files `pattern` matches under `input_base` into the
  splits `train`, `eval` and `test` of tf.Examples (`text`, `label`, and
  `rating` with a target column)."""

  SPEC_CLASS = TableExampleGenSpec
  DRIVER_CLASS = driver.FileBasedDriver
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, input_base: str, pattern: str, columns: TableColumns,
               classes: Sequence[str]):
    """`classes`: the sorted class names the pipeline was built with (the
    Transform graph maps labels to their indexes); the run fails if the
    table's are different by then."""
    input_config = example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name=INPUT_SPLIT, pattern=pattern)])
    # Names the output splits for TFX; the executor assigns the rows.
    output_config = example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(splits=[
            example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=1)
            for name in executor.OUTPUT_SPLITS]))
    spec = TableExampleGenSpec(
        input_base=input_base,
        input_config=input_config,
        output_config=output_config,
        output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
        output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP,
        table_config=json.dumps(
            {'columns': columns.to_json_dict(), 'classes': list(classes)},
            sort_keys=True),
        examples=channel.Channel(type=standard_artifacts.Examples))
    super().__init__(spec=spec)

