"""benchmarks.scale_data: the N-times data `make bench-scale` runs on."""

import collections
import os
import tarfile

import pytest

from benchmarks import scale_data
from helpers import imdb_data

PER_SPLIT_AND_CLASS = {'train': 12, 'test': 6}


def _corpus():
  """Reviews of several sentences, each sentence naming its review, class
  and rating, so a synthetic review shows where its sentences came from.
  Ids with gaps, as a subset of the official data has."""
  files = {}
  for split, count in PER_SPLIT_AND_CLASS.items():
    for label_dir in ('pos', 'neg'):
      for n in range(count):
        review_id = n * 3 + (1 if split == 'test' else 0)
        rating = (7 + n % 4) if label_dir == 'pos' else (1 + n % 4)
        sentences = [f'{split} {label_dir} r{rating} review {review_id} '
                     f'sentence {s}.' for s in range(1 + n % 5)]
        if n % 2:
          sentences[0] += '<br /><br />'
        files[f'{split}/{label_dir}/{review_id}_{rating}.txt'] = (
            ' '.join(sentences).encode())
  files['unsup/0_0.txt'] = b'Not labelled.'
  return files


def _members(path):
  with tarfile.open(path, 'r:gz') as tar:
    return {m.name[len('aclImdb/'):]: tar.extractfile(m).read()
            for m in tar if m.isfile()}


@pytest.fixture(name='original')
def _original(tmp_path):
  files = _corpus()
  return files, imdb_data.write_archive(str(tmp_path / 'small.tar.gz'), files)


def test_three_times_the_reviews_with_the_originals_first_and_intact(
    tmp_path, original):
  files, archive = original
  output = str(tmp_path / 'x3.tar.gz')
  count = scale_data.build(archive, 3, output)
  scaled = _members(output)
  labelled = {n: c for n, c in files.items() if not n.startswith('unsup/')}
  assert count == len(scaled) == 3 * len(labelled)
  assert not any(n.startswith('unsup/') for n in scaled)
  for name, content in labelled.items():
    assert scaled[name] == content
  per_class = collections.Counter(n.rsplit('/', 1)[0] for n in scaled)
  assert per_class == {f'{split}/{label_dir}': 3 * count
                       for split, count in PER_SPLIT_AND_CLASS.items()
                       for label_dir in ('pos', 'neg')}


def test_synthetic_reviews_are_real_sentences_of_their_class_and_rating(
    tmp_path, original):
  files, archive = original
  output = str(tmp_path / 'x3.tar.gz')
  scale_data.build(archive, 3, output)
  synthetic = {n: c for n, c in _members(output).items() if n not in files}
  assert len(synthetic) == 2 * (len(files) - 1)
  sentence_counts = collections.Counter()
  for name, content in synthetic.items():
    split, label_dir, file_name = name.split('/')
    rating = int(file_name.split('_')[1][:-len('.txt')])
    sentences = scale_data.split_sentences(content.decode())
    for sentence in sentences:
      assert sentence.startswith(f'{split} {label_dir} r{rating} review '), (
          name, sentence)
    sentence_counts[(split, label_dir, len(sentences))] += 1
  # Each copy has the originals' sentence counts, class by class.
  original_counts = collections.Counter()
  for name, content in files.items():
    if not name.startswith('unsup/'):
      split, label_dir, _ = name.split('/')
      original_counts[(split, label_dir,
                       len(scale_data.split_sentences(content.decode())))] += 2
  assert sentence_counts == original_counts
  # Not the originals again: most reviews of several sentences are new text.
  originals = set(files.values())
  assert sum(c in originals for c in synthetic.values()) < len(synthetic) / 2


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(
    tmp_path, original):
  _, archive = original
  first, again, other = (str(tmp_path / f'{n}.tar.gz')
                         for n in ('first', 'again', 'other'))
  scale_data.build(archive, 3, first, seed=5)
  scale_data.build(archive, 3, again, seed=5)
  scale_data.build(archive, 3, other, seed=6)
  assert _members(first) == _members(again)
  assert _members(first) != _members(other)
  # A copy does not depend on how many follow it.
  two = str(tmp_path / 'two.tar.gz')
  scale_data.build(archive, 2, two, seed=5)
  assert _members(two).items() <= _members(first).items()


@pytest.mark.parametrize('as_directory', [False, True])
def test_the_example_gen_reader_accepts_the_output(tmp_path, original,
                                                   as_directory):
  files, archive = original
  output = str(tmp_path / ('x3' if as_directory else 'x3.tar.gz'))
  scale_data.build(archive, 3, output, as_directory=as_directory)
  reviews = imdb_data.reviews
  for split, count in PER_SPLIT_AND_CLASS.items():
    if as_directory:
      paths = [os.path.join(folder, name)
               for folder, _, names in os.walk(output) for name in names]
      read = [reviews.read_review_file(p, split)
              for p in reviews.list_review_files(paths, split)]
    else:
      read = list(reviews.iter_archive_reviews(output, split))
    assert len(read) == 3 * 2 * count
    assert len({r.review_id for r in read}) == len(read)
    assert {r.label for r in read} == {0, 1}
    for review in read:
      assert (review.rating >= 7) == (review.label == 1)


def test_a_directory_input_gives_the_archive_inputs_reviews(tmp_path,
                                                            original):
  files, archive = original
  tree = imdb_data.write_tree(str(tmp_path / 'tree'), files)
  from_tree, from_archive = (str(tmp_path / n) for n in ('a.tar.gz',
                                                          'b.tar.gz'))
  scale_data.build(tree, 2, from_tree)
  scale_data.build(archive, 2, from_archive)
  assert _members(from_tree) == _members(from_archive)


@pytest.mark.parametrize('name, content, problem', [
    ('train/pos/x_9.txt', b'Fine.', 'does not match <ID>_<RATING>.txt'),
    ('train/neg/3_2.txt', b'\xff\xfe', 'not valid UTF-8'),
    ('test/pos/4_8.txt', b'  \n', 'empty review'),
])
def test_bad_input_names_the_file_and_the_problem(tmp_path, original, name,
                                                  content, problem):
  files, _ = original
  archive = imdb_data.write_archive(str(tmp_path / 'bad.tar.gz'),
                                    {**files, name: content})
  output = str(tmp_path / 'x2.tar.gz')
  with pytest.raises(scale_data.ScaleDataError) as raised:
    scale_data.build(archive, 2, output)
  assert f'{archive}:aclImdb/{name}' in str(raised.value)
  assert problem in str(raised.value)
  assert not os.path.exists(output)
  # No partial output left behind.
  assert sorted(os.listdir(tmp_path)) == ['bad.tar.gz', 'small.tar.gz']


def test_a_class_without_reviews_is_an_error(tmp_path, original):
  files, _ = original
  archive = imdb_data.write_archive(
      str(tmp_path / 'no-test-neg.tar.gz'),
      {n: c for n, c in files.items() if not n.startswith('test/neg/')})
  with pytest.raises(scale_data.ScaleDataError, match='no reviews under '
                     'test/neg'):
    scale_data.build(archive, 2, str(tmp_path / 'x2.tar.gz'))


def test_sentences_concatenate_to_the_review():
  text = 'Great film. I loved it!<br /><br />The end was "odd." Really?No'
  sentences = scale_data.split_sentences(text)
  assert sentences == ['Great film. ', 'I loved it!<br /><br />',
                       'The end was "odd." ', 'Really?No']
  assert ''.join(sentences) == text


def test_the_command_line_writes_the_output_and_refuses_a_bad_factor(
    tmp_path, original, capsys):
  _, archive = original
  output = str(tmp_path / 'x2.tar.gz')
  assert scale_data.main(['--data', archive, '--factor', '2',
                          '--output', output]) == 0
  assert f'{output}: 72 reviews' in capsys.readouterr().out
  with pytest.raises(SystemExit):
    scale_data.main(['--data', archive, '--factor', '0', '--output', output])
  assert scale_data.main(['--data', str(tmp_path / 'missing.tar.gz'),
                          '--factor', '2', '--output', output]) == 2
  assert 'missing.tar.gz: no such file' in capsys.readouterr().err


def test_the_benchmark_builds_each_factor_once_per_source_and_seed(
    tmp_path, original, capsys):
  from benchmarks import scale  # pylint: disable=g-import-not-at-top
  _, archive = original
  data_dir = str(tmp_path / 'data')
  path = scale.scaled_data(archive, 2, data_dir, seed=0)
  assert path == os.path.join(data_dir, 'aclImdb_x2.tar.gz')
  built = os.stat(path).st_mtime_ns
  assert scale.scaled_data(archive, 2, data_dir, seed=0) == path
  assert os.stat(path).st_mtime_ns == built
  assert f'reusing {path}' in capsys.readouterr().out
  scale.scaled_data(archive, 2, data_dir, seed=1)  # another seed: rebuilt
  assert f'built {path}: 72 reviews' in capsys.readouterr().out
  directory = scale.scaled_data(archive, 2, data_dir, seed=0,
                                as_directory=True)
  assert os.path.isdir(os.path.join(directory, 'aclImdb', 'train', 'pos'))
  assert scale.scaled_data(archive, 2, data_dir, seed=1) == path
  assert f'reusing {path}' in capsys.readouterr().out
