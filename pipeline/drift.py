"""The drift check: each span against the previous one, as DistributionValidator
runs it (TFDV custom validations over the two spans' statistics)."""

from tfx.proto import distribution_validator_pb2
from tensorflow_data_validation.anomalies.proto import custom_validation_config_pb2
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tensorflow_metadata.proto.v0 import path_pb2
from tensorflow_metadata.proto.v0 import schema_pb2

import contract
from pipeline.configs import PipelineConfig


def make_drift_config(config: PipelineConfig, table: bool = False
                      ) -> distribution_validator_pb2.DistributionValidatorConfig:
  """DistributionValidator's own comparators: none for IMDB, whose checks
  are the custom validations of `make_drift_checks` (plain thresholds). A
  table's label is a class name: its distribution is compared by TFDV's
  L-infinity distance between the two class histograms (the largest change
  in any one class's share), at the same threshold."""
  if not table:
    return distribution_validator_pb2.DistributionValidatorConfig()
  return distribution_validator_pb2.DistributionValidatorConfig(
      default_slice_config=distribution_validator_pb2
      .DistributionValidatorConfig.DatasetConfig(feature=[
          distribution_validator_pb2.FeatureComparator(
              path=path_pb2.Path(step=[contract.LABEL_KEY]),
              distribution_comparator=schema_pb2.FeatureComparator(
                  infinity_norm=schema_pb2.InfinityNorm(
                      threshold=config.retraining.max_label_drift)))]))


def _pair_check(feature: str, sql: str, description: str
                ) -> custom_validation_config_pb2.FeaturePairValidation:
  path = path_pb2.Path(step=[feature])
  return custom_validation_config_pb2.FeaturePairValidation(
      feature_test_path=path, feature_base_path=path,
      validations=[custom_validation_config_pb2.Validation(
          sql_expression=sql, severity=anomalies_pb2.AnomalyInfo.ERROR,
          description=description)])


def make_drift_checks(config: PipelineConfig, table: bool = False
                      ) -> custom_validation_config_pb2.CustomValidationConfig:
  """The new span against the previous one, as TFDV custom validations over
  the two spans' statistics (SQL on FeatureNameStatistics).

  - Label distribution: for a 0/1 label the L-infinity distance between the
    two label histograms is the change in the share of positive reviews,
    which is the change in the label's mean.
  - Review length: the mean length in characters, as a relative change.

  A table's label is checked by `make_drift_config` instead.
  """
  change = config.retraining.max_length_change
  low, high = 1 - change, 1 + change
  length_check = _pair_check(
      contract.TEXT_KEY,
      'feature_test.string_stats.avg_length BETWEEN '
      f'feature_base.string_stats.avg_length * {low:g} AND '
      f'feature_base.string_stats.avg_length * {high:g}',
      'mean review length changed by more than '
      f'{change:.0%} from the previous span')
  if table:
    # The label's drift is make_drift_config's comparator.
    return custom_validation_config_pb2.CustomValidationConfig(
        feature_pair_validations=[length_check])
  return custom_validation_config_pb2.CustomValidationConfig(
      feature_pair_validations=[
          _pair_check(
              contract.LABEL_KEY,
              'ABS(feature_test.num_stats.mean - feature_base.num_stats.mean)'
              f' <= {config.retraining.max_label_drift:g}',
              'share of positive reviews moved by more than '
              f'{config.retraining.max_label_drift:g} from the previous span'),
          length_check,
      ])
