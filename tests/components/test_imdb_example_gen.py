"""ImdbExampleGen: parsing, splitting and every bad-input case."""

import glob
import io
import os
import tarfile

import pytest
import tensorflow as tf
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from helpers import imdb_data
from components.imdb_example_gen import component
from components.imdb_example_gen import executor
from components.imdb_example_gen import layout
from components.imdb_example_gen import reviews
import contract
from pipeline import data


def test_parse_review_reads_label_rating_and_unique_id():
  review = reviews.parse_review('x', 'train', 'pos', '123_9.txt', b'Great!')
  assert review == reviews.Review('train/pos/123', 1, 9, b'Great!')
  other = reviews.parse_review('y', 'train', 'neg', '123_2.txt', b'Bad.')
  assert other.review_id != review.review_id  # ids repeat across classes
  assert other.label == 0


def test_to_example_has_the_contract_features():
  example = reviews.Review('test/neg/7', 0, 3, b'meh').to_example()
  features = example.features.feature
  assert features[contract.TEXT_KEY].bytes_list.value == [b'meh']
  assert features[contract.LABEL_KEY].int64_list.value == [0]
  assert features[contract.RATING_KEY].int64_list.value == [3]
  assert features[contract.REVIEW_ID_KEY].bytes_list.value == [b'test/neg/7']


@pytest.mark.parametrize('name', ['123.txt', 'abc_9.txt', '1_9_2.txt',
                                  '12_x.txt'])
def test_bad_file_name_is_an_error_naming_the_file(name):
  with pytest.raises(reviews.ReviewDataError, match=f'/data/{name}.*<ID>_<RATING>'):
    reviews.parse_review(f'/data/{name}', 'train', 'pos', name, b'text')


def test_rating_out_of_range_is_an_error():
  with pytest.raises(reviews.ReviewDataError, match='f.txt: rating 11'):
    reviews.parse_review('f.txt', 'train', 'pos', '1_11.txt', b'text')


def test_invalid_utf8_is_an_error_naming_the_file():
  with pytest.raises(reviews.ReviewDataError, match='bad.txt: not valid UTF-8'):
    reviews.parse_review('bad.txt', 'train', 'pos', '1_9.txt', b'ok \xff\xfe')


def test_review_location_ignores_unsup_and_other_files():
  assert layout.review_location('a/train/pos/1_9.txt', 'train') == (
      'pos', '1_9.txt')
  assert layout.review_location('a/train/unsup/1_0.txt', 'train') is None
  assert layout.review_location('a/train/urls_pos.txt', 'train') is None
  assert layout.review_location('a/test/pos/1_9.txt', 'train') is None
  assert layout.review_location('a/train/labeledBow.feat', 'train') is None


def test_archive_reviews_are_streamed_per_split(tmp_path):
  files = imdb_data.generated_corpus({'train': 3, 'test': 2})
  files['train/unsup/0_0.txt'] = b'unlabelled'
  archive = imdb_data.write_archive(str(tmp_path / 'a.tar.gz'), files)
  train = list(reviews.iter_archive_reviews(archive, 'train'))
  test = list(reviews.iter_archive_reviews(archive, 'test'))
  assert len(train) == 6 and len(test) == 4
  assert {r.label for r in train} == {0, 1}
  assert all(r.review_id.startswith('test/') for r in test)


def test_a_streamed_archive_keeps_no_list_of_its_members(tmp_path,
                                                       monkeypatch):
  # TarFile appends every member it reads to `members`: for a large archive
  # that list, not the reviews, grew ExampleGen's memory with the data.
  files = imdb_data.generated_corpus({'train': 50, 'test': 5})
  archive = imdb_data.write_archive(str(tmp_path / 'a.tar.gz'), files)
  held = []
  original_next = tarfile.TarFile.next

  def next_member(self):
    held.append(len(self.members))
    return original_next(self)

  monkeypatch.setattr(tarfile.TarFile, 'next', next_member)
  assert len(list(reviews.iter_archive_reviews(archive, 'train'))) == 100
  assert len(held) > 100 and max(held) <= 1


def test_truncated_archive_is_an_error_naming_it(tmp_path):
  archive = imdb_data.write_archive(
      str(tmp_path / 'a.tar.gz'),
      imdb_data.generated_corpus({'train': 200, 'test': 2}))
  content = open(archive, 'rb').read()
  truncated = tmp_path / 'truncated.tar.gz'
  truncated.write_bytes(content[:len(content) // 2])
  with pytest.raises(reviews.ReviewDataError,
                     match='truncated.tar.gz: corrupt or truncated archive'):
    list(reviews.iter_archive_reviews(str(truncated), 'train'))


def test_file_that_is_not_gzip_is_an_error_naming_it(tmp_path):
  bogus = tmp_path / 'bogus.tar.gz'
  bogus.write_bytes(b'this is not a gzip file at all' * 10)
  with pytest.raises(reviews.ReviewDataError,
                     match='bogus.tar.gz: corrupt or truncated archive'):
    list(reviews.iter_archive_reviews(str(bogus), 'train'))


def test_archive_without_reviews_is_an_error(tmp_path):
  archive = imdb_data.write_archive(str(tmp_path / 'empty.tar.gz'),
                                    {'README': b'nothing here'})
  with pytest.raises(reviews.ReviewDataError,
                     match='empty.tar.gz: no reviews found under train'):
    list(reviews.iter_archive_reviews(archive, 'train'))


def test_empty_review_is_an_error_naming_the_file():
  with pytest.raises(reviews.ReviewDataError, match='x.txt: empty review'):
    reviews.parse_review('x.txt', 'train', 'pos', '1_9.txt', b' \n\t')


def test_a_review_id_twice_in_a_split_is_an_error_naming_both(tmp_path):
  files = imdb_data.generated_corpus({'train': 2, 'test': 1})
  files['train/pos/0_10.txt'] = files['train/pos/0_7.txt'] = b'Twice.'
  archive = imdb_data.write_archive(str(tmp_path / 'a.tar.gz'), files)
  with pytest.raises(reviews.ReviewDataError,
                     match=r'0_7.txt: review id train/pos/0 again \(first in '
                     r'.*0_10.txt\)'):
    list(reviews.iter_archive_reviews(archive, 'train'))
  tree = imdb_data.write_tree(str(tmp_path / 'tree'), files)
  paths = [os.path.join(folder, name)
           for folder, _, names in os.walk(tree) for name in names]
  with pytest.raises(reviews.ReviewDataError,
                     match='review id train/pos/0 again'):
    reviews.list_review_files(paths, 'train')
  # The same id under pos and neg is two reviews, as in the official data.
  del files['train/pos/0_7.txt'], files['train/pos/0_10.txt']
  files['train/pos/99_8.txt'], files['train/neg/99_2.txt'] = b'Good.', b'Bad.'
  archive = imdb_data.write_archive(str(tmp_path / 'b.tar.gz'), files)
  assert len(list(reviews.iter_archive_reviews(archive, 'train'))) == 5


@pytest.mark.parametrize('member', ['aclImdb/../train/pos/5_9.txt',
                                    '/train/pos/5_9.txt'])
def test_member_outside_the_archive_root_is_an_error(tmp_path, member):
  archive = str(tmp_path / 'a.tar.gz')
  with tarfile.open(archive, 'w:gz') as tar:
    info = tarfile.TarInfo(member)
    info.size = 5
    tar.addfile(info, io.BytesIO(b'Good.'))
  with pytest.raises(reviews.ReviewDataError,
                     match='member name is absolute or climbs out with'):
    list(reviews.iter_archive_reviews(archive, 'train'))


def test_hash_split_index_follows_bucket_edges():
  ids = [f'train/neg/{i}' for i in range(2000)]
  for review_id in ids:
    bucket = reviews.bucket_of(review_id, 100)
    assert reviews.hash_split_index(review_id, (90, 10)) == int(bucket >= 90)
  assert {reviews.hash_split_index(i, (1, 1, 1)) for i in ids} == {0, 1, 2}


def test_bucket_of_is_stable_and_roughly_uniform():
  assert reviews.bucket_of('train/pos/1', 100) == reviews.bucket_of(
      'train/pos/1', 100)
  buckets = [reviews.bucket_of(f'train/pos/{i}', 10) for i in range(5000)]
  assert 400 < buckets.count(0) < 600


# --- Locating the data a user points at.


def test_locate_accepts_the_archive_the_parent_and_aclimdb(tmp_path):
  files = imdb_data.generated_corpus({'train': 1, 'test': 1})
  root = imdb_data.write_tree(str(tmp_path), files)
  archive = imdb_data.write_archive(str(tmp_path / 'x.tar.gz'), files)
  assert data.locate(str(tmp_path)).input_base == root
  assert data.locate(root) == data.DataLocation(root, 'train/*/*.txt',
                                                'test/*/*.txt')
  assert data.locate(archive) == data.DataLocation(str(tmp_path), 'x.tar.gz',
                                                   'x.tar.gz')


def test_locate_missing_path_says_how_to_point_at_data(tmp_path):
  with pytest.raises(data.DataSourceError, match='no such file.*IMDB_DATA'):
    data.locate(str(tmp_path / 'nope'))


def test_locate_directory_without_layout_is_an_error(tmp_path):
  (tmp_path / 'something').mkdir()
  with pytest.raises(data.DataSourceError, match='neither train/'):
    data.locate(str(tmp_path))
  (tmp_path / 'train').mkdir()
  with pytest.raises(data.DataSourceError, match='has no test/'):
    data.locate(str(tmp_path))


def test_download_offline_fails_at_once_with_a_hint(tmp_path):
  with pytest.raises(data.DataSourceError, match='Cannot download.*IMDB_DATA'):
    data.download_official_archive(
        str(tmp_path), url='http://127.0.0.1:9/aclImdb_v1.tar.gz',
        timeout_s=5)
  assert os.listdir(tmp_path) == []  # no partial file left behind


def test_download_rejects_a_wrong_checksum_and_keeps_nothing(tmp_path):
  source = tmp_path / 'src.tar.gz'
  source.write_bytes(b'not the archive')
  cache = tmp_path / 'cache'
  with pytest.raises(data.DataSourceError, match='sha256'):
    data.download_official_archive(str(cache), url=source.as_uri())
  assert os.listdir(cache) == []
  good = data.download_official_archive(
      str(cache), url=source.as_uri(), sha256=data.sha256_of(str(source)))
  assert open(good, 'rb').read() == b'not the archive'


# --- The executor, through Beam.


def _run_executor(tmp_path, location: data.DataLocation, eval_percent=10):
  examples = standard_artifacts.Examples()
  examples.uri = str(tmp_path / 'output')
  exec_properties = {
      standard_component_specs.INPUT_BASE_KEY: location.input_base,
      standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(
          component.make_input_config(location.train_pattern,
                                      location.test_pattern)),
      standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(
          component.make_output_config(eval_percent)),
      standard_component_specs.OUTPUT_DATA_FORMAT_KEY:
          example_gen_pb2.FORMAT_TF_EXAMPLE,
  }
  executor.Executor().Do({}, {standard_component_specs.EXAMPLES_KEY:
                              [examples]}, exec_properties)
  return examples


def _read_split(examples, split):
  files = glob.glob(os.path.join(
      artifact_utils.get_split_uri([examples], split), '*.gz'))
  return [tf.train.Example.FromString(record.numpy()) for record in
          tf.data.TFRecordDataset(files, compression_type='GZIP')]


def _ids(examples):
  return sorted(e.features.feature['review_id'].bytes_list.value[0]
                for e in examples)


@pytest.mark.parametrize('as_archive,files_per_element',
                         [(False, 500), (False, 7), (True, 500)])
def test_executor_writes_train_eval_test_splits(tmp_path, monkeypatch,
                                                as_archive, files_per_element):
  # A directory's files reach Beam in groups: every review of every group,
  # the last one short, is read once.
  monkeypatch.setattr(executor, 'FILES_PER_ELEMENT', files_per_element)
  files = imdb_data.generated_corpus({'train': 100, 'test': 10})
  files['train/unsup/5_0.txt'] = b'ignored'
  if as_archive:
    source = imdb_data.write_archive(str(tmp_path / 'imdb.tar.gz'), files)
  else:
    source = imdb_data.write_tree(str(tmp_path / 'data'), files)
  examples = _run_executor(tmp_path, data.locate(source))

  assert artifact_utils.decode_split_names(examples.split_names) == [
      'train', 'eval', 'test']
  train, evals, test = (_read_split(examples, s)
                        for s in ('train', 'eval', 'test'))
  assert len(train) + len(evals) == 200 and len(test) == 20
  assert len(set(_ids(train) + _ids(evals))) == 200
  assert 5 <= len(evals) <= 40  # ~10% by hash
  assert not set(_ids(train)) & set(_ids(evals))
  assert all(i.startswith(b'test/') for i in _ids(test))
  expected_eval = sorted(
      f'train/{name.split("/")[1]}/{name.split("/")[2].split("_")[0]}'.encode()
      for name in files if name.startswith('train/') and 'unsup' not in name
      and reviews.bucket_of(
          f'train/{name.split("/")[1]}/{name.split("/")[2].split("_")[0]}',
          100) >= 90)
  assert _ids(evals) == expected_eval  # the split is the documented hash
  text = {e.features.feature['review_id'].bytes_list.value[0]:
          e.features.feature['text'].bytes_list.value[0] for e in test}
  assert text[b'test/pos/3'] == files[
      next(n for n in files if n.startswith('test/pos/3_'))]


def _train_paths(tmp_path, files):
  """The train files' paths as the executor lists them: from a directory,
  then from an archive of the same files."""
  locations = [
      data.locate(imdb_data.write_tree(str(tmp_path / 'tree'), files)),
      data.locate(imdb_data.write_archive(str(tmp_path / 'imdb.tar.gz'),
                                          files))]
  return [executor._expand_pattern(location.input_base, 'train',
                                   location.train_pattern)
          for location in locations]


def test_movie_urls_are_the_same_from_archive_and_directory(tmp_path):
  files = imdb_data.with_movie_urls(
      imdb_data.generated_corpus({'train': 30, 'test': 3}),
      reviews_per_movie=5, unnamed=4)
  found = [reviews.movie_urls(paths, 'train')
           for paths in _train_paths(tmp_path, files)]
  assert found[0] == found[1]
  assert len(found[0]) == 2 * 26  # ids 26-29 of each class have no line
  assert found[0]['train/pos/7'] == found[0]['train/neg/9'] == (
      'http://www.imdb.com/title/tt0000001/usercomments')
  assert 'train/pos/27' not in found[0]
  assert not any(key.startswith('test/') for key in found[0])


def test_movie_urls_without_urls_files_are_empty(tmp_path):
  files = imdb_data.generated_corpus({'train': 5, 'test': 1})
  for paths in _train_paths(tmp_path, files):
    assert reviews.movie_urls(paths, 'train') == {}


def test_urls_file_not_utf8_is_an_error_naming_it(tmp_path):
  files = imdb_data.generated_corpus({'train': 5, 'test': 1})
  files['train/urls_neg.txt'] = b'http://x\n\xff\n'
  for paths in _train_paths(tmp_path, files):
    with pytest.raises(reviews.ReviewDataError,
                       match=r'train/urls_neg.txt: not valid UTF-8'):
      reviews.movie_urls(paths, 'train')


def test_movie_urls_of_a_truncated_archive_is_an_error_naming_it(tmp_path):
  files = imdb_data.with_movie_urls(
      imdb_data.generated_corpus({'train': 50, 'test': 1}), 5)
  archive = imdb_data.write_archive(str(tmp_path / 'imdb.tar.gz'), files)
  truncated = tmp_path / 'truncated.tar.gz'
  truncated.write_bytes(open(archive, 'rb').read()[:-200])
  with pytest.raises(reviews.ReviewDataError,
                     match='truncated.tar.gz: corrupt or truncated'):
    reviews.movie_urls([str(truncated)], 'train')


@pytest.mark.parametrize('as_archive', [False, True])
def test_executor_splits_train_by_movie(tmp_path, as_archive):
  # 400 train reviews of 80 movies (5 each), the last 10 ids of each class
  # without a movie: eval holds whole movies, and the unnamed reviews go by
  # their own ids.
  files = imdb_data.with_movie_urls(
      imdb_data.generated_corpus({'train': 200, 'test': 5}),
      reviews_per_movie=5, unnamed=10)
  source = (imdb_data.write_archive(str(tmp_path / 'imdb.tar.gz'), files)
            if as_archive else imdb_data.write_tree(str(tmp_path / 'data'),
                                                    files))
  examples = _run_executor(tmp_path, data.locate(source))
  train, evals = (_ids(_read_split(examples, s)) for s in ('train', 'eval'))
  assert len(train) + len(evals) == 400

  def movie(review_id):
    number = int(review_id.decode().split('/')[2])
    return (f'http://www.imdb.com/title/tt{number // 5:07d}/usercomments'
            if number < 190 else review_id.decode())

  assert not {movie(i) for i in train} & {movie(i) for i in evals}
  assert evals == sorted(i for i in train + evals
                         if reviews.bucket_of(movie(i), 100) >= 90)
  named_eval = [i for i in evals if int(i.decode().split('/')[2]) < 190]
  assert named_eval and len(named_eval) % 10 == 0  # whole movies: 5 + 5


def test_executor_fails_on_empty_tree_naming_it(tmp_path):
  root = tmp_path / 'aclImdb'
  for split in ('train', 'test'):
    (root / split / 'pos').mkdir(parents=True)
  with pytest.raises(reviews.ReviewDataError, match='no reviews found'):
    _run_executor(tmp_path, data.locate(str(root)))


def test_executor_fails_on_bad_file_name_naming_it(tmp_path):
  files = imdb_data.generated_corpus({'train': 3, 'test': 1})
  files['train/pos/oops.txt'] = b'text'
  root = imdb_data.write_tree(str(tmp_path / 'data'), files)
  with pytest.raises(Exception, match='oops.txt: file name does not match'):
    _run_executor(tmp_path, data.locate(root))


def test_executor_fails_on_invalid_utf8_naming_the_member(tmp_path):
  files = imdb_data.generated_corpus({'train': 3, 'test': 1})
  files['test/neg/99_1.txt'] = b'\xc3\x28 broken'
  archive = imdb_data.write_archive(str(tmp_path / 'x.tar.gz'), files)
  with pytest.raises(Exception,
                     match=r'x.tar.gz:aclImdb/test/neg/99_1.txt: not valid UTF-8'):
    _run_executor(tmp_path, data.locate(archive))


def test_component_declares_the_documented_splits():
  gen = component.ImdbExampleGen(input_base='/data', train_pattern='t/*',
                                 test_pattern='s/*', eval_percent=20)
  output_config = example_gen_pb2.Output()
  proto_utils.json_to_proto(gen.exec_properties['output_config'], output_config)
  assert [(s.name, s.hash_buckets) for s in
          output_config.split_config.splits] == [('train', 80), ('eval', 20)]
  with pytest.raises(ValueError, match='eval_percent'):
    component.make_output_config(0)
