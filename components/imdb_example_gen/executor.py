"""Beam executor of ImdbExampleGen.

Input splits name the dataset's own directories (`train`, `test`), each with a
file pattern under `input_base`: either the review files of a directory tree or
a .tar.gz of it. The output config's hash buckets divide the *first* input split
(the dataset's train/) into `train` and `eval` by a hash of each review's movie
(`reviews.movie_urls`; of the review id where no urls file names it), so that
`eval`, like IMDB's `test`, holds movies the model was not trained on; every
other input split is written as it is. That combination is what the stock
FileBasedExampleGen does not allow (it hash-splits only a single input split),
so this executor overrides `Do` and `GenerateExamplesByBeam`.
"""

import os
from typing import Any, Dict, List, Tuple

import apache_beam as beam
import tensorflow as tf
from absl import logging
from tfx import types
from tfx.components.example_gen import base_example_gen_executor
from tfx.components.example_gen import write_split
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.components.util import examples_utils
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import example_writer
from components.imdb_example_gen import layout
from components.imdb_example_gen import reviews


def output_split_names(input_config: example_gen_pb2.Input,
                       output_config: example_gen_pb2.Output) -> List[str]:
  """Hash-split names of the first input split, then the other input splits."""
  hashed = [s.name for s in output_config.split_config.splits] or [
      input_config.splits[0].name]
  return hashed + [s.name for s in input_config.splits[1:]]


def _split_configs(exec_properties: Dict[str, Any]
                   ) -> Tuple[example_gen_pb2.Input, example_gen_pb2.Output]:
  input_config = example_gen_pb2.Input()
  proto_utils.json_to_proto(
      exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
  output_config = example_gen_pb2.Output()
  proto_utils.json_to_proto(
      exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY],
      output_config)
  return input_config, output_config


def _expand_pattern(input_base: str, split: str, pattern: str) -> List[str]:
  """Files of the split's pattern: one archive, or the review files."""
  paths = tf.io.gfile.glob(os.path.join(input_base, pattern))
  archives = [p for p in paths if layout.is_archive(p)]
  if archives:
    if len(archives) > 1:
      raise reviews.ReviewDataError(
          f'{os.path.join(input_base, pattern)}: matches several archives '
          f'{archives}; expected one')
    return archives
  files = reviews.list_review_files(paths, split)
  if not files:
    raise reviews.ReviewDataError(
        f'{os.path.join(input_base, pattern)}: no reviews found (expected '
        f'{split}/pos/<ID>_<RATING>.txt and {split}/neg/... under {input_base})')
  return files


FILES_PER_ELEMENT = 500


@beam.ptransform_fn
def _ReadReviews(pipeline: beam.Pipeline, paths: List[str],
                 split: str) -> beam.PCollection:
  """PCollection of `reviews.Review` for one input split's files."""
  if layout.is_archive(paths[0]):
    # A gzip stream cannot be split: one worker reads the whole archive.
    return (pipeline
            | 'Archive' >> beam.Create(paths)
            | 'ReadArchive' >> beam.FlatMap(reviews.iter_archive_reviews, split))
  # Files go to Beam in groups: an element per file cost Beam more than
  # reading the file (a directory was ingested up to a fifth slower per
  # review than the same reviews in an archive). Groups still spread over a
  # cluster's workers.
  groups = [paths[start:start + FILES_PER_ELEMENT]
            for start in range(0, len(paths), FILES_PER_ELEMENT)]
  return (pipeline
          | 'Files' >> beam.Create(groups)
          | 'ReadFiles' >> beam.FlatMap(
              lambda group: (reviews.read_review_file(path, split)
                             for path in group)))


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
  """Reads the official IMDB layout into tf.Examples."""

  def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
    # Not used: GenerateExamplesByBeam reads the splits itself, because the
    # reader needs the split's name, not only its pattern.
    raise NotImplementedError

  def GenerateExamplesByBeam(self, pipeline: beam.Pipeline,
                             exec_properties: Dict[str, Any]
                             ) -> Dict[str, beam.PCollection]:
    input_config, output_config = _split_configs(exec_properties)
    input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]

    result = {}
    for index, split in enumerate(input_config.splits):
      paths = _expand_pattern(input_base, split.name, split.pattern)
      examples = (pipeline
                  | f'Read[{split.name}]' >> _ReadReviews(paths, split.name))
      hash_splits = output_config.split_config.splits
      if index == 0 and hash_splits:
        buckets = tuple(s.hash_buckets for s in hash_splits)
        movies = reviews.movie_urls(paths, split.name)
        logging.info('Splitting %s by movie: %d reviews named in its urls '
                     'files, %d movies (any other review: by its id).',
                     split.name, len(movies), len(set(movies.values())))
        parts = examples | f'Split[{split.name}]' >> beam.Partition(
            lambda review, _, buckets=buckets, movies=movies:
            reviews.hash_split_index(
                reviews.split_key(review.review_id, movies), buckets),
            len(buckets))
        for output_split, part in zip(hash_splits, parts):
          result[output_split.name] = part
      else:
        result[split.name] = examples
    return {
        name: split_reviews
        | f'ToExample[{name}]' >> beam.Map(reviews.Review.to_example)
        for name, split_reviews in result.items()
    }

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    input_config, output_config = _split_configs(exec_properties)
    examples_artifact = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.EXAMPLES_KEY])
    examples_artifact.split_names = artifact_utils.encode_split_names(
        output_split_names(input_config, output_config))
    output_file_format = exec_properties.get(
        standard_component_specs.OUTPUT_FILE_FORMAT_KEY,
        example_gen_pb2.FILE_FORMAT_UNSPECIFIED)

    logging.info('Generating IMDB examples from %s.',
                 exec_properties[standard_component_specs.INPUT_BASE_KEY])
    with self._make_beam_pipeline() as pipeline:
      for split_name, examples in self.GenerateExamplesByBeam(
          pipeline, exec_properties).items():
        _ = (examples
             | f'WriteSplit[{split_name}]' >> example_writer.WriteExamples(
                 artifact_utils.get_split_uri([examples_artifact], split_name)))

    # Recorded on the artifact as the stock executor does: downstream readers
    # (TFXIO) choose their parser from these properties.
    examples_utils.set_payload_format(
        examples_artifact,
        exec_properties.get(standard_component_specs.OUTPUT_DATA_FORMAT_KEY,
                            example_gen_pb2.FORMAT_TF_EXAMPLE))
    if output_file_format:
      examples_utils.set_file_format(
          examples_artifact, write_split.to_file_format_str(output_file_format))
