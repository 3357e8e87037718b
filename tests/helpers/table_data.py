"""Small labelled text tables for tests, generated: binary and three-class,
in CSV (with the awkward cases: quoted commas, doubled quotes, line breaks
inside a text, a byte-order mark, empty lines), JSON Lines and Parquet."""

import csv
import io
import json
import random
from typing import Dict, List, Optional, Sequence

# Cue words per class; the rest of a text is neutral filler.
CUES = {
    'billing': ['invoice', 'refund', 'charged', 'payment', 'receipt'],
    'bug': ['crash', 'error', 'broken', 'freeze', 'exception'],
    'praise': ['thanks', 'love', 'great', 'wonderful', 'perfect'],
}
BINARY_CUES = {'negative': ['awful', 'boring', 'terrible', 'dull', 'worst'],
               'positive': ['great', 'loved', 'superb', 'moving', 'charming']}
_FILLER = ['the', 'app', 'account', 'today', 'and', 'it', 'was', 'my', 'a',
           'this', 'of', 'please', 'team', 'page', 'again']


def generated_text(rng: random.Random, cues: Sequence[str],
                   awkward: bool) -> str:
  words = [rng.choice(_FILLER) for _ in range(rng.randint(10, 30))]
  for _ in range(rng.randint(2, 4)):
    words.insert(rng.randrange(len(words)), rng.choice(cues))
  text = ' '.join(words).capitalize()
  if awkward:
    # What a CSV must quote: a comma, a quote, a line break.
    middle = len(text) // 2
    text = (text[:middle] + ', "really",\n' + text[middle:]
            + '\r\nSecond line, with "quotes".')
  return text


def generated_rows(per_class: int, classes: Dict[str, List[str]] = None,
                   seed: int = 0, target: bool = False) -> List[Dict]:
  """Rows {'text', 'label'[, 'score']}, `per_class` of each class, shuffled;
  every third text needs CSV quoting."""
  classes = classes or CUES
  rng = random.Random(seed)
  rows = []
  for index, (label, cues) in enumerate(sorted(classes.items())):
    for n in range(per_class):
      row = {'text': generated_text(rng, cues, awkward=n % 3 == 0),
             'label': label}
      if target:
        row['score'] = float(index * 3 + rng.random())
      rows.append(row)
  rng.shuffle(rows)
  return rows


def csv_text(rows: List[Dict], columns: Optional[Sequence[str]] = None,
             bom: bool = False, blank_lines: bool = False) -> str:
  columns = list(columns or rows[0])
  out = io.StringIO(newline='')
  writer = csv.writer(out, lineterminator='\r\n')
  writer.writerow(columns)
  for index, row in enumerate(rows):
    writer.writerow([row.get(c, '') for c in columns])
    if blank_lines and index % 10 == 0:
      out.write('\r\n')
  return ('\ufeff' if bom else '') + out.getvalue()


def write_csv(path: str, rows: List[Dict], **options) -> str:
  with open(path, 'w', encoding='utf-8', newline='') as f:
    f.write(csv_text(rows, **options))
  return path


def write_jsonl(path: str, rows: List[Dict], blank_lines: bool = False) -> str:
  with open(path, 'w', encoding='utf-8') as f:
    for index, row in enumerate(rows):
      f.write(json.dumps(row) + '\n')
      if blank_lines and index % 10 == 0:
        f.write('\n')
  return path


def write_parquet(path: str, rows: List[Dict]) -> str:
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
  pq.write_table(pa.Table.from_pylist(rows), path)
  return path


WRITERS = {'csv': write_csv, 'jsonl': write_jsonl, 'parquet': write_parquet}
