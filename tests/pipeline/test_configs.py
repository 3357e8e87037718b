"""The configuration object and the pipeline built from it (no run)."""

import json
import os
import subprocess
import sys

import pytest

from helpers import imdb_data
import contract
from pipeline import beam_flags
from pipeline import configs as config_lib
from pipeline import data
from pipeline import orchestrators
from pipeline import pipeline as imdb_pipeline
import local_runner
from orchestration.beam import profiles as beam_profiles

# What a runner passes on; Beam does not run in these tests.
BEAM_ARGS = ['--runner=DirectRunner']


def test_environment_sets_data_and_output_dir(tmp_path):
  config = config_lib.from_args([], environ={
      'IMDB_DATA': str(tmp_path / 'a.tar.gz'),
      'OUTPUT_DIR': str(tmp_path / 'out')})
  assert config.data.path == str(tmp_path / 'a.tar.gz')
  assert config.output_dir == str(tmp_path / 'out')
  for path in (config.pipeline_root, config.metadata_path, config.serving_dir):
    assert path.startswith(str(tmp_path / 'out') + os.sep)
  assert config.serving_dir.endswith(os.path.join('serving',
                                                  contract.MODEL_NAME))


def test_flags_override_environment_and_reach_custom_configs(tmp_path):
  config = config_lib.from_args(
      ['--output-dir', str(tmp_path), '--vocabulary-size', '500',
       '--epochs', '2', '--ngram-max', '3', '--push-identical-model'],
      environ={'OUTPUT_DIR': '/elsewhere'})
  assert config.output_dir == str(tmp_path)
  assert config.transform_custom_config['vocabulary_size'] == 500
  assert config.transform_custom_config['ngram_max'] == 3
  # The Trainer sizes its embedding from the same vocabulary settings.
  assert config.trainer_custom_config['vocabulary_size'] == 500
  assert config.trainer_custom_config['epochs'] == 2
  assert config.retraining.push_identical_model


def test_tokenization_and_embedding_flags(tmp_path):
  vectors = tmp_path / 'glove.txt'
  config = config_lib.from_args(
      ['--tokenization', 'hashing', '--hash-buckets', '4096',
       '--pretrained-embeddings', str(vectors),
       '--no-train-pretrained-embeddings'], environ={})
  assert config.transform_custom_config['tokenization'] == contract.HASHING
  assert config.transform_custom_config['hash_buckets'] == 4096
  assert config.trainer_custom_config['pretrained_embeddings'] == str(vectors)
  assert config.trainer_custom_config['train_pretrained_embeddings'] is False
  defaults = config_lib.from_args([], environ={})
  assert defaults.trainer_custom_config['train_pretrained_embeddings'] is True
  assert defaults.trainer_custom_config['pretrained_embeddings'] == ''


def test_unknown_tokenization_is_a_usage_error(capsys):
  with pytest.raises(SystemExit):
    config_lib.from_args(['--tokenization', 'bpe'], environ={})
  assert "invalid choice: 'bpe'" in capsys.readouterr().err


def test_default_output_dir_is_outputs_in_the_project():
  config = config_lib.from_args([], environ={})
  assert config.output_dir == os.path.join(imdb_data.PROJECT_ROOT, 'outputs')
  assert config.data.path is None


def test_beam_runner_is_always_explicit():
  args = beam_profiles.pipeline_args(config_lib.PipelineConfig())
  assert '--runner=DirectRunner' in args
  assert any(a.startswith('--direct_running_mode=') for a in args)


def test_create_pipeline_wires_every_component(tmp_path):
  config = config_lib.from_args(['--output-dir', str(tmp_path)], environ={})
  location = data.DataLocation('/data', 'x.tar.gz', 'x.tar.gz')
  pipeline = imdb_pipeline.create_pipeline(config, location, BEAM_ARGS)
  ids = [c.id for c in pipeline.components]
  assert set(ids) == {
      'ImdbExampleGen', 'StatisticsGen', 'ImportSchemaGen', 'ExampleValidator',
      'previous_span_resolver', 'DistributionValidator', 'ValidationGate',
      'Transform', 'warm_start_model_resolver', 'Trainer',
      'latest_blessed_model_resolver', 'Evaluator', 'Pusher'}
  by_id = {c.id: c for c in pipeline.components}
  # Anomalies (schema or drift) stop the run before Transform.
  assert by_id['ValidationGate'] in by_id['Transform'].upstream_nodes
  assert by_id['DistributionValidator'] in by_id[
      'ValidationGate'].upstream_nodes
  assert by_id['warm_start_model_resolver'] in by_id['Trainer'].upstream_nodes
  # Locally the Beam flags are given at run time (tests/pipeline/
  # test_beam_flags.py); Kubeflow's are written in the pipeline.
  assert len(pipeline.beam_pipeline_args) == beam_flags.SLOTS
  kubeflow = imdb_pipeline.create_pipeline(config, location, BEAM_ARGS,
                                           orchestrators.KUBEFLOW)
  assert kubeflow.beam_pipeline_args == BEAM_ARGS
  assert pipeline.pipeline_info.pipeline_root == config.pipeline_root


def test_spans_window_feeds_transform_trainer_evaluator_and_pusher(tmp_path):
  config = config_lib.from_args(
      ['--output-dir', str(tmp_path), '--span-window', '3', '--span', '4',
       '--exclude-span', '2', '--no-warm-start'], environ={})
  location = data.DataLocation('/data', 'span-{SPAN}.tar.gz',
                               'span-{SPAN}.tar.gz', spans=True)
  pipeline = imdb_pipeline.create_pipeline(config, location, BEAM_ARGS)
  by_id = {c.id: c for c in pipeline.components}
  window = by_id['span_window_resolver']
  assert window._config == {  # pylint: disable=protected-access
      'num_spans': 3, 'before_current': False, 'excluded_spans': [2]}
  for consumer in ('Transform', 'Trainer', 'Evaluator', 'Pusher'):
    assert window in by_id[consumer].upstream_nodes, consumer
  assert 'warm_start_model_resolver' not in by_id  # --no-warm-start
  range_config = by_id['ImdbExampleGen'].exec_properties['range_config']
  assert json.loads(range_config) == {
      'static_range': {'start_span_number': 4, 'end_span_number': 4}}


def test_eval_config_judges_both_heads_and_gates_on_sentiment():
  eval_config = imdb_pipeline.make_eval_config(
      config_lib.PipelineConfig(evaluation=config_lib.EvaluationSettings(
          min_accuracy=0.7, max_accuracy_drop=0.02)))
  [spec] = eval_config.model_specs
  assert dict(spec.label_keys) == {
      contract.PROBABILITY_OUTPUT_KEY: contract.LABEL_KEY,
      contract.RATING_OUTPUT_KEY: contract.RATING_KEY}
  assert spec.signature_name == contract.EXAMPLES_SIGNATURE
  assert [list(s.feature_keys) for s in eval_config.slicing_specs] == [
      [], [contract.RATING_KEY], [contract.LENGTH_BUCKET_KEY]]
  sentiment, rating = eval_config.metrics_specs
  assert list(sentiment.output_names) == [contract.PROBABILITY_OUTPUT_KEY]
  assert list(rating.output_names) == [contract.RATING_OUTPUT_KEY]
  assert 'MeanAbsoluteError' in [m.class_name for m in rating.metrics]
  assert not any(m.per_slice_thresholds or m.threshold.ListFields()
                 for m in rating.metrics)  # reported, never gating
  accuracy = next(m for m in sentiment.metrics
                  if m.class_name == 'BinaryAccuracy')
  [per_slice] = accuracy.per_slice_thresholds
  assert list(per_slice.slicing_specs[0].feature_keys) == []
  assert per_slice.threshold.value_threshold.lower_bound.value == 0.7
  assert per_slice.threshold.change_threshold.absolute.value == -0.02


def test_runner_reports_missing_data_and_exits_2(tmp_path, capsys):
  code = local_runner.main(['--data', str(tmp_path / 'missing'),
                            '--output-dir', str(tmp_path / 'out')])
  assert code == 2
  assert 'missing: no such file or directory' in capsys.readouterr().err
  assert not os.path.exists(tmp_path / 'out')


def test_bad_data_fails_before_tensorflow_is_imported(tmp_path):
  """`make run` with a wrong IMDB_DATA must fail at once, not after imports."""
  script = (
      'import sys\n'
      'import local_runner\n'
      f'code = local_runner.main(["--data", {str(tmp_path / "nope")!r}])\n'
      'assert code == 2, code\n'
      'loaded = [m for m in ("tensorflow", "tfx", "apache_beam")'
      ' if m in sys.modules]\n'
      'assert not loaded, loaded\n')
  result = subprocess.run([sys.executable, '-c', script], capture_output=True,
                          text=True, cwd=imdb_data.PROJECT_ROOT, timeout=120)
  assert result.returncode == 0, result.stderr
  assert 'nope: no such file or directory' in result.stderr


def test_beam_args_extend_or_replace_the_direct_runner():
  extended = config_lib.from_args(['--beam-arg=--direct_num_workers=2'],
                                  environ={})
  assert beam_profiles.pipeline_args(extended)[0] == '--runner=DirectRunner'
  assert beam_profiles.pipeline_args(extended)[-1] == '--direct_num_workers=2'
  replaced = config_lib.from_args(
      [], environ={'BEAM_ARGS': '--runner=FlinkRunner --flink_master=h:8081'})
  assert beam_profiles.pipeline_args(replaced) == ['--runner=FlinkRunner',
                                         '--flink_master=h:8081']


def test_object_storage_paths_are_kept_as_uris():
  config = config_lib.from_args(
      ['--output-dir', 'gs://b/imdb', '--data', 's3://b/aclImdb'], environ={})
  assert config.pipeline_root == 'gs://b/imdb/pipeline_root/imdb_sentiment'
  assert data.locate(config.data.path) == data.DataLocation(
      's3://b/aclImdb', 'train/*/*.txt', 'test/*/*.txt')
  assert data.locate('gs://b/x/aclImdb_v1.tar.gz') == data.DataLocation(
      'gs://b/x', 'aclImdb_v1.tar.gz', 'aclImdb_v1.tar.gz')


def test_resources_flag_overrides_per_component():
  config = config_lib.from_args(['--resources', 'Trainer=4,16',
                                 '--resources', 'Pusher=0.5,1'], environ={})
  assert config.kubeflow.component_resources['Trainer'] == (4.0, 16.0)
  assert config.kubeflow.component_resources['Pusher'] == (0.5, 1.0)
  assert config.kubeflow.component_resources['Transform'] == (
      config_lib.PipelineConfig().kubeflow.component_resources['Transform'])
  with pytest.raises(SystemExit):
    config_lib.from_args(['--resources', 'Trainer=lots'], environ={})
