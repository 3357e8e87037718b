"""Module files for Transform (`preprocessing.py`) and Trainer (`model.py`).

TFX packages every `.py` file of this directory into a wheel for each run, so
the wheel's version (and with it the cache key of Transform and Trainer)
changes whenever any of these files changes.
"""
