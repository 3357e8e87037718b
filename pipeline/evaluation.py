"""The Evaluator's TFMA configuration: what is measured, on which slices, and
when a candidate is blessed."""

import json
from typing import Optional, Sequence

import tensorflow_model_analysis as tfma

import contract
from pipeline.configs import PipelineConfig


def _accuracy_threshold(config: PipelineConfig) -> tfma.MetricThreshold:
  return tfma.MetricThreshold(
      value_threshold=tfma.GenericValueThreshold(
          lower_bound={'value': config.evaluation.min_accuracy}),
      # Blessed only if no more than `max_accuracy_drop` below the baseline.
      change_threshold=tfma.GenericChangeThreshold(
          direction=tfma.MetricDirection.HIGHER_IS_BETTER,
          absolute={'value': -config.evaluation.max_accuracy_drop}))


def make_eval_config(config: PipelineConfig,
                     classes: Optional[Sequence[str]] = None,
                     has_target: bool = True) -> tfma.EvalConfig:
  """TFMA evaluation of the `test` split, both heads of the model.

  The sentiment head is judged on its probabilities (never logits) and gates
  the blessing; the star-rating head is reported (MAE), not gated.

  With a table's `classes`: `make_table_eval_config`.
  """
  if classes:
    return make_table_eval_config(config, classes, has_target)
  accuracy_threshold = _accuracy_threshold(config)
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(
          signature_name=contract.EXAMPLES_SIGNATURE,
          # Model output -> the raw feature that is its label.
          label_keys={contract.PROBABILITY_OUTPUT_KEY: contract.LABEL_KEY,
                      contract.RATING_OUTPUT_KEY: contract.RATING_KEY},
          # Exposes the transformed `length_bucket` for slicing.
          preprocessing_function_names=[contract.TRANSFORM_SIGNATURE])],
      slicing_specs=[
          tfma.SlicingSpec(),
          tfma.SlicingSpec(feature_keys=[contract.RATING_KEY]),
          tfma.SlicingSpec(feature_keys=[contract.LENGTH_BUCKET_KEY]),
      ],
      metrics_specs=[
          tfma.MetricsSpec(
              output_names=[contract.PROBABILITY_OUTPUT_KEY],
              metrics=[
                  tfma.MetricConfig(class_name='ExampleCount'),
                  # Gate on the whole split only: small slices are too noisy
                  # to veto.
                  tfma.MetricConfig(
                      class_name='BinaryAccuracy',
                      per_slice_thresholds=[tfma.PerSliceMetricThreshold(
                          slicing_specs=[tfma.SlicingSpec()],
                          threshold=accuracy_threshold)]),
                  tfma.MetricConfig(class_name='AUC'),
                  tfma.MetricConfig(class_name='Precision'),
                  tfma.MetricConfig(class_name='Recall'),
                  tfma.MetricConfig(class_name='Calibration'),
                  tfma.MetricConfig(class_name='MeanLabel'),
                  tfma.MetricConfig(class_name='MeanPrediction'),
                  tfma.MetricConfig(class_name='CalibrationPlot'),
                  tfma.MetricConfig(class_name='ConfusionMatrixPlot'),
              ]),
          tfma.MetricsSpec(
              output_names=[contract.RATING_OUTPUT_KEY],
              metrics=[
                  tfma.MetricConfig(class_name='MeanAbsoluteError'),
                  tfma.MetricConfig(class_name='MeanSquaredError'),
              ]),
      ])


def _predicted_class_metric(class_name: str) -> tfma.MetricConfig:
  """A one-class-against-the-rest metric where the model predicts a class
  when it is its most probable one (top 1), as the served `label` does, not
  when its probability passes 0.5."""
  return tfma.MetricConfig(class_name=class_name,
                           config=json.dumps({'top_k': 1}))


def make_table_eval_config(config: PipelineConfig, classes: Sequence[str],
                           has_target: bool) -> tfma.EvalConfig:
  """The multi-class metrics of a table model's `probabilities`: accuracy
  (which gates the blessing, as for IMDB), each class's precision, recall
  and F1 (one class against the rest; their mean is the macro F1) and the
  confusion matrix; the target's head, if any, is reported (MAE).

  The label TFMA compares with is the class index the Transform graph makes
  of the class name (`transform_features`), not the raw name.
  """
  label_keys = {contract.PROBABILITIES_OUTPUT_KEY: contract.LABEL_KEY}
  if has_target:
    label_keys[contract.RATING_OUTPUT_KEY] = contract.RATING_KEY
  every_class = list(range(len(classes)))
  metrics_specs = [
      tfma.MetricsSpec(
          output_names=[contract.PROBABILITIES_OUTPUT_KEY],
          metrics=[
              tfma.MetricConfig(class_name='ExampleCount'),
              tfma.MetricConfig(
                  class_name='SparseCategoricalAccuracy',
                  per_slice_thresholds=[tfma.PerSliceMetricThreshold(
                      slicing_specs=[tfma.SlicingSpec()],
                      threshold=_accuracy_threshold(config))]),
              tfma.MetricConfig(class_name='MultiClassConfusionMatrixPlot'),
          ]),
      tfma.MetricsSpec(
          output_names=[contract.PROBABILITIES_OUTPUT_KEY],
          binarize=tfma.BinarizationOptions(class_ids={'values': every_class}),
          # TFMA's macro average cannot take top_k metrics (its children's
          # keys lack the top_k); the macro F1 is the mean of these per-class
          # F1 scores (contract/evaluation.py).
          metrics=[_predicted_class_metric('Precision'),
                   _predicted_class_metric('Recall'),
                   _predicted_class_metric('F1Score')]),
  ]
  if has_target:
    metrics_specs.append(tfma.MetricsSpec(
        output_names=[contract.RATING_OUTPUT_KEY],
        metrics=[tfma.MetricConfig(class_name='MeanAbsoluteError')]))
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(
          signature_name=contract.EXAMPLES_SIGNATURE,
          label_keys=label_keys,
          preprocessing_function_names=[contract.TRANSFORM_SIGNATURE])],
      slicing_specs=[
          tfma.SlicingSpec(),
          tfma.SlicingSpec(feature_keys=[contract.LENGTH_BUCKET_KEY]),
      ],
      metrics_specs=metrics_specs)
