"""ImdbExampleGen: TFX's FileBasedExampleGen with the IMDB reader as executor.

Being a FileBasedExampleGen keeps TFX's own driver: it fingerprints the input
files (so an unchanged dataset hits the cache) and resolves `{SPAN}` patterns
and RangeConfig.
"""

from typing import Optional

from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2
from tfx.proto import range_config_pb2

from components.imdb_example_gen import executor
import contract


def make_input_config(train_pattern: str, test_pattern: str
                      ) -> example_gen_pb2.Input:
  """Input splits named after the dataset's directories they read."""
  return example_gen_pb2.Input(splits=[
      example_gen_pb2.Input.Split(name=contract.TRAIN_SPLIT,
                                  pattern=train_pattern),
      example_gen_pb2.Input.Split(name=contract.TEST_SPLIT,
                                  pattern=test_pattern),
  ])


def make_output_config(eval_percent: int) -> example_gen_pb2.Output:
  """Divides the dataset's train/ into `train` and `eval` by review-id hash."""
  if not 0 < eval_percent < 100:
    raise ValueError(f'eval_percent must be in 1..99, got {eval_percent}')
  return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(
      splits=[
          example_gen_pb2.SplitConfig.Split(
              name=contract.TRAIN_SPLIT, hash_buckets=100 - eval_percent),
          example_gen_pb2.SplitConfig.Split(
              name=contract.EVAL_SPLIT, hash_buckets=eval_percent),
      ]))


class ImdbExampleGen(FileBasedExampleGen):
  """Reads `<split>/<pos|neg>/<ID>_<RATING>.txt` reviews, or a .tar.gz of them.

  Outputs the splits `train` and `eval` (from the dataset's train/) and `test`
  (the dataset's test/), as tf.Examples with `text`, `label`, `rating` and
  `review_id`.
  """

  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self,
               input_base: str,
               train_pattern: str,
               test_pattern: str,
               eval_percent: int = 10,
               range_config: Optional[range_config_pb2.RangeConfig] = None):
    super().__init__(
        input_base=input_base,
        input_config=make_input_config(train_pattern, test_pattern),
        output_config=make_output_config(eval_percent),
        range_config=range_config)
