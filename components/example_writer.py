"""Writing an ExampleGen split: tf.Examples as gzipped TFRecord files, where
and as TFX's readers expect them (`data_tfrecord-*.gz` in the split's
directory).

TFX's own `write_split.WriteSplit` reshuffles the split before writing it
(`beam.Reshuffle`, a GroupByKey). The direct runner runs a GroupByKey by
holding the whole collection in memory: ExampleGen's peak memory grew by
about 8 KB per review with it. The examples here arrive from one sequential
read (the archive) or from independent files, so there is nothing to
rebalance; written as they come, ExampleGen streams.
"""

import os

import apache_beam as beam
from tfx.components.example_gen import write_split


@beam.ptransform_fn
def WriteExamples(examples: beam.PCollection,  # pylint: disable=invalid-name
                  output_split_path: str) -> beam.pvalue.PDone:
  """`examples` (tf.Examples) serialized into `output_split_path`, in the
  order they come, counted in TFX's ExampleGen `num_instances` metric."""
  return (examples
          | 'Serialize' >> beam.ParDo(write_split.MaybeSerialize())
          | 'Write' >> beam.io.WriteToTFRecord(
              os.path.join(output_split_path,
                           write_split.DEFAULT_TF_RECORD_FILE_NAME),
              file_name_suffix='.gz'))
