"""Stops a run when ExampleValidator found anomalies."""

from components.validation_gate.component import DataAnomaliesError
from components.validation_gate.component import ValidationGate
from components.validation_gate.component import anomalies_of
from components.validation_gate.component import check_anomalies

__all__ = ['DataAnomaliesError', 'ValidationGate', 'anomalies_of',
           'check_anomalies']
