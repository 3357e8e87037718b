"""The capability table and the pipeline each orchestrator gets (no run)."""

import pytest

from pipeline import configs as config_lib
from pipeline import data
from pipeline import orchestrators
from pipeline import pipeline as imdb_pipeline

SPANS = data.DataLocation('/data', 'span-{SPAN}.tar.gz', 'span-{SPAN}.tar.gz',
                          spans=True)
EVERY_NODE = {
    'ImdbExampleGen', 'span_window_resolver', 'StatisticsGen',
    'ImportSchemaGen', 'ExampleValidator', 'previous_span_resolver',
    'DistributionValidator', 'ValidationGate', 'Transform',
    'warm_start_model_resolver', 'Trainer', 'latest_blessed_model_resolver',
    'Evaluator', 'Pusher'}


def _pipeline(tmp_path, orchestrator):
  config = config_lib.from_args(['--output-dir', str(tmp_path),
                                 '--span-window', '3'], environ={})
  return imdb_pipeline.create_pipeline(config, SPANS, orchestrator)


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


def test_local_and_airflow_run_it_all_kubeflow_says_what_it_lacks():
  for orchestrator in (orchestrators.LOCAL, orchestrators.AIRFLOW):
    assert not orchestrator.missing() and not orchestrator.differences()
    assert orchestrator.notice() == ''
  kubeflow = orchestrators.KUBEFLOW
  assert set(kubeflow.missing()) == set(orchestrators.CAPABILITIES)
  assert not kubeflow.custom_resolvers
  notice = kubeflow.notice()
  for capability in orchestrators.CAPABILITIES:
    assert f'no {capability}' in notice
    assert kubeflow.missing()[capability] in notice


def test_the_notice_is_printed_only_when_something_is_missing(capsys):
  orchestrators.print_notice(orchestrators.LOCAL)
  orchestrators.print_notice('airflow')
  assert capsys.readouterr() == ('', '')
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


def test_kubeflow_gets_no_custom_resolver(tmp_path):
  pipeline = _pipeline(tmp_path, orchestrators.KUBEFLOW)
  assert set(_by_id(pipeline)) == EVERY_NODE - {
      'span_window_resolver', 'previous_span_resolver',
      'warm_start_model_resolver', 'DistributionValidator'}
  assert pipeline.metadata_connection_config is None


def test_no_warm_start_asked_none_anywhere(tmp_path):
  config = config_lib.from_args(['--output-dir', str(tmp_path),
                                 '--no-warm-start'], environ={})
  for orchestrator in orchestrators.ORCHESTRATORS:
    trainer = _by_id(imdb_pipeline.create_pipeline(
        config, SPANS, orchestrator))['Trainer']
    assert 'base_model' not in trainer.inputs, orchestrator
