"""What the pipeline is: `create_pipeline`, its configuration (declared once),
the Evaluator's and the drift check's settings, which orchestrator runs
what, and where the data is."""
