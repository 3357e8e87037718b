"""Pipeline configuration, `create_pipeline` and the runners."""
