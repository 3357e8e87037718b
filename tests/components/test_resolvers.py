"""Retraining pieces without a pipeline: span windows, the output-directory
lock, spans in the data location, and the release-history commands."""

import multiprocessing
import os
import time

import pytest
from tfx.components.evaluator import constants as evaluator_constants
from tfx.types import standard_artifacts

from helpers import imdb_data
from pipeline import data
from components import resolvers
from orchestration import run_lock
from serving import releases
from contract import serving_directory


def _examples(artifact_id, span):
  artifact = standard_artifacts.Examples()
  artifact.id = artifact_id
  artifact.set_int_custom_property('span', span)
  return artifact


def _spans(artifacts):
  return [(a.id, resolvers.span_of(a)) for a in artifacts]


def test_window_ends_at_the_current_span_and_takes_the_newest_of_each():
  history = [_examples(1, 1), _examples(2, 2), _examples(3, 2),
             _examples(4, 3), _examples(5, 4)]
  current = history[3]  # span 3 ingested in this run (span 4 came earlier)
  window = resolvers.select_spans(current, history, 2, before_current=False)
  assert _spans(window) == [(3, 2), (4, 3)]
  assert _spans(resolvers.select_spans(current, history, 1, True)) == [(3, 2)]


def test_excluded_spans_are_skipped_and_a_first_span_has_no_previous():
  history = [_examples(1, 1), _examples(2, 2), _examples(3, 3)]
  assert _spans(resolvers.select_spans(history[2], history, 1, True,
                                       excluded_spans=[2])) == [(1, 1)]
  assert _spans(resolvers.select_spans(history[2], history, 5, False,
                                       excluded_spans=[2])) == [(1, 1), (3, 3)]
  assert resolvers.select_spans(history[0], history, 1, True) == []


def test_a_reingested_span_uses_this_runs_artifact():
  history = [_examples(1, 1), _examples(7, 1)]
  current = _examples(9, 1)
  assert _spans(resolvers.select_spans(current, history, 1, False)) == [(9, 1)]


def test_span_root_of_directories_gives_span_patterns(tmp_path):
  for span in (1, 2):
    imdb_data.write_tree(str(tmp_path), imdb_data.generated_corpus(
        {'train': 2, 'test': 1}, seed=span), top=f'span-{span}')
  location = data.locate(str(tmp_path))
  assert location.spans
  assert location.train_pattern == 'span-{SPAN}/train/*/*.txt'
  assert location.test_pattern == 'span-{SPAN}/test/*/*.txt'


def test_span_root_of_archives_gives_an_archive_pattern(tmp_path):
  for span in (1, 2):
    imdb_data.write_archive(str(tmp_path / f'span-{span}.tar.gz'),
                            imdb_data.generated_corpus({'train': 2, 'test': 1}))
  location = data.locate(str(tmp_path))
  assert (location.train_pattern, location.test_pattern) == (
      'span-{SPAN}.tar.gz', 'span-{SPAN}.tar.gz')


def test_bad_span_roots_are_clear_errors(tmp_path):
  (tmp_path / 'span-1' / 'train').mkdir(parents=True)
  with pytest.raises(data.DataSourceError, match=r'span-1: span 1 has no test/'):
    data.locate(str(tmp_path))
  (tmp_path / 'span-1' / 'test').mkdir()
  imdb_data.write_archive(str(tmp_path / 'span-2.tar.gz'),
                          imdb_data.generated_corpus({'train': 1}))
  with pytest.raises(data.DataSourceError, match='mixes span directories'):
    data.locate(str(tmp_path))


def _hold_for(output_dir, seconds, ready):
  with run_lock.hold(output_dir):
    ready.set()
    time.sleep(seconds)
    # Written while still holding the lock: whoever gets it next sees this.
    open(os.path.join(output_dir, 'first-run-done'), 'w').close()


def test_a_second_run_on_the_same_output_directory_is_refused(tmp_path):
  ready = multiprocessing.Event()
  first = multiprocessing.Process(target=_hold_for,
                                  args=(str(tmp_path), 3, ready))
  first.start()
  try:
    assert ready.wait(30)
    with pytest.raises(run_lock.OutputDirectoryBusy,
                       match=rf'in use by the run with pid {first.pid}'):
      with run_lock.hold(str(tmp_path)):
        pass
    # Waiting queues behind the first run and then gets the directory.
    with run_lock.hold(str(tmp_path), wait_s=60, poll_s=0.1):
      assert (tmp_path / 'first-run-done').exists()
  finally:
    first.join()


def test_a_killed_run_leaves_no_stale_lock(tmp_path):
  ready = multiprocessing.Event()
  first = multiprocessing.Process(target=_hold_for,
                                  args=(str(tmp_path), 600, ready))
  first.start()
  assert ready.wait(30)
  first.kill()
  first.join()
  with run_lock.hold(str(tmp_path)):  # raises if the lock were stale
    pass


def _version(serving_dir, version, accuracy):
  path = os.path.join(serving_dir, str(version))
  os.makedirs(os.path.join(path, 'assets.extra'))
  open(os.path.join(path, 'saved_model.pb'), 'wb').close()
  with open(os.path.join(path, 'assets.extra', 'release.json'), 'w') as f:
    f.write('{"version": %d, "spans": [%d], "pushed_at": "t", "metrics": '
            '{"probability/binary_accuracy": %f}}' % (version, version,
                                                      accuracy))


def test_rollback_pins_a_version_in_models_config_and_rollforward_unpins(
    tmp_path, capsys):
  serving_dir = str(tmp_path / 'serving' / 'imdb_sentiment')
  _version(serving_dir, 1, 0.81)
  _version(serving_dir, 2, 0.84)
  output = ['--output-dir', str(tmp_path)]
  config_path = serving_directory.default_model_config_path(serving_dir)

  assert releases.main(output + ['list']) == 0
  listing = capsys.readouterr().out
  assert 'Served: 2 (the highest version' in listing
  assert '0.8100' in listing and '0.8400' in listing

  assert releases.main(output + ['rollback', '1']) == 0
  policy = serving_directory.read_version_policy(config_path)
  assert list(policy.model_version_policy.specific.versions) == [1]
  assert policy.version_labels['stable'] == 1
  assert releases.served(serving_dir, config_path) == [1]
  assert sorted(os.listdir(serving_dir)) == ['1', '2']  # nothing deleted
  capsys.readouterr()
  assert releases.main(output + ['list']) == 0
  assert f'Served: 1 (pinned by {config_path})' in capsys.readouterr().out

  assert releases.main(output + ['rollback', '3']) == 2
  assert 'has no version 3' in capsys.readouterr().err
  assert releases.main(output + ['latest']) == 0
  assert releases.served(serving_dir, config_path) == [2]


def test_examples_carry_their_span_in_a_custom_property():
  assert resolvers.span_of(_examples(1, 5)) == 5
  assert resolvers.span_of(standard_artifacts.Examples()) == 0


def test_the_window_is_output_under_history_only():
  history = [_examples(1, 1), _examples(2, 2)]
  strategy = resolvers.SpanWindowStrategy(num_spans=2)
  result = strategy.resolve_artifacts(
      None, {resolvers.CURRENT_KEY: [history[1]],
             resolvers.HISTORY_KEY: history})
  assert result[resolvers.CURRENT_KEY] == []
  assert _spans(result[resolvers.HISTORY_KEY]) == [(1, 1), (2, 2)]


def test_under_airflow_current_is_the_whole_history_and_the_newest_counts():
  """TFX's pre-IR launcher (Airflow) hands a resolver every artifact of the
  producer, not this run's alone: the newest one is this run's."""
  history = [_examples(1, 1), _examples(2, 2), _examples(3, 3)]
  strategy = resolvers.SpanWindowStrategy(num_spans=1, before_current=True)
  result = strategy.resolve_artifacts(
      None, {resolvers.CURRENT_KEY: history, resolvers.HISTORY_KEY: history})
  assert _spans(result[resolvers.HISTORY_KEY]) == [(2, 2)]
  assert _spans(resolvers.latest_spans(history + [_examples(4, 2)], 2)) == [
      (4, 2), (3, 3)]


def _blessed_models(blessed_flags):
  """Models with ids 1.. and one blessing each (blessed when the flag is)."""
  models, blessings = [], []
  for model_id, blessed in enumerate(blessed_flags, start=1):
    model = standard_artifacts.Model()
    model.id = model_id
    blessing = standard_artifacts.ModelBlessing()
    blessing.id = 100 + model_id
    blessing.set_int_custom_property(
        evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, model_id)
    blessing.set_int_custom_property(
        evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY, int(blessed))
    models.append(model)
    blessings.append(blessing)
  return models, blessings


def test_the_baseline_is_the_latest_blessed_model_other_than_the_candidate():
  strategy = resolvers.LatestBlessedOtherModelStrategy()
  models, blessings = _blessed_models([True, True, False])

  def baseline(candidate):
    resolved = strategy.resolve_artifacts(None, {
        'model': models, 'model_blessing': blessings,
        'candidate': [candidate]})
    return [m.id for m in resolved['model']], [
        b.id for b in resolved['model_blessing']]

  # A new model (3, not blessed yet) is judged against the newest blessed.
  assert baseline(models[2]) == ([2], [102])
  # A cached Trainer hands on model 2 again: never compared with itself.
  assert baseline(models[1]) == ([1], [101])
  # The only blessed model is the candidate: no baseline, as on a first run.
  only, only_blessings = _blessed_models([True])
  resolved = strategy.resolve_artifacts(None, {
      'model': only, 'model_blessing': only_blessings, 'candidate': [only[0]]})
  assert resolved == {'model': [], 'model_blessing': [],
                      'candidate': [only[0]]}
