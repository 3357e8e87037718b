"""Serving a pushed model: the local model server, `predict` and `verify`."""
