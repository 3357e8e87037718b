"""A run's own tokenizer, cut out of the Transform graph it saved.

The run report counts words and n-grams as the model saw them. Rather than
import the module file that built the graph (models/preprocessing.py: the
read side may not import it, and it may have changed since the run), it runs
the part of the saved graph that tokenizes: from the raw text to the words of
`tf.strings.split` and to the n-grams the vocabulary is asked about. The rest
(the vocabulary table, the analyzers' results) is pruned away, so nothing
but the text is fed.

The graph is found by its ops: one StringSplitV2 (the words) and, with a
vocabulary, one string LookupTableFindV2 (its keys are the n-grams of the
first `max_words` words; hashed n-grams have no lookup). A graph that is cut
otherwise raises TokenizerNotFound.
"""

from typing import Callable, List, NamedTuple, Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft


class TokenizerNotFound(ValueError):
  """The Transform graph does not tokenize in the way this module expects."""


class Tokens(NamedTuple):
  """The tokens of a batch of reviews."""
  lengths: np.ndarray  # words per review, int64 [batch]
  words: List[bytes]  # every review's words, in order
  terms: Optional[List[bytes]]  # the n-grams looked up; None when hashed


def _only_op(graph: tf.Graph, op_type: str,
             where: Callable[[tf.Operation], bool] = lambda op: True,
             allow_none: bool = False) -> Optional[tf.Operation]:
  ops = [op for op in graph.get_operations()
         if op.type == op_type and where(op)]
  if len(ops) > 1 or (not ops and not allow_none):
    raise TokenizerNotFound(
        f'the Transform graph has {len(ops)} {op_type} ops, not one')
  return ops[0] if ops else None


def _text_input(op: tf.Operation) -> tf.Operation:
  """The one placeholder `op` depends on: the raw text fed to the graph."""
  seen, stack, placeholders = set(), [op], []
  while stack:
    current = stack.pop()
    if current.name in seen:
      continue
    seen.add(current.name)
    if current.type == 'Placeholder':
      placeholders.append(current)
    stack.extend(tensor.op for tensor in current.inputs)
  if len(placeholders) != 1 or placeholders[0].outputs[0].dtype != tf.string:
    raise TokenizerNotFound(
        f'{op.name} depends on {len(placeholders)} inputs, not on the text '
        'alone')
  return placeholders[0]


class TransformTokenizer:
  """The tokenizer of a Transform graph artifact (its URI)."""

  def __init__(self, transform_graph_uri: str):
    saved = tf.saved_model.load(
        tft.TFTransformOutput(transform_graph_uri).transform_savedmodel_dir)
    if not hasattr(saved, 'transform_fn'):
      raise TokenizerNotFound(f'{transform_graph_uri}: not a TF2 Transform '
                              'graph (no transform_fn)')
    # A concrete function as tf.Transform saves it (a tf.function once).
    function = saved.transform_fn
    graph = getattr(function, 'concrete_functions', [function])[0].graph
    split = _only_op(graph, 'StringSplitV2')
    # Its inputs: the table, the keys, the default value.
    lookup = _only_op(graph, 'LookupTableFindV2',
                      where=lambda op: op.inputs[1].dtype == tf.string,
                      allow_none=True)
    text = _text_input(split)
    # The graph again, as a v1 graph: one that can be pruned to the tensors
    # wanted, given the text alone.
    graph_def = graph.as_graph_def()
    wrapped = tf.compat.v1.wrap_function(
        lambda: tf.compat.v1.import_graph_def(graph_def, name=''), [])
    tensor = wrapped.graph.get_tensor_by_name
    fetches = [tensor(f'{split.name}:0'), tensor(f'{split.name}:1')]
    if lookup is not None:
      fetches.append(tensor(lookup.inputs[1].name))  # the keys looked up
    self.has_vocabulary = lookup is not None
    self._tokenize = wrapped.prune(
        feeds=[tensor(f'{text.name}:0')], fetches=fetches)
    # A review per row: [n], or [n, 1] with an inferred schema's shape.
    self._text_shape = [-1] + text.outputs[0].shape.as_list()[1:]

  def __call__(self, texts: Sequence[bytes]) -> Tokens:
    outputs = self._tokenize(tf.reshape(tf.constant(list(texts), tf.string),
                                        self._text_shape))
    indices, words = outputs[0].numpy(), outputs[1].numpy()
    lengths = np.bincount(indices[:, 0], minlength=len(texts)).astype(
        np.int64)
    terms = outputs[2].numpy().tolist() if self.has_vocabulary else None
    return Tokens(lengths, words.tolist(), terms)
