"""Stops a run when ExampleValidator found anomalies."""

from components.validation_gate.component import ValidationGate, anomalies_of

__all__ = ['ValidationGate', 'anomalies_of']
