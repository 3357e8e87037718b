"""Stops a run before training when the data validators found anomalies."""

from components.validation_gate.component import ValidationGate
from components.validation_gate.executor import DataAnomaliesError
from components.validation_gate.executor import anomalies_of
from components.validation_gate.executor import check_anomalies

__all__ = ['DataAnomaliesError', 'ValidationGate', 'anomalies_of',
           'check_anomalies']
