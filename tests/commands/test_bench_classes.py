"""bench-classes' own parts: the star classes and the CSV export of the
archive (the pipeline and the baselines run in `make bench-classes`)."""

import csv

import pytest

from helpers import imdb_data
from benchmarks import classes
from components.table_example_gen import rows


def test_star_ratings_make_four_classes():
  assert [classes.star_class(r) for r in (1, 2, 3, 4, 7, 8, 9, 10)] == [
      '1-2 stars', '1-2 stars', '3-4 stars', '3-4 stars', '7-8 stars',
      '7-8 stars', '9-10 stars', '9-10 stars']
  with pytest.raises(ValueError, match='rating 5 is in no star class'):
    classes.star_class(5)


def test_the_archive_exports_to_a_table_the_pipeline_reads(tmp_path):
  archive = imdb_data.write_archive(
      str(tmp_path / 'imdb.tar.gz'),
      imdb_data.generated_corpus({'train': 60, 'test': 10}, seed=1))
  path = str(tmp_path / 'reviews.csv')
  counts = classes.export_csv(archive, path)
  assert counts['test'] == 20 and counts['train'] + counts['eval'] == 120
  assert 0 < counts['eval'] < 40
  with open(path, encoding='utf-8', newline='') as f:
    exported = list(csv.DictReader(f))
  assert len(exported) == 140
  for row in exported:
    assert row['stars'] == classes.star_class(int(row['rating']))
  columns = rows.TableColumns(label='stars', target='rating', split='split',
                              id='id', min_class_examples=1)
  found = rows.scan_classes([path], columns)
  assert set(found) <= {name for _, _, name in classes.STAR_CLASSES}
  assert len(found) >= 2


def test_macro_f1_is_the_mean_over_the_classes():
  assert classes.macro_f1([0, 1, 2, 2], [0, 1, 2, 2], 3) == 1.0
  # Always the majority class: F1 0 for the two others.
  assert classes.macro_f1([0, 1, 2, 2], [2, 2, 2, 2], 3) == pytest.approx(
      (0 + 0 + 2 * 0.5 * 1 / 1.5) / 3)
