"""What several tests use: generated data, pipeline runs, fakes."""
