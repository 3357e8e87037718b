"""`create_pipeline`: the IMDB sentiment pipeline, for every orchestrator.

The Evaluator's configuration is in evaluation.py, the drift check's in
drift.py, what each orchestrator runs in orchestrators.py.
"""

from typing import List, Optional, Sequence, Union

import tensorflow_data_validation as tfdv
import tensorflow_model_analysis as tfma
# TFX's own modules rather than its public `tfx.v1`: importing `tfx.v1` also
# imports its Vertex AI and BigQuery extensions (google-cloud-aiplatform),
# about 15 s of every run's start-up for code this pipeline never calls.
from tfx.components import Evaluator
from tfx.components import ExampleValidator
from tfx.components import SchemaGen
from tfx.components import StatisticsGen
from tfx.components import Trainer
from tfx.components import Transform
from tfx.components.distribution_validator.component import (
    DistributionValidator)
from tfx.components.schema_gen.import_schema_gen.component import (
    ImportSchemaGen)
from tfx.dsl.components.base import executor_spec
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.input_resolution.strategies.latest_artifact_strategy import (
    LatestArtifactStrategy)
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy)
from tfx.orchestration import metadata
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.orchestration.data_types import RuntimeParameter
from tfx.proto import pusher_pb2
from tfx.proto import range_config_pb2
from tfx.proto import trainer_pb2
from tfx.proto import transform_pb2
from tfx.types import Channel
from tfx.types import standard_artifacts

import contract
from components import resolvers
from components.distribution_validator import executor as drift_executor
from components.imdb_example_gen.component import ImdbExampleGen
from components.table_example_gen import executor as table_executor
from components.table_example_gen import rows as table_rows
from components.table_example_gen.component import TableExampleGen
from components.pusher import executor as pusher_executor
from components.pusher.component import VersionedPusher
from components.validation_gate import ValidationGate
from pipeline import beam_flags
from pipeline import orchestrators
from pipeline.configs import PipelineConfig
from pipeline.data import DataLocation
# Also the runners' and tests' way to these configurations.
from pipeline.drift import make_drift_checks, make_drift_config  # pylint: disable=unused-import
from pipeline.evaluation import make_eval_config

# TFDV's default top-k and unique-value statistics count every distinct value
# exactly, and every review's text is distinct: StatisticsGen held all the
# text in memory (2.25 GB on 176,000 reviews, 30 s; 0.77 GB and 16 s with the
# sketch). The sketches (Misra-Gries top-k, KMV uniques) are exact while a
# feature has fewer distinct values than their buckets (labels, class names)
# and estimate the rest.
STATS_OPTIONS = tfdv.StatsOptions(use_sketch_based_topk_uniques=True)


def _span_window(config: PipelineConfig, node_id: str, current: Channel,
                 num_spans: int, before_current: bool) -> Resolver:
  """A resolver over every artifact of `current`'s type in the pipeline's
  history, narrowed to a window of spans anchored on the one this run made.

  The history channel names no producer on purpose: one that did would be
  compiled as the producer's output in this run only. Each of these types
  has one producer in the pipeline.
  """
  return Resolver(
      strategy_class=resolvers.SpanWindowStrategy,
      config={'num_spans': num_spans, 'before_current': before_current,
              'excluded_spans': list(config.retraining.excluded_spans)},
      **{resolvers.CURRENT_KEY: current,
         resolvers.HISTORY_KEY: Channel(type=current.type)},
  ).with_id(node_id)


def table_columns(config: PipelineConfig) -> table_rows.TableColumns:
  """Which column of the users' table is what, from the configuration."""
  settings = config.data
  return table_rows.TableColumns(
      text=settings.text_column, label=settings.label_column,
      target=settings.target_column, split=settings.split_column,
      id=settings.id_column, test_percent=settings.test_percent,
      eval_percent=settings.eval_percent,
      min_class_examples=settings.min_class_examples)


def table_classes(config: PipelineConfig, data: DataLocation) -> List[str]:
  """The sorted class names of a table, read (and checked) as the pipeline is
  built: the Transform graph, the model's head and TFMA's per-class metrics
  are sized by them. ExampleGen checks that they are still the same."""
  return table_rows.scan_classes(
      table_executor.table_files(data.input_base, data.train_pattern),
      table_columns(config))


def create_pipeline(
    config: PipelineConfig,
    data: DataLocation,
    beam_pipeline_args: Sequence[str],
    orchestrator: Union[str, orchestrators.Orchestrator] = orchestrators.LOCAL,
    train_args: Optional[Union[trainer_pb2.TrainArgs, RuntimeParameter]] = None,
    eval_config: Optional[Union[tfma.EvalConfig, RuntimeParameter]] = None,
) -> tfx_pipeline.Pipeline:
  """The whole pipeline, ExampleGen to Pusher, as `orchestrator` runs it.

  What each orchestrator runs (drift check, warm start, span window, local
  ML Metadata), and why not the rest, is in pipeline/orchestrators.py.

  Args:
    config: the run's configuration.
    data: what ExampleGen reads; its `input_base` may be a RuntimeParameter.
    beam_pipeline_args: the Beam flags of every Beam component; the runner
      makes them from the Beam profile (orchestration/beam/profiles.py).
      Where the orchestrator takes them at run time (pipeline/
      orchestrators.py), the pipeline holds placeholders instead, and the
      runner runs it inside `beam_flags.in_environment(beam_pipeline_args)`.
    orchestrator: `orchestrators.LOCAL`, `AIRFLOW` or `KUBEFLOW` (or its
      name).
    train_args: defaults to training on `train` by epochs (see settings.py);
      may be a RuntimeParameter (JSON of TrainArgs) on Kubeflow.
    eval_config: defaults to `make_eval_config(config)`; may be a
      RuntimeParameter (JSON of the EvalConfig) on Kubeflow.
  """
  orchestrator = orchestrators.get(orchestrator)
  custom_resolvers = orchestrator.custom_resolvers
  range_config = None
  if data.spans and config.retraining.span is not None:
    range_config = range_config_pb2.RangeConfig(
        static_range=range_config_pb2.StaticRange(
            start_span_number=config.retraining.span, end_span_number=config.retraining.span))
  classes: Optional[List[str]] = None
  if data.is_table:
    classes = table_classes(config, data)
    example_gen = TableExampleGen(
        input_base=data.input_base, pattern=data.train_pattern,
        columns=table_columns(config), classes=classes)
  else:
    example_gen = ImdbExampleGen(
        input_base=data.input_base,
        train_pattern=data.train_pattern,
        test_pattern=data.test_pattern,
        eval_percent=config.data.eval_percent,
        range_config=range_config)
  nodes: List = [example_gen]
  # What the module files learn of the data: the class names of a table.
  data_config = {contract.LABEL_CLASSES_KEY: classes} if classes else {}

  # The examples Transform, Trainer and Evaluator read: the span just
  # ingested, or a window of the latest spans.
  examples = example_gen.outputs['examples']
  if (orchestrator.runs(orchestrators.SPAN_WINDOW) and data.spans
      and config.retraining.span_window > 1):
    span_window = _span_window(config, 'span_window_resolver', examples,
                               config.retraining.span_window, before_current=False)
    nodes.append(span_window)
    examples = span_window.outputs[resolvers.HISTORY_KEY]

  statistics_gen = StatisticsGen(
      examples=example_gen.outputs['examples'],
      stats_options=STATS_OPTIONS)
  if data.is_table and not config.data.schema:
    # The users' columns: inferred from this data (train, eval and test).
    schema_gen = SchemaGen(
        statistics=statistics_gen.outputs['statistics'],
        infer_feature_shape=True)
  else:
    schema_gen = ImportSchemaGen(
        schema_file=config.data.schema if data.is_table
        else config.schema_path)
  example_validator = ExampleValidator(
      statistics=statistics_gen.outputs['statistics'],
      schema=schema_gen.outputs['schema'])
  nodes += [statistics_gen, schema_gen, example_validator]
  gated_anomalies = {'anomalies': example_validator.outputs['anomalies']}
  if orchestrator.runs(orchestrators.DRIFT_CHECK):
    # Drift: the new span's statistics against the previous span's (none on
    # the first span: DistributionValidator then passes it).
    if custom_resolvers:
      previous_statistics = _span_window(
          config, 'previous_span_resolver',
          statistics_gen.outputs['statistics'], 1, before_current=True)
    else:
      # Stock: the latest statistics recorded. StatisticsGen waits for it,
      # so that they are the previous run's, never this run's.
      previous_statistics = Resolver(
          strategy_class=LatestArtifactStrategy,
          **{resolvers.HISTORY_KEY: Channel(
              type=standard_artifacts.ExampleStatistics)},
      ).with_id('previous_run_statistics_resolver')
      statistics_gen.add_upstream_node(previous_statistics)
    distribution_validator = DistributionValidator(
        statistics=statistics_gen.outputs['statistics'],
        baseline_statistics=previous_statistics.outputs[
            resolvers.HISTORY_KEY].as_optional(),
        config=make_drift_config(config, table=data.is_table),
        custom_validation_config=make_drift_checks(config,
                                                   table=data.is_table))
    if orchestrator is orchestrators.KUBEFLOW:
      distribution_validator.executor_spec = executor_spec.ExecutorClassSpec(
          drift_executor.KubeflowExecutor)
    nodes += [previous_statistics, distribution_validator]
    gated_anomalies['drift_anomalies'] = distribution_validator.outputs[
        'anomalies']
  validation_gate = ValidationGate(**gated_anomalies)
  nodes.append(validation_gate)

  transform = Transform(
      examples=examples,
      schema=schema_gen.outputs['schema'],
      module_file=config.preprocessing_module_file,
      custom_config={**config.transform_custom_config, **data_config},
      # Only the vocabulary is learnt from `train`; the Trainer transforms raw
      # examples on the fly, so no transformed copy of the data is written.
      splits_config=transform_pb2.SplitsConfig(analyze=[contract.TRAIN_SPLIT]),
      materialize=False,
      # Its pre- and post-transform statistics are read by nothing here.
      disable_statistics=True)
  transform.add_upstream_node(validation_gate)

  def baseline_resolver(strategy_class, **inputs) -> Resolver:
    return Resolver(
        strategy_class=strategy_class,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(
            type=standard_artifacts.ModelBlessing),
        **inputs).with_id('latest_blessed_model_resolver')

  # With TFX's stock strategy (Kubeflow) the Evaluator's baseline is also
  # the warm-start model, so it is resolved before the Trainer.
  stock_resolver = None if custom_resolvers else baseline_resolver(
      LatestBlessedModelStrategy)

  # Warm start: the latest blessed model trained on other examples than
  # these (on unchanged data the same one as last time, so that a re-run
  # stays cached). The Trainer decides whether its tokenization fits.
  base_model = None
  warm_start = (orchestrator.runs(orchestrators.WARM_START)
                and config.training.warm_start)
  if warm_start and not custom_resolvers:
    # Stock: the latest blessed model, the Evaluator's baseline.
    base_model = stock_resolver.outputs['model']
  elif warm_start:
    base_model_resolver = Resolver(
        strategy_class=resolvers.LatestBlessedModelFromOtherDataStrategy,
        config={'num_spans': config.retraining.span_window if data.spans else 1},
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(
            type=standard_artifacts.ModelBlessing),
        examples=examples,
    ).with_id('warm_start_model_resolver')
    nodes.append(base_model_resolver)
    base_model = base_model_resolver.outputs['model']

  trainer = Trainer(
      module_file=config.module_file,
      examples=examples,
      base_model=base_model,
      transform_graph=transform.outputs['transform_graph'],
      schema=schema_gen.outputs['schema'],
      train_args=train_args or trainer_pb2.TrainArgs(
          splits=[contract.TRAIN_SPLIT]),
      eval_args=trainer_pb2.EvalArgs(splits=[contract.EVAL_SPLIT]),
      custom_config={**config.trainer_custom_config, **data_config})

  # Never the candidate itself: a re-run whose Trainer was cached would
  # otherwise evaluate its model against itself instead of staying cached.
  model_resolver = stock_resolver or baseline_resolver(
      resolvers.LatestBlessedOtherModelStrategy,
      candidate=trainer.outputs['model'])

  evaluator = Evaluator(
      examples=examples,
      model=trainer.outputs['model'],
      baseline_model=model_resolver.outputs['model'],
      example_splits=[contract.TEST_SPLIT],
      eval_config=eval_config or make_eval_config(
          config, classes,
          has_target=not data.is_table or bool(config.data.target_column)))

  pusher = VersionedPusher(
      model=trainer.outputs['model'],
      model_blessing=evaluator.outputs['blessing'],
      model_evaluation=evaluator.outputs['evaluation'],
      examples=examples,
      push_destination=pusher_pb2.PushDestination(
          filesystem=pusher_pb2.PushDestination.Filesystem(
              base_directory=config.serving_dir)),
      custom_config={
          pusher_executor.PUSH_IDENTICAL_KEY: config.retraining.push_identical_model,
          pusher_executor.KEEP_VERSIONS_KEY: config.retraining.keep_versions,
      }).with_id('Pusher')

  nodes += [transform, trainer, model_resolver, evaluator, pusher]
  return tfx_pipeline.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config.pipeline_root,
      components=nodes,
      enable_cache=config.retraining.enable_cache,
      metadata_connection_config=(
          metadata.sqlite_metadata_connection_config(
              config.metadata_path)
          if orchestrator.runs(orchestrators.LOCAL_METADATA) else None),
      beam_pipeline_args=(
          beam_flags.placeholders()
          if orchestrator.beam_flags_at_run_time
          else list(beam_pipeline_args)))
