"""The metrics of an Evaluator's artifact, as the project names them.

One reader of TFMA's output, for the Pusher (`release.json`), the run summary
and the run report alike, so that a metric has the same name and value in
all three. TFMA only, no TFX: the read side may use this module.
"""

from typing import Any, Dict, List, Optional, Tuple

import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.writers import eval_config_writer

# The models of an evaluation with a baseline (the latest blessed model).
CANDIDATE = tfma.CANDIDATE_KEY
BASELINE = tfma.BASELINE_KEY

# {slice key: {metric name: value}}; the slice key `()` is the whole split.
MetricsBySlice = Dict[Tuple, Dict[str, float]]


# A multi-class output's per-class F1 scores (TFMA, one class against the
# rest, sub keys `classId:<i>`) are averaged into this, its macro F1.
MACRO_F1 = 'macro_f1_score'
_CLASS_F1 = 'f1_score'


def metric_name(output_name: str, sub_key: str, name: str) -> str:
  """A metric's display name; the output and sub key (class, top-k) are
  prefixed only when the evaluation has them, e.g. `rating/mean_absolute_error`.
  """
  return '/'.join(part for part in (output_name, sub_key, name) if part)


def _macro_f1(metrics_by_output: Dict[str, Any]) -> Dict[str, float]:
  """{'<output>/macro_f1_score': mean} of each output with per-class F1s."""
  found = {}
  for output_name, sub_keys in metrics_by_output.items():
    scores = [float(metrics[_CLASS_F1]['doubleValue'])
              for sub_key, metrics in sub_keys.items()
              if sub_key.startswith('classId:') and 'doubleValue' in
              metrics.get(_CLASS_F1, {})]
    if scores:
      found[metric_name(output_name, '', MACRO_F1)] = sum(scores) / len(
          scores)
  return found


def model_names(evaluation_uri: str) -> List[str]:
  """The models the evaluation holds (none named when there was only one)."""
  _, _, _, model_locations = eval_config_writer.load_eval_run(evaluation_uri)
  return list(model_locations)


def load_evaluation(evaluation_uri: str, model_name: str = CANDIDATE
                    ) -> Optional[Any]:
  """TFMA's EvalResult of one model of an evaluation, None if the evaluation
  has no such model. A single-model evaluation is the candidate's."""
  names = model_names(evaluation_uri)
  if model_name not in names:
    if model_name == CANDIDATE and len(names) <= 1:
      return tfma.load_eval_result(evaluation_uri)
    return None
  return tfma.load_eval_result(evaluation_uri, model_name=model_name)


def slice_metrics(eval_result: Any) -> MetricsBySlice:
  """Every scalar metric of every output of an EvalResult, by slice."""
  by_slice = {}
  for slice_key, metrics_by_output in eval_result.slicing_metrics:
    values = {}
    for output_name, sub_keys in metrics_by_output.items():
      for sub_key, metrics in sub_keys.items():
        for name, value in metrics.items():
          # TFMA's `<metric>_diff` (candidate minus baseline) are left out:
          # both models' own values are at hand.
          if 'doubleValue' in value and not name.endswith('_diff'):
            values[metric_name(output_name, sub_key, name)] = float(
                value['doubleValue'])
    values.update(_macro_f1(metrics_by_output))
    by_slice[tuple(slice_key)] = values
  return by_slice


def evaluation_metrics(evaluation_uri: str, model_name: str = CANDIDATE
                       ) -> MetricsBySlice:
  """{slice key: {metric name: value}} of one model of an evaluation; empty
  if the evaluation has no such model."""
  result = load_evaluation(evaluation_uri, model_name)
  return slice_metrics(result) if result is not None else {}


def overall_metrics(evaluation_uri: str, model_name: str = CANDIDATE
                    ) -> Dict[str, float]:
  """One model's metrics on the whole evaluated split; empty if absent."""
  return evaluation_metrics(evaluation_uri, model_name).get((), {})
