"""The n-gram vocabulary analyzer: the same file tft.vocabulary writes."""

import random

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata
from tensorflow_transform.tf_metadata import schema_utils

from models import vocabulary


def _random_texts(count, seed=3):
  rng = random.Random(seed)
  # Zipf-like: a few words are frequent, many are seen once or twice, and
  # several share a count (ties are ordered reverse-lexicographically).
  words = [f'w{i}' for i in range(300)]
  weights = [1 / (i + 1) for i in range(300)]
  return [' '.join(rng.choices(words, weights, k=rng.randint(1, 30)))
          for _ in range(count)]


def _vocabularies(texts, top_k, threshold, work_dir):
  def preprocessing_fn(inputs):
    terms = tf.strings.split(tf.reshape(inputs['text'], [-1]))
    ours = vocabulary.compute_and_apply_vocabulary(
        terms, top_k, threshold, num_oov_buckets=1, vocab_filename='ours')
    theirs = tft.compute_and_apply_vocabulary(
        terms, top_k=top_k, frequency_threshold=threshold, num_oov_buckets=1,
        vocab_filename='theirs')
    return {'ours': ours, 'theirs': theirs}

  metadata = dataset_metadata.DatasetMetadata(
      schema_utils.schema_from_feature_spec(
          {'text': tf.io.FixedLenFeature([], tf.string)}))
  with beam.Pipeline(argv=['--runner=DirectRunner']) as pipeline, \
      tft_beam.Context(temp_dir=str(work_dir), desired_batch_size=37):
    transform_fn = (
        (pipeline | beam.Create([{'text': t} for t in texts]), metadata)
        | tft_beam.AnalyzeDataset(preprocessing_fn))
    _ = transform_fn | tft_beam.WriteTransformFn(str(work_dir))
  output = tft.TFTransformOutput(str(work_dir))
  ids = output.transform_raw_features({'text': tf.constant(texts)})
  return output, ids


def test_same_vocabulary_file_and_ids_as_tft_vocabulary(tmp_path):
  texts = _random_texts(400)
  output, ids = _vocabularies(texts, top_k=120, threshold=2,
                              work_dir=tmp_path)
  ours = output.vocabulary_by_name('ours')
  assert len(ours) == 120
  assert ours == output.vocabulary_by_name('theirs')
  assert ids['ours'].to_list() == ids['theirs'].to_list()
  # The asset keeps its name, so the Trainer finds it by name.
  assert output.vocabulary_file_by_name('ours').endswith('/assets/ours')


def test_frequency_threshold_and_order():
  counts = {b'a': 5, b'c': 3, b'b': 3, b'd': 1}
  assert vocabulary.top_terms(counts, 10, 2) == [b'a', b'c', b'b']
  assert vocabulary.top_terms(counts, 2, 1) == [b'a', b'c']
  # Ties at the cut are broken as tft.vocabulary breaks them.
  assert vocabulary.top_terms(counts, 3, 1) == [b'a', b'c', b'b']
  assert vocabulary.top_terms(counts, 1, 6) == []
  assert vocabulary.top_terms({}, 5, 1) == []
  # Packed, as Beam may hand the accumulator over, the same terms.
  packed = vocabulary._CountTerms(10, 1).compact(  # pylint: disable=protected-access
      dict(counts))
  assert vocabulary.top_terms(packed, 3, 1) == [b'a', b'c', b'b']


def test_counts_add_up_across_batches_and_accumulators():
  combine = vocabulary._CountTerms(  # pylint: disable=protected-access
      top_k=2, frequency_threshold=1)
  first = combine.add_input(combine.create_accumulator(),
                            (np.array([b'x', b'y'], object), np.array([2, 1])))
  first = combine.add_input(first, (np.array([b'x'], object), np.array([4])))
  second = combine.add_input(combine.create_accumulator(),
                             (np.array([b'y', b'z'], object), np.array([1, 7])))
  # Compacted (as Beam may store them between steps), the same counts.
  packed = [combine.compact(first), combine.compact(second)]
  assert combine.merge_accumulators(packed) == {b'x': 6, b'y': 2, b'z': 7}
  # (Merging may add into one of the accumulators: Beam allows it.)
  merged = combine.merge_accumulators([first, second])
  assert merged == {b'x': 6, b'y': 2, b'z': 7}
  # The output is the vocabulary file's content: the top 2, one a line.
  assert combine.extract_output(combine.compact(merged)) == b'z\nx\n'
  assert combine.extract_output(combine.compact({})) == b''
  # One accumulator is merged as it is, packed or not.
  assert combine.extract_output(combine.merge_accumulators(
      [combine.compact(merged)])) == b'z\nx\n'


def test_past_the_cap_the_rarest_terms_are_dropped(monkeypatch):
  monkeypatch.setattr(vocabulary, 'MAX_COUNTED_TERMS', 10)
  combine = vocabulary._CountTerms(  # pylint: disable=protected-access
      top_k=2, frequency_threshold=1)
  counts = combine.create_accumulator()
  # Up to the cap: exact.
  counts = combine.add_input(counts, (
      np.array([b'a', b'b', b'c'] + [b'r%d' % i for i in range(7)], object),
      np.array([50, 40, 30] + [1] * 7)))
  assert len(counts) == 10 and counts[b'a'] == 50
  # One more term: down to half the cap, the most frequent kept (the tie at
  # the cut, the rare ones, dropped).
  counts = combine.add_input(counts, (np.array([b'new'], object),
                                      np.array([1])))
  assert counts == {b'a': 50, b'b': 40, b'c': 30}
  # Counting goes on; a dropped term starts again from what it brings.
  counts = combine.add_input(counts, (np.array([b'a', b'r0'], object),
                                      np.array([5, 2])))
  assert counts == {b'a': 55, b'b': 40, b'c': 30, b'r0': 2}
  assert combine.extract_output(counts) == b'a\nb\n'
  # Merged accumulators are bounded too.
  many = [{b'm%d' % i: i + 1} for i in range(12)]
  merged = combine.merge_accumulators(many)
  # The 11th term passed the cap: m6..m10 (counts 7-11) were kept, then m11.
  assert merged == {b'm%d' % i: i + 1 for i in range(6, 12)}


def test_the_cap_never_keeps_fewer_terms_than_twice_top_k(monkeypatch):
  monkeypatch.setattr(vocabulary, 'MAX_COUNTED_TERMS', 10)
  combine = vocabulary._CountTerms(  # pylint: disable=protected-access
      top_k=5, frequency_threshold=1)
  counts = combine.add_input(combine.create_accumulator(), (
      np.array([b't%02d' % i for i in range(21)], object),
      np.arange(1, 22)))
  # A limit of 4 x top_k = 20: 21 terms are pruned to the 10 most frequent.
  assert counts == {b't%02d' % i: i + 1 for i in range(11, 21)}
  assert combine.extract_output(counts) == b''.join(
      b't%02d\n' % i for i in range(20, 15, -1))
