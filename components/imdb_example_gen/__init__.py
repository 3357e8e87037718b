"""A file-based ExampleGen for the IMDB reviews in their official layout.

`component.ImdbExampleGen` is the component; `layout` (pure Python) and
`reviews` are importable without TFX.
"""
