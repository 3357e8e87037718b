"""The n-gram vocabulary: a top-k count, analyzed in one combine.

`tft.vocabulary` emits one (term, count) pair per distinct term of every batch
and sums them with a per-key combine; with about two million distinct n-grams
that is millions of Beam elements, and on this project's data the encoding and
shuffling of those pairs was most of Transform's time. Here each batch is
counted inside the graph (`tf.unique_with_counts`), handed to Beam as two
arrays, and the batches are added up in a single global combine of plain
dictionaries. The result is the vocabulary `tft.vocabulary` makes: exact
counts up to MAX_COUNTED_TERMS distinct terms (or four times top_k if more),
lossy past that, sorted by decreasing frequency, then reverse
lexicographically; top_k after the frequency threshold. It is written as a
text file, becomes an asset of the Transform graph under `vocab_filename`
(tft.annotate_asset), and is applied with `tft.apply_vocabulary`, so serving
looks terms up exactly as before.
"""

import os
import uuid
from typing import Dict, Iterable, NamedTuple, Tuple, Union

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam

Counts = Dict[bytes, int]

# Distinct terms counted at most. Every review brings new n-grams, so exact
# counts grow with the data (about 1 KB of Transform's peak per review past
# 27,500 reviews on the benchmark's data). Past this many, the rarest terms
# are dropped, down to half as many (lossy counting); a term dropped loses
# the few counts it had then. Measured: the dev archive's 1.4 million
# distinct uni- and bigrams are counted exactly (at 8x too the top 100k came
# out byte for byte). Its 4.7 million uni- to trigrams are not: the default
# top 200k keep every term seen 8 times or more, but 6,380 seen 6 or 7 times,
# undercounted, give way to terms seen 5 or 6 times (3% of the vocabulary,
# all at the cut, which is at 6).
MAX_COUNTED_TERMS = 2_000_000


class _PackedCounts(NamedTuple):
  """Counts as two flat values: Beam's state cache measures the size of what
  it holds object by object, which for a dictionary of two million terms
  took longer than counting them."""
  terms: bytes  # the terms, one a line (a text vocabulary has no newlines)
  counts: np.ndarray


def _unpacked(counts: Union[Counts, _PackedCounts]) -> Counts:
  if isinstance(counts, _PackedCounts):
    terms = counts.terms.split(b'\n') if counts.terms else []
    return dict(zip(terms, counts.counts.tolist()))
  return counts


def _added(counts: Counts, pairs: Iterable[Tuple[bytes, int]],
           limit: int) -> Counts:
  """`counts` with each (term, count) of `pairs` added in place, bounded."""
  get = counts.get
  for term, count in pairs:
    counts[term] = get(term, 0) + count
  return _bounded(counts, limit)


def _bounded(counts: Counts, limit: int) -> Counts:
  """`counts`, or, past `limit` terms, only its most frequent: at most half
  that many (so that pruning is rare), ties at the cut dropped."""
  if len(counts) <= limit:
    return counts
  values = np.fromiter(counts.values(), np.int64, len(counts))
  keep = limit // 2
  # Terms above the count of the keep-th most frequent one.
  cut = np.partition(values, len(values) - keep - 1)[len(values) - keep - 1]
  return {term: count for term, count in counts.items() if count > cut}


class _CountTerms(beam.CombineFn):
  """Adds up per-batch (unique terms, counts) arrays into one dictionary; its
  output is the vocabulary file's content, the kept terms one a line."""

  def __init__(self, top_k: int, frequency_threshold: int):
    super().__init__()
    self._top_k = top_k
    self._frequency_threshold = frequency_threshold
    # Pruned down to half the limit: never fewer terms than a larger top_k.
    self._limit = max(MAX_COUNTED_TERMS, 4 * top_k)

  def create_accumulator(self) -> Counts:
    return {}

  def add_input(self, counts: Counts,
                batch: Tuple[np.ndarray, np.ndarray]) -> Counts:
    counts = _unpacked(counts)
    terms, term_counts = batch
    return _added(counts, zip(terms.tolist(), term_counts.tolist()),
                  self._limit)

  def compact(self, counts: Union[Counts, _PackedCounts]) -> _PackedCounts:
    if isinstance(counts, _PackedCounts):
      return counts
    return _PackedCounts(b'\n'.join(counts),
                         np.fromiter(counts.values(), np.int64, len(counts)))

  def merge_accumulators(self, accumulators: Iterable[Counts]
                         ) -> Union[Counts, _PackedCounts]:
    accumulators = list(accumulators)
    if len(accumulators) == 1:
      # As it is: unpacking two million terms into a dictionary takes a
      # second, and the direct runner merges its single accumulator.
      return accumulators[0]
    merged = _unpacked(accumulators[0])
    for counts in accumulators[1:]:
      counts = _unpacked(counts)
      # Add the smaller dictionary into the larger one.
      if len(counts) > len(merged):
        merged, counts = counts, merged
      merged = _added(merged, counts.items(), self._limit)
    return merged

  def extract_output(self, counts: Union[Counts, _PackedCounts]) -> bytes:
    # One bytes value, not the dictionary: CombineGlobally hands its result
    # on as a side input, and Beam's state cache measures a side input
    # object by object (seconds for two million terms).
    return b''.join(term + b'\n' for term in top_terms(
        counts, self._top_k, self._frequency_threshold))


def top_terms(counts: Union[Counts, _PackedCounts], top_k: int,
              frequency_threshold: int) -> Iterable[bytes]:
  """The kept terms in tft.vocabulary's order: by decreasing count, then
  reverse lexicographically; at most `top_k`, each seen at least
  `frequency_threshold` times."""
  if isinstance(counts, _PackedCounts):
    terms = counts.terms.split(b'\n') if counts.terms else []
    values = np.asarray(counts.counts, np.int64)
  else:
    terms = list(counts)
    values = np.fromiter(counts.values(), np.int64, len(terms))
  kept = values >= frequency_threshold
  # Only the terms as frequent as the top_k-th are sorted (top_k and its
  # ties), not all the kept ones: 0.5 s instead of 1.3 s CPU for the dev
  # archive's 1.4 million distinct n-grams.
  if np.count_nonzero(kept) > top_k:
    kept &= values >= np.partition(values[kept], -top_k)[-top_k]
  index = np.flatnonzero(kept)
  ranked = sorted(zip(values[index].tolist(), [terms[i] for i in index]),
                  reverse=True)
  return [term for _, term in ranked[:top_k]]


class _WriteVocabulary(tft_beam.experimental.PTransformAnalyzer):
  """Beam side of the analyzer: counts, keeps top_k, writes the text file."""

  def __init__(self, top_k: int, frequency_threshold: int, file_name: str):
    super().__init__()
    self._top_k = top_k
    self._frequency_threshold = frequency_threshold
    self._file_name = file_name

  def expand(self, batches: beam.PCollection) -> beam.PCollection:
    file_name = self._file_name
    # A directory of its own: the file's base name is the asset's name.
    directory = os.path.join(self.base_temp_dir, uuid.uuid4().hex)

    def write(content: bytes) -> np.ndarray:
      tf.io.gfile.makedirs(directory)
      path = os.path.join(directory, file_name)
      with tf.io.gfile.GFile(path, 'wb') as f:
        f.write(content)
      return np.array(path.encode('utf-8'))

    return (batches
            | 'CountTerms' >> beam.CombineGlobally(
                _CountTerms(self._top_k, self._frequency_threshold))
            | 'WriteVocabulary' >> beam.Map(write))


def compute_and_apply_vocabulary(terms: tf.RaggedTensor, top_k: int,
                                 frequency_threshold: int,
                                 num_oov_buckets: int,
                                 vocab_filename: str) -> tf.RaggedTensor:
  """Ids of `terms` in the vocabulary of the analyzed data, as
  `tft.compute_and_apply_vocabulary` gives them: [0, size) for vocabulary
  terms, then `num_oov_buckets` hashed ids for the rest."""
  if any(ord(c) < 32 for c in vocab_filename) or '/' in vocab_filename:
    raise ValueError(f'not a plain file name: {vocab_filename!r}')
  unique_terms, _, counts = tf.unique_with_counts(terms.flat_values)
  (vocabulary_path,) = tft.experimental.ptransform_analyzer(
      inputs=[unique_terms, tf.cast(counts, tf.int64)],
      ptransform=_WriteVocabulary(top_k, frequency_threshold, vocab_filename),
      output_dtypes=[tf.string],
      output_shapes=[[]],
      # While tracing, before analysis, the lookup needs a file with a line
      # in it; tft.vocabulary writes the same placeholder.
      output_asset_default_values=[b'TEMPORARY_ASSET_VALUE'],
      name='ngram_vocabulary')
  tft.annotate_asset(vocab_filename, vocab_filename)
  return tft.apply_vocabulary(terms, vocabulary_path,
                              num_oov_buckets=num_oov_buckets)
