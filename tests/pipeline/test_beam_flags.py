"""Beam flags given at run time: a change of Beam profile keeps the cache."""

import os

import pytest
from tfx.dsl.compiler import compiler
from tfx.dsl.compiler import placeholder_utils
from tfx.orchestration.portable import data_types
from tfx.proto.orchestration import executable_spec_pb2
from tfx.proto.orchestration import pipeline_pb2

from orchestration.beam import profiles as beam_profiles
from pipeline import beam_flags
from pipeline import configs as config_lib
from pipeline import data
from pipeline import orchestrators
from pipeline import pipeline as imdb_pipeline


def _executor_specs(pipeline_ir):
  """{node id: its BeamExecutableSpec} of a compiled pipeline."""
  deployment = pipeline_pb2.IntermediateDeploymentConfig()
  pipeline_ir.deployment_config.Unpack(deployment)
  specs = {}
  for node_id, packed in deployment.executor_specs.items():
    if packed.Is(executable_spec_pb2.BeamExecutableSpec.DESCRIPTOR):
      spec = executable_spec_pb2.BeamExecutableSpec()
      packed.Unpack(spec)
      specs[node_id] = spec
  return specs


def _compiled(tmp_path, profile_env):
  config, beam_args = beam_profiles.configured(
      ['--output-dir', str(tmp_path)], environ=profile_env)
  location = data.DataLocation('/data', 'x.tar.gz', 'x.tar.gz')
  pipeline = imdb_pipeline.create_pipeline(config, location, beam_args,
                                           orchestrators.LOCAL)
  return compiler.Compiler().compile(pipeline), beam_args


def test_another_profile_compiles_to_the_same_pipeline(tmp_path):
  direct_ir, direct_args = _compiled(tmp_path, {})
  local_ir, local_args = _compiled(
      tmp_path, {'BEAM_PROFILE': 'local', 'BEAM_WORKERS': '2'})
  assert direct_args != local_args
  direct_specs = _executor_specs(direct_ir)
  # Every Beam component: ExampleGen, StatisticsGen, Transform, Evaluator...
  assert {'ImdbExampleGen', 'StatisticsGen', 'Transform',
          'Evaluator'} <= set(direct_specs)
  # TFX hashes the executor spec into the cache key: the same spec, the
  # same key (and no flag of either profile is written in it).
  assert direct_specs == _executor_specs(local_ir)
  assert 'DirectRunner' not in str(direct_specs['Transform'])


def test_the_placeholders_resolve_to_the_profile_flags(tmp_path, monkeypatch):
  pipeline_ir, beam_args = _compiled(
      tmp_path, {'BEAM_PROFILE': 'local', 'BEAM_WORKERS': '2',
                 'BEAM_ARGS': '--direct_num_workers=3'})
  spec = _executor_specs(pipeline_ir)['Transform']
  for key, value in beam_flags.environment(beam_args).items():
    monkeypatch.setenv(key, value)
  # As TFX's BeamExecutorOperator resolves them when a component starts.
  context = placeholder_utils.ResolutionContext(
      exec_info=data_types.ExecutionInfo())
  resolved = [placeholder_utils.resolve_placeholder_expression(
      expression, context)
              for expression in spec.beam_pipeline_args_placeholders]
  assert resolved[:len(beam_args)] == beam_args
  # The padding repeats the runner: Beam still sees the user's last word.
  assert set(resolved[len(beam_args):]) == {'--runner=DirectRunner'}
  assert resolved.index('--direct_num_workers=3') > resolved.index(
      '--direct_num_workers=2')


def test_the_environment_is_set_for_the_run_and_restored(monkeypatch):
  monkeypatch.setenv('IMDB_BEAM_PIPELINE_ARG_0', 'before')
  with beam_flags.in_environment(['--runner=DirectRunner', '--x=1']):
    assert os.environ['IMDB_BEAM_PIPELINE_ARG_0'] == '--runner=DirectRunner'
    assert os.environ['IMDB_BEAM_PIPELINE_ARG_1'] == '--x=1'
  assert os.environ['IMDB_BEAM_PIPELINE_ARG_0'] == 'before'
  assert 'IMDB_BEAM_PIPELINE_ARG_1' not in os.environ


def test_flags_without_a_runner_or_too_many_are_refused():
  with pytest.raises(ValueError, match='no --runner='):
    beam_flags.environment(['--direct_num_workers=2'])
  with pytest.raises(ValueError, match='at most'):
    beam_flags.environment(['--runner=DirectRunner'] * (beam_flags.SLOTS + 1))
