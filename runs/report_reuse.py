"""Sections of an earlier run report, reused when they would come out the same.

A re-run with nothing new executes no component: every artifact it reads is
one an earlier run already reported on. The sections drawn from artifacts
alone (data, evaluation, explanations: most of a report's time, for
tokenizing reviews, loading the model and drawing) would come out the same,
so they are taken from that report instead of being computed again. What
belongs to this run (which components ran, what was pushed, the warm start)
is always written anew.

The key is every artifact the run read or wrote (id and URI) and the
versions in the serving directory (the baseline is named by its version).
Each report saves its reusable sections with their key beside report.html.
"""

import json
import os
import shutil
from typing import Dict, List, Optional, Tuple

from runs.summary import RunSummary

SECTIONS_FILE = 'report-sections.json'
# The key alone, beside the sections (which embed their figures, about
# 400 KB): looking for a match reads only these small files.
KEY_FILE = 'report-sections.key'


def key_of(run: RunSummary, serving_dir: str) -> str:
  """What the reusable sections are computed from, as one string."""
  artifacts = sorted(
      [side, component, key, record.id, record.uri]
      for side, by_component in (('in', run.inputs), ('out', run.outputs))
      for component, by_key in by_component.items()
      for key, records in by_key.items() for record in records)
  versions = (sorted(os.listdir(serving_dir))
              if os.path.isdir(serving_dir) else [])
  return json.dumps({'artifacts': artifacts, 'serving_versions': versions})


Sections = Dict[str, List[str]]  # {group name: its sections' HTML}


def find(runs_root: str, key: str, exclude: str
         ) -> Optional[Tuple[str, Sections, List[str]]]:
  """The newest report under `runs_root` (not `exclude`) saved with `key`:
  (its directory, its reusable sections, their figure files), or None."""
  if not os.path.isdir(runs_root):
    return None
  for name in sorted(os.listdir(runs_root), reverse=True):
    directory = os.path.join(runs_root, name)
    if os.path.abspath(directory) == os.path.abspath(exclude):
      continue
    try:
      with open(os.path.join(directory, KEY_FILE), encoding='utf-8') as f:
        if f.read() != key:
          continue
      with open(os.path.join(directory, SECTIONS_FILE),
                encoding='utf-8') as f:
        saved = json.load(f)
    except (OSError, ValueError):
      continue  # no saved sections (an older report), or unreadable
    figures = saved.get('figures', [])
    if saved.get('key') == key and all(
        os.path.isfile(os.path.join(directory, f)) for f in figures):
      return directory, saved['sections'], figures
  return None


def save(run_dir: str, key: str, sections: Sections,
         figures: List[str]) -> None:
  with open(os.path.join(run_dir, SECTIONS_FILE), 'w', encoding='utf-8') as f:
    json.dump({'key': key, 'sections': sections, 'figures': figures}, f)
  with open(os.path.join(run_dir, KEY_FILE), 'w', encoding='utf-8') as f:
    f.write(key)


def copy_figures(source_dir: str, figures: List[str], run_dir: str) -> None:
  """The reused sections' PNGs beside this report too (they are embedded in
  the HTML as well; the files are there to be looked at one by one)."""
  for name in figures:
    shutil.copyfile(os.path.join(source_dir, name),
                    os.path.join(run_dir, name))
