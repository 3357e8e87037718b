"""ExampleGen alone, for `make bench-scale`'s directory-vs-tarball comparison.

    python -m benchmarks.scale_ingest --data PATH --output-dir DIR [flags]

The pipeline's ImdbExampleGen (same configuration, flags and environment as
`make run`), cut out of orchestration.beam.stage's pipeline and run with
TFX's LocalDagRunner, nothing cached: the whole cost of ingesting the data
and nothing else. Prints its wall seconds as JSON.
"""

import json
import sys
import time

# pylint: disable=g-import-not-at-top,wrong-import-position
from orchestration.beam import profiles as beam_profiles
from orchestration.beam import stage
from pipeline import configs as config_lib
from pipeline import data

COMPONENT = 'ImdbExampleGen'


def main(argv=None) -> int:
  config = config_lib.from_args(list(argv or []) + ['--no-cache'])
  try:
    location = data.resolve(config.data.path, config.data.cache_dir)
  except data.DataSourceError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  from tfx.orchestration import pipeline as tfx_pipeline
  from tfx.orchestration.local.local_dag_runner import LocalDagRunner
  from pipeline import beam_flags
  from runs import summary
  cut = stage.create_stage(config, location)
  [example_gen] = [c for c in cut.components if c.id == COMPONENT]
  example_gen._downstream_nodes = set()  # pylint: disable=protected-access
  alone = tfx_pipeline.Pipeline(
      pipeline_name=cut.pipeline_info.pipeline_name,
      pipeline_root=cut.pipeline_info.pipeline_root,
      components=[example_gen], enable_cache=False,
      metadata_connection_config=cut.metadata_connection_config,
      beam_pipeline_args=cut.beam_pipeline_args)
  started_ms = int(time.time() * 1000)
  with beam_flags.in_environment(beam_profiles.pipeline_args(config)):
    LocalDagRunner().run(alone)
  latest = summary.latest_run(config.metadata_path, config.pipeline_name,
                              since_ms=started_ms)
  print(json.dumps({'run_id': latest.run_id,
                    **{name: seconds
                       for name, _, seconds in latest.components}}),
        flush=True)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
