"""The capability table and the pipeline each orchestrator gets (no run)."""

import pytest
import tensorflow_data_validation as tfdv
from tfx.orchestration.kubeflow.v2 import step_builder

from components import resolvers
from components.distribution_validator import executor as drift_executor
from pipeline import configs as config_lib
from pipeline import data
from pipeline import orchestrators
from pipeline import pipeline as imdb_pipeline

SPANS = data.DataLocation('/data', 'span-{SPAN}.tar.gz', 'span-{SPAN}.tar.gz',
                          spans=True)
# What a runner passes on; Beam does not run in these tests.
BEAM_ARGS = ['--runner=DirectRunner']
EVERY_NODE = {
    'ImdbExampleGen', 'span_window_resolver', 'StatisticsGen',
    'ImportSchemaGen', 'ExampleValidator', 'previous_span_resolver',
    'DistributionValidator', 'ValidationGate', 'Transform',
    'warm_start_model_resolver', 'Trainer', 'latest_blessed_model_resolver',
    'Evaluator', 'Pusher'}


def _pipeline(tmp_path, orchestrator):
  config = config_lib.from_args(['--output-dir', str(tmp_path),
                                 '--span-window', '3'], environ={})
  return imdb_pipeline.create_pipeline(config, SPANS, BEAM_ARGS, orchestrator)


def _by_id(pipeline):
  return {c.id: c for c in pipeline.components}


def test_every_orchestrator_declares_every_capability_and_why_not():
  assert set(orchestrators.ORCHESTRATORS) == {'local', 'airflow', 'kubeflow'}
  for orchestrator in orchestrators.ORCHESTRATORS.values():
    assert set(orchestrator.support) == set(orchestrators.CAPABILITIES)
    for capability, support in orchestrator.support.items():
      if not support.runs:
        # A reason, and one sentence of it.
        assert support.note, (orchestrator.name, capability)
        assert support.note.count('. ') == 0, (orchestrator.name, capability)


def test_local_runs_it_all_the_others_say_what_they_lack():
  local = orchestrators.LOCAL
  assert not local.missing() and not local.differences()
  assert local.notice() == ''
  airflow = orchestrators.AIRFLOW
  assert not airflow.missing()
  # The Beam flags are written in the DAG, outside the launcher's cache key
  # (test_airflow_dag.py runs a second profile and finds it all cached).
  assert set(airflow.differences()) == {orchestrators.BEAM_PROFILE_UNCACHED}
  assert 'pre-IR launcher' in airflow.notice()
  assert local.beam_flags_at_run_time
  assert not airflow.beam_flags_at_run_time
  kubeflow = orchestrators.KUBEFLOW
  assert set(kubeflow.missing()) == {orchestrators.SPAN_WINDOW,
                                     orchestrators.LOCAL_METADATA,
                                     orchestrators.BEAM_PROFILE_UNCACHED}
  assert not kubeflow.beam_flags_at_run_time
  assert set(kubeflow.differences()) == {orchestrators.DRIFT_CHECK,
                                         orchestrators.WARM_START,
                                         orchestrators.BASELINE}
  assert not kubeflow.custom_resolvers
  assert 'LatestArtifactStrategy' in kubeflow.differences()[
      orchestrators.DRIFT_CHECK]
  notice = kubeflow.notice()
  for capability in (orchestrators.SPAN_WINDOW, orchestrators.LOCAL_METADATA):
    assert f'no {capability}' in notice
    assert kubeflow.missing()[capability] in notice


def test_the_notice_is_printed_only_when_something_is_missing(capsys):
  orchestrators.print_notice(orchestrators.LOCAL)
  assert capsys.readouterr() == ('', '')
  orchestrators.print_notice('airflow')
  out, err = capsys.readouterr()
  assert not out and err.startswith('On airflow the pipeline runs otherwise')
  orchestrators.print_notice('kubeflow')
  out, err = capsys.readouterr()
  assert not out and err.startswith('On kubeflow the pipeline runs otherwise')


def test_names_and_derived_orchestrators():
  assert orchestrators.get('kubeflow') is orchestrators.KUBEFLOW
  with pytest.raises(ValueError, match='unknown orchestrator'):
    orchestrators.get('argo')
  without = orchestrators.LOCAL.without(orchestrators.DRIFT_CHECK, 'Why.')
  assert not without.runs(orchestrators.DRIFT_CHECK)
  assert without.runs(orchestrators.WARM_START)
  assert orchestrators.LOCAL.runs(orchestrators.DRIFT_CHECK)


@pytest.mark.parametrize('orchestrator', ['local', 'airflow'])
def test_local_and_airflow_get_the_whole_pipeline(tmp_path, orchestrator):
  pipeline = _pipeline(tmp_path, orchestrator)
  by_id = _by_id(pipeline)
  assert set(by_id) == EVERY_NODE
  assert by_id['warm_start_model_resolver'] in by_id['Trainer'].upstream_nodes
  assert pipeline.metadata_connection_config.sqlite.filename_uri.endswith(
      'metadata.sqlite')


def test_kubeflow_gets_the_drift_check_and_warm_start_with_stock_resolvers(
    tmp_path):
  pipeline = _pipeline(tmp_path, orchestrators.KUBEFLOW)
  by_id = _by_id(pipeline)
  assert set(by_id) == EVERY_NODE - {
      'span_window_resolver', 'previous_span_resolver',
      'warm_start_model_resolver'} | {'previous_run_statistics_resolver'}
  # Only strategies TFX's KFP v2 compiler builds.
  stock = (step_builder.latest_artifact_strategy.LatestArtifactStrategy,
           step_builder.latest_blessed_model_strategy
           .LatestBlessedModelStrategy)
  for node_id in ('previous_run_statistics_resolver',
                  'latest_blessed_model_resolver'):
    assert by_id[node_id].exec_properties['resolver_class'] in stock
  # The baseline is resolved before this run's statistics exist.
  resolver = by_id['previous_run_statistics_resolver']
  assert resolver in by_id['StatisticsGen'].upstream_nodes
  validator = by_id['DistributionValidator']
  assert validator.inputs['baseline_statistics'].is_optional
  assert resolver in validator.upstream_nodes
  assert validator in by_id['ValidationGate'].upstream_nodes
  assert (validator.executor_spec.executor_class
          is drift_executor.KubeflowExecutor)
  # Warm start from the Evaluator's baseline, the latest blessed model.
  base_model = by_id['Trainer'].inputs['base_model']
  assert base_model.producer_component_id == 'latest_blessed_model_resolver'
  # No window: the Trainer reads the span ExampleGen ingested.
  assert by_id['Trainer'].inputs['examples'].producer_component_id == (
      'ImdbExampleGen')
  assert pipeline.metadata_connection_config is None


def test_no_warm_start_asked_none_anywhere(tmp_path):
  config = config_lib.from_args(['--output-dir', str(tmp_path),
                                 '--no-warm-start'], environ={})
  for orchestrator in orchestrators.ORCHESTRATORS:
    trainer = _by_id(imdb_pipeline.create_pipeline(
        config, SPANS, BEAM_ARGS, orchestrator))['Trainer']
    assert 'base_model' not in trainer.inputs, orchestrator


def test_the_baseline_is_never_the_candidate_where_custom_resolvers_run(
    tmp_path):
  for orchestrator in orchestrators.ORCHESTRATORS.values():
    by_id = _by_id(_pipeline(tmp_path, orchestrator))
    baseline = by_id['latest_blessed_model_resolver']
    if orchestrator.custom_resolvers:
      assert baseline._strategy_class is (  # pylint: disable=protected-access
          resolvers.LatestBlessedOtherModelStrategy)
      assert by_id['Trainer'] in baseline.upstream_nodes
    else:
      assert by_id['Trainer'] not in baseline.upstream_nodes


@pytest.mark.parametrize('orchestrator', list(orchestrators.ORCHESTRATORS))
def test_statistics_use_sketches_on_every_orchestrator(tmp_path, orchestrator):
  """Exact top-k counting would hold every review's text in memory."""
  statistics_gen = _by_id(_pipeline(tmp_path, orchestrator))['StatisticsGen']
  options = tfdv.StatsOptions.from_json(
      statistics_gen.exec_properties['stats_options_json'])
  assert options.use_sketch_based_topk_uniques is True
