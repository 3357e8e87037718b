"""A file-based ExampleGen for the IMDB reviews in their official layout."""

from components.imdb_example_gen.component import ImdbExampleGen

__all__ = ['ImdbExampleGen']
