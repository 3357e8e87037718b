"""Kubeflow Pipelines: compile, submit and schedule the same pipeline."""
