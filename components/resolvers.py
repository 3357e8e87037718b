"""Resolver strategies for retraining on spans: which earlier artifacts a run
reads, beside those it just produced.

TFX's own `SpanRangeStrategy` picks the latest spans of everything recorded;
these strategies are anchored on the span *this run* ingested instead, so a
backfilled older span is windowed and compared correctly, and they honour the
spans an operator excluded. `LatestBlessedModelFromOtherDataStrategy` is
`LatestBlessedModelStrategy` minus the models trained on the very examples the
Trainer is about to read: a re-run on unchanged data then resolves the same
base model as the run before it, and everything stays cached.
`LatestBlessedOtherModelStrategy` gives the Evaluator its baseline: the latest
blessed model other than the candidate, so that a model is never judged
against itself (and a re-run whose Trainer was cached stays cached).

Each is used through `tfx.dsl.Resolver(strategy_class=..., config=...)`,
which LocalDagRunner and Airflow run; Kubeflow Pipelines v2 compiles only
TFX's two stock strategies (see pipeline/orchestrators.py).
"""

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import ml_metadata as mlmd
from tfx import types
from tfx.components.evaluator import constants as evaluator_constants
from tfx.dsl.components.common import resolver

from contract import lineage

# Input keys of the span strategies: the artifact this run produced, and every
# artifact of the same producer in the pipeline's history.
CURRENT_KEY = 'current'
HISTORY_KEY = 'history'


def span_of(artifact: types.Artifact) -> int:
  """The span of an Examples artifact (0: data without spans)."""
  return lineage.span_of(artifact.mlmd_artifact)


def select_spans(current: types.Artifact, history: Sequence[types.Artifact],
                 num_spans: int, before_current: bool,
                 excluded_spans: Sequence[int] = (),
                 span: Callable[[types.Artifact], int] = span_of
                 ) -> List[types.Artifact]:
  """The newest artifact of each of the `num_spans` latest spans up to the
  current one (or strictly before it), excluded spans left out; oldest first.

  The current artifact stands for its own span even if an older artifact of
  that span exists (the span was ingested again).
  """
  current_span = span(current)
  newest: Dict[int, types.Artifact] = {}
  for artifact in sorted(history, key=lambda a: a.id):
    newest[span(artifact)] = artifact
  newest[current_span] = current
  spans = sorted(span for span in newest
                 if span not in excluded_spans
                 and (span < current_span if before_current
                      else span <= current_span))
  return [newest[span] for span in spans[-num_spans:]] if num_spans else []


def spans_from_lineage(store: mlmd.MetadataStore,
                       artifacts: Sequence[types.Artifact]
                       ) -> Dict[int, Tuple[str, int]]:
  """{artifact id: (output key, span)} of artifacts computed from Examples
  (statistics): the span is that of the `examples` their producer read.

  StatisticsGen copies the Examples' `span` property, but ExampleGen records
  the span as a custom property, so the copy is always 0: ML Metadata's
  lineage is the reliable record.
  """
  produced = lineage.producers_of(store, [a.id for a in artifacts])
  examples_of = lineage.examples_read_by(
      store, list({execution for _, execution in produced.values()}))
  example_ids = sorted({i for ids in examples_of.values() for i in ids})
  span_by_example = {a.id: lineage.span_of(a)
                     for a in store.get_artifacts_by_id(example_ids)}
  return {
      artifact_id: (key, max([span_by_example.get(i, 0)
                              for i in examples_of.get(execution, [])] or [0]))
      for artifact_id, (key, execution) in produced.items()}


class SpanWindowStrategy(resolver.ResolverStrategy):
  """`history` narrowed to a window of spans anchored on `current`.

  config: `num_spans` (window length), `before_current` (False: the window
  ends with the current span, e.g. the spans to train on; True: it ends just
  before it, e.g. the previous span to compare drift with) and
  `excluded_spans`. Outputs the window under `history`; `current` is left
  empty.
  """

  def __init__(self, num_spans: int = 1, before_current: bool = False,
               excluded_spans: Sequence[int] = ()):
    if num_spans < 1:
      raise ValueError(f'num_spans must be 1 or more, got {num_spans}')
    self._num_spans = num_spans
    self._before_current = before_current
    self._excluded_spans = frozenset(excluded_spans)

  def resolve_artifacts(
      self, store: mlmd.MetadataStore,
      input_dict: Dict[str, List[types.Artifact]]
  ) -> Optional[Dict[str, List[types.Artifact]]]:
    current = input_dict[CURRENT_KEY]
    # The current artifact is not passed on under its own key: ML Metadata
    # keeps one output event per artifact and execution, so the same
    # artifact under two keys would be missing from one of them.
    # LocalDagRunner resolves `current` to this run's artifact alone; TFX's
    # pre-IR launcher (Airflow) to every artifact of that producer, of which
    # this run's is the newest.
    if not current:
      return {CURRENT_KEY: [], HISTORY_KEY: []}
    newest = max(current, key=lambda a: a.id)
    history = input_dict[HISTORY_KEY]
    span = span_of
    if (not newest.has_custom_property(lineage.SPAN_PROPERTY)
        and store is not None):
      # Statistics: the span and the producing output come from lineage;
      # other outputs of the same type (Transform's statistics) are left out.
      recorded = spans_from_lineage(store, [newest] + list(history))
      key = recorded.get(newest.id, ('', 0))[0]
      history = [a for a in history if recorded.get(a.id, ('', 0))[0] == key]
      span = lambda a: recorded.get(a.id, ('', 0))[1]  # pylint: disable=unnecessary-lambda-assignment
    return {CURRENT_KEY: [],
            HISTORY_KEY: select_spans(newest, history, self._num_spans,
                                      self._before_current,
                                      sorted(self._excluded_spans), span)}


def training_examples_of(store: mlmd.MetadataStore,
                         model_ids: Sequence[int]) -> Dict[int, frozenset]:
  """{model id: ids of the Examples its Trainer execution read}."""
  producer = {model_id: execution_id for model_id, (_, execution_id)
              in lineage.producers_of(store, model_ids).items()}
  inputs = lineage.examples_read_by(store, list(set(producer.values())))
  return {model_id: frozenset(inputs.get(execution_id, ()))
          for model_id, execution_id in producer.items()}


def latest_spans(artifacts: Sequence[types.Artifact],
                 num_spans: int) -> List[types.Artifact]:
  """The newest artifact of each of the `num_spans` highest spans."""
  newest: Dict[int, types.Artifact] = {}
  for artifact in sorted(artifacts, key=lambda a: a.id):
    newest[span_of(artifact)] = artifact
  return [newest[span] for span in sorted(newest)[-num_spans:]]


class LatestBlessedModelFromOtherDataStrategy(resolver.ResolverStrategy):
  """The latest blessed `model` not trained on exactly `examples`.

  Inputs: `model`, `model_blessing` (histories) and `examples` (what the
  Trainer reads in this run: `num_spans` spans). Outputs `model` and
  `model_blessing`, empty when there is no such model.
  """

  def __init__(self, num_spans: int = 1):
    self._num_spans = num_spans

  def resolve_artifacts(
      self, store: mlmd.MetadataStore,
      input_dict: Dict[str, List[types.Artifact]]
  ) -> Optional[Dict[str, List[types.Artifact]]]:
    blessings = {
        b.get_int_custom_property(
            evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY): b
        for b in input_dict['model_blessing']
        if b.get_int_custom_property(
            evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 1}
    blessed = [m for m in input_dict['model'] if m.id in blessings]
    # LocalDagRunner passes this run's examples; TFX's pre-IR launcher
    # (Airflow) every Examples artifact of the producer, hence the cut.
    current_examples = frozenset(
        a.id for a in latest_spans(input_dict['examples'], self._num_spans))
    trained_on = training_examples_of(store, [m.id for m in blessed])
    for model in sorted(blessed, key=lambda m: m.id, reverse=True):
      if trained_on.get(model.id) != current_examples:
        return {'model': [model], 'model_blessing': [blessings[model.id]],
                'examples': input_dict['examples']}
    return {'model': [], 'model_blessing': [], 'examples': input_dict['examples']}


class LatestBlessedOtherModelStrategy(resolver.ResolverStrategy):
  """The latest blessed `model` that is not the `candidate`.

  TFX's `LatestBlessedModelStrategy` would give a re-run on unchanged data
  its own (cached) model as the baseline: the Evaluator would then run again
  to compare the model with itself. Inputs: `model`, `model_blessing`
  (histories) and `candidate` (the Trainer's model of this run). Outputs
  `model` and `model_blessing`, empty when there is no other blessed model.
  """

  def resolve_artifacts(
      self, store: mlmd.MetadataStore,
      input_dict: Dict[str, List[types.Artifact]]
  ) -> Optional[Dict[str, List[types.Artifact]]]:
    del store  # everything needed is in the inputs
    # LocalDagRunner passes this run's model; TFX's pre-IR launcher (Airflow)
    # every model the Trainer made, of which this run's is the newest.
    candidates = {max(m.id for m in input_dict['candidate'])} if input_dict[
        'candidate'] else set()
    blessings = {
        b.get_int_custom_property(
            evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY): b
        for b in input_dict['model_blessing']
        if b.get_int_custom_property(
            evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 1}
    others = sorted((m for m in input_dict['model']
                     if m.id in blessings and m.id not in candidates),
                    key=lambda m: m.id)
    # Every input key is an output of the resolver too: TFX reads each one.
    if not others:
      return {'model': [], 'model_blessing': [],
              'candidate': input_dict['candidate']}
    return {'model': [others[-1]], 'model_blessing': [blessings[others[-1].id]],
            'candidate': input_dict['candidate']}
