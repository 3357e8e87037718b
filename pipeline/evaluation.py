"""The Evaluator's TFMA configuration: what is measured, on which slices, and
when a candidate is blessed."""

import tensorflow_model_analysis as tfma

import contract
from pipeline.configs import PipelineConfig


def make_eval_config(config: PipelineConfig) -> tfma.EvalConfig:
  """TFMA evaluation of the `test` split, both heads of the model.

  The sentiment head is judged on its probabilities (never logits) and gates
  the blessing; the star-rating head is reported (MAE), not gated.
  """
  accuracy_threshold = tfma.MetricThreshold(
      value_threshold=tfma.GenericValueThreshold(
          lower_bound={'value': config.evaluation.min_accuracy}),
      # Blessed only if no more than `max_accuracy_drop` below the baseline.
      change_threshold=tfma.GenericChangeThreshold(
          direction=tfma.MetricDirection.HIGHER_IS_BETTER,
          absolute={'value': -config.evaluation.max_accuracy_drop}))
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
