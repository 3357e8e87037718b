"""Runs the pipeline on this machine with TFX's LocalDagRunner.

    python local_runner.py [--data PATH] [--output-dir DIR] ...

or through the TFX CLI (which runs this file without arguments; settings then
come from the environment: IMDB_DATA, OUTPUT_DIR, PUSH_IDENTICAL_MODEL):

    tfx pipeline create --engine=local --pipeline_path=$PWD/local_runner.py
    tfx run create --engine=local --pipeline_name=imdb_sentiment
"""

import datetime
import os
import shutil
import sys
import time
from typing import List

# Only light modules here: a wrong data path must fail before TFX and
# TensorFlow take their half a minute to import. `orchestration` first: it
# makes tf.keras Keras 2 for this process and the ones it starts.
from orchestration import metadata_repair
from orchestration import object_storage
from orchestration import run_lock
from orchestration.beam import profiles as beam_profiles
from pipeline import configs as config_lib
from pipeline import data
from pipeline import orchestrators
from runs import progress

def run(config: config_lib.PipelineConfig, location: data.DataLocation,
        beam_args: List[str]) -> None:
  """Runs the pipeline, showing progress, and prints what the run did.

  TFX's, Beam's and TensorFlow's logs go to `<output_dir>/runs/<start>/
  pipeline.log` (and to the terminal too with --verbose); the terminal shows a
  line per component, Keras's epochs, then the summary. The run's report is
  written beside the log.
  """
  run_dir = os.path.join(config.runs_dir,
                         datetime.datetime.now().strftime('%Y-%m-%dT%H%M%S'))
  log_path = os.path.join(run_dir, 'pipeline.log')
  print(f'Log: {log_path}'
        + ('' if config.local.verbose else ' (-v or VERBOSE=1 shows it here too)'),
        flush=True)
  # On the terminal, before the logs go to the file: nothing, as long as
  # the local run is the pipeline that every other one is measured against.
  orchestrators.print_notice(orchestrators.LOCAL)
  started_ms = int(time.time() * 1000)
  report_path, latest = None, None
  with progress.capture_output(log_path, config.local.verbose) as reporter:
    reporter.say('Loading TFX and TensorFlow ...')
    # pylint: disable=g-import-not-at-top
    from absl import logging
    # Not `tfx.v1`: it imports TFX's Vertex AI extensions too (~15 s).
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    from pipeline import beam_flags
    from pipeline import pipeline as imdb_pipeline
    from runs import report
    from runs import summary
    # pylint: enable=g-import-not-at-top

    logging.set_verbosity(logging.INFO)
    pipeline = imdb_pipeline.create_pipeline(config, location,
                                             beam_args, orchestrators.LOCAL)
    reporter.total_components = len(pipeline.components)
    with beam_flags.in_environment(beam_args):
      LocalDagRunner().run(pipeline)
    # Under `tfx pipeline create` the CLI only records the pipeline and
    # nothing runs: then there is no new run to report.
    latest = summary.latest_run(config.metadata_path, config.pipeline_name,
                                since_ms=started_ms)
    if latest:
      reporter.say('Writing the run report ...')
      try:
        report_path = report.write_report(latest, run_dir,
                                          config.pipeline_name,
                                          config.output_dir)
      except Exception:  # pylint: disable=broad-except
        # The pushed model stands; only the report is missing.
        logging.exception('The run report could not be written.')
        reporter.say(f'The run report could not be written; see {log_path}')
  if latest:
    print(summary.format_summary(latest, report_path), flush=True)
  else:
    shutil.rmtree(run_dir, ignore_errors=True)


def main(argv=None) -> int:
  """Exit status: 0 when the run finished (whether or not it pushed a
  model), 1 when a component failed (the data stopped it, or an error), 2
  for bad settings or data locations, 3 when another run holds the output
  directory. Meant for cron and other schedulers."""
  config, beam_args = beam_profiles.configured(argv)
  if data.is_uri(config.output_dir):
    print(f'error: --output-dir {config.output_dir}: a local run keeps ML '
          'Metadata (SQLite), logs, reports and its lock there, so it must '
          'be a local directory; put the artifacts on object storage with '
          '--artifact-root (env ARTIFACT_ROOT)', file=sys.stderr)
    return 2
  object_storage.apply_environment(config)
  try:
    location = data.resolve(config.data.path, config.data.cache_dir)
  except data.DataSourceError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  try:
    with run_lock.hold(config.output_dir, wait_s=config.local.lock_wait_s):
      # With the lock held no other run is alive: what an earlier run left
      # unfinished in ML Metadata was abandoned.
      abandoned = metadata_repair.mark_abandoned_executions(
          config.metadata_path)
      if abandoned:
        print(f'Marked failed, left unfinished by a run that was killed: '
              f'{", ".join(abandoned)}', flush=True)
      run(config, location, beam_args)
  except run_lock.OutputDirectoryBusy as e:
    print(f'error: {e}', file=sys.stderr)
    return 3
  except data.TableDataError as e:
    # A table's rows are read and checked as the pipeline is built.
    print(f'error: {e}', file=sys.stderr)
    return 2
  return 0


if __name__ == '__main__':
  # main() has parsed these arguments already: parsing them again succeeds.
  object_storage.exit_with(main(sys.argv[1:]),
                           config_lib.from_args(sys.argv[1:]))
