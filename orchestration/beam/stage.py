"""The pipeline's Beam-heavy front alone: ExampleGen to Transform.

    python -m orchestration.beam.stage --data PATH --output-dir DIR \
        [--beam-profile P ...]

Runs the same components as `make run` (same configuration, flags and
environment variables), stopping after Transform, with TFX's LocalDagRunner,
and prints each component's wall seconds as JSON. What a runner profile
changes is all here: the profile comparison test and `make bench-beam` use it.
"""

import json
import sys
import time
from typing import Dict

# pylint: disable=g-import-not-at-top,wrong-import-position
from pipeline import configs as config_lib
from pipeline import data
from orchestration.beam import profiles as beam_profiles
from pipeline import orchestrators
# pylint: enable=g-import-not-at-top,wrong-import-position

# The Beam components and what they need upstream (the schema, and the
# validation gate Transform waits for).
STAGE_COMPONENTS = ('ImdbExampleGen', 'TableExampleGen', 'StatisticsGen',
                    'ImportSchemaGen', 'SchemaGen', 'ExampleValidator',
                    'ValidationGate', 'Transform')
# The local pipeline without the drift check, which the cut would leave
# the gate waiting for.
STAGE_ORCHESTRATOR = orchestrators.LOCAL.without(
    orchestrators.DRIFT_CHECK,
    'its resolver and DistributionValidator are no Beam components')


def create_stage(config: config_lib.PipelineConfig,
                 location: data.DataLocation):
  """The pipeline of `create_pipeline`, cut after Transform."""
  # pylint: disable=g-import-not-at-top
  from tfx.orchestration import pipeline as tfx_pipeline
  from pipeline import pipeline as imdb_pipeline
  # pylint: enable=g-import-not-at-top
  full = imdb_pipeline.create_pipeline(
      config, location, beam_profiles.pipeline_args(config), STAGE_ORCHESTRATOR)
  components = [c for c in full.components if c.id in STAGE_COMPONENTS]
  for component in components:
    # Forget the cut-off consumers (Trainer, Evaluator): a pipeline must hold
    # every node its nodes name.
    component._downstream_nodes = {  # pylint: disable=protected-access
        node for node in component.downstream_nodes if node in components}
  return tfx_pipeline.Pipeline(
      pipeline_name=full.pipeline_info.pipeline_name,
      pipeline_root=full.pipeline_info.pipeline_root,
      components=components,
      enable_cache=config.retraining.enable_cache,
      metadata_connection_config=full.metadata_connection_config,
      beam_pipeline_args=full.beam_pipeline_args)


def run(config: config_lib.PipelineConfig,
        location: data.DataLocation) -> Dict[str, float]:
  """Runs the stage; wall seconds per component, as ML Metadata recorded."""
  # pylint: disable=g-import-not-at-top
  from tfx.orchestration.local.local_dag_runner import LocalDagRunner
  from pipeline import beam_flags
  from runs import summary
  # pylint: enable=g-import-not-at-top
  started_ms = int(time.time() * 1000)
  with beam_flags.in_environment(beam_profiles.pipeline_args(config)):
    LocalDagRunner().run(create_stage(config, location))
  latest = summary.latest_run(config.metadata_path, config.pipeline_name,
                              since_ms=started_ms)
  return {name: seconds for name, _, seconds in latest.components}


def main(argv=None) -> int:
  config = config_lib.from_args(argv)
  try:
    location = data.resolve(config.data.path, config.data.cache_dir)
  except data.DataSourceError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  print(json.dumps(run(config, location)), flush=True)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
