"""`create_pipeline`: the IMDB sentiment pipeline, for every orchestrator.

Named `imdb_pipeline` rather than `pipeline.py`: the TFX CLI puts this
directory first on sys.path when it loads a runner, and a `pipeline.py` here
would shadow the `pipeline` package itself.
"""

from typing import List, Optional, Union

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx

from tfx.dsl.components.base import executor_spec
from tfx.orchestration.data_types import RuntimeParameter

from components.imdb_example_gen.component import ImdbExampleGen
from components.model import contract
from components.pusher import executor as pusher_executor
from components.validation_gate import ValidationGate
from pipeline.config import PipelineConfig
from pipeline.data import DataLocation


def make_eval_config(config: PipelineConfig) -> tfma.EvalConfig:
  """TFMA evaluation of the `test` split, both heads of the model.

  The sentiment head is judged on its probabilities (never logits) and gates
  the blessing; the star-rating head is reported (MAE), not gated.
  """
  accuracy_threshold = tfma.MetricThreshold(
      value_threshold=tfma.GenericValueThreshold(
          lower_bound={'value': config.min_accuracy}),
      # Blessed only if no more than `max_accuracy_drop` below the baseline.
      change_threshold=tfma.GenericChangeThreshold(
          direction=tfma.MetricDirection.HIGHER_IS_BETTER,
          absolute={'value': -config.max_accuracy_drop}))
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


def create_pipeline(
    config: PipelineConfig,
    data: DataLocation,
    train_args: Optional[Union[tfx.proto.TrainArgs, RuntimeParameter]] = None,
    local_metadata: bool = True) -> tfx.dsl.Pipeline:
  """The whole pipeline, ExampleGen to Pusher, for every orchestrator.

  Args:
    config: the run's configuration.
    data: what ExampleGen reads; its `input_base` may be a RuntimeParameter.
    train_args: defaults to training on `train` by epochs (see settings.py);
      may be a RuntimeParameter (JSON of TrainArgs) on Kubeflow.
    local_metadata: use the SQLite ML Metadata store under the output
      directory; orchestrators with their own store (Kubeflow) pass False.
  """
  example_gen = ImdbExampleGen(
      input_base=data.input_base,
      train_pattern=data.train_pattern,
      test_pattern=data.test_pattern,
      eval_percent=config.eval_percent)

  statistics_gen = tfx.components.StatisticsGen(
      examples=example_gen.outputs['examples'])
  schema_gen = tfx.components.ImportSchemaGen(schema_file=config.schema_path)
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics_gen.outputs['statistics'],
      schema=schema_gen.outputs['schema'])
  validation_gate = ValidationGate(
      anomalies=example_validator.outputs['anomalies'])

  transform = tfx.components.Transform(
      examples=example_gen.outputs['examples'],
      schema=schema_gen.outputs['schema'],
      module_file=config.preprocessing_module_file,
      custom_config=config.transform_custom_config,
      # Only the vocabulary is learnt from `train`; the Trainer transforms raw
      # examples on the fly, so no transformed copy of the data is written.
      splits_config=tfx.proto.SplitsConfig(analyze=[contract.TRAIN_SPLIT]),
      materialize=False)
  transform.add_upstream_node(validation_gate)

  trainer = tfx.components.Trainer(
      module_file=config.module_file,
      examples=example_gen.outputs['examples'],
      transform_graph=transform.outputs['transform_graph'],
      schema=schema_gen.outputs['schema'],
      train_args=train_args or tfx.proto.TrainArgs(
          splits=[contract.TRAIN_SPLIT]),
      eval_args=tfx.proto.EvalArgs(splits=[contract.EVAL_SPLIT]),
      custom_config=config.trainer_custom_config)

  model_resolver = tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
      model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
      model_blessing=tfx.dsl.Channel(
          type=tfx.types.standard_artifacts.ModelBlessing),
  ).with_id('latest_blessed_model_resolver')

  evaluator = tfx.components.Evaluator(
      examples=example_gen.outputs['examples'],
      model=trainer.outputs['model'],
      baseline_model=model_resolver.outputs['model'],
      example_splits=[contract.TEST_SPLIT],
      eval_config=make_eval_config(config))

  pusher = tfx.components.Pusher(
      model=trainer.outputs['model'],
      model_blessing=evaluator.outputs['blessing'],
      push_destination=tfx.proto.PushDestination(
          filesystem=tfx.proto.PushDestination.Filesystem(
              base_directory=config.serving_dir)),
      custom_config={
          pusher_executor.PUSH_IDENTICAL_KEY: config.push_identical_model},
      custom_executor_spec=executor_spec.ExecutorClassSpec(
          pusher_executor.Executor))

  components: List = [
      example_gen, statistics_gen, schema_gen, example_validator,
      validation_gate, transform, trainer, model_resolver, evaluator, pusher,
  ]
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config.pipeline_root,
      components=components,
      enable_cache=config.enable_cache,
      metadata_connection_config=(
          tfx.orchestration.metadata.sqlite_metadata_connection_config(
              config.metadata_path) if local_metadata else None),
      beam_pipeline_args=config.beam_pipeline_args)
