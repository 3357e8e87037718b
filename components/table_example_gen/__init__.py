"""A file-based ExampleGen for a labelled text table (CSV, JSON Lines,
Parquet): the users' own data beside the IMDB layout.

`component.TableExampleGen` is the component; `formats` and `rows` read and
check tables without TFX.
"""
