"""The run report's HTML: its sections, tables, embedded figures and page.

The page stands alone: figures are embedded as data URIs (and written
beside it as PNG files too, to be looked at or linked one by one).
"""

import base64
import html
import os
from typing import Dict, List, Sequence

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1em 0; } img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; }
.missing { color: #a00; } .outcome { font-size: 1.1em; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


class Report:
  """Sections of HTML and the PNG figures they embed."""

  def __init__(self, directory: str):
    self.directory = directory
    self.sections: List[str] = []
    self.figures: Dict[str, str] = {}  # file name -> path

  def add(self, html_text: str) -> None:
    self.sections.append(html_text)

  def figure(self, png: bytes, name: str, caption: str) -> None:
    """Writes `png` as <name>.png beside the page and embeds it."""
    path = os.path.join(self.directory, f'{name}.png')
    with open(path, 'wb') as f:
      f.write(png)
    self.figures[f'{name}.png'] = path
    encoded = base64.b64encode(png).decode('ascii')
    self.add(f'<figure><img alt="{html.escape(caption)}" '
             f'data-file="{name}.png" src="data:image/png;base64,{encoded}">'
             f'<figcaption>{html.escape(caption)}</figcaption></figure>')

  def missing(self, what: str) -> None:
    """Says that an artifact a section needs is not there."""
    self.add(f'<p class="missing">{html.escape(what)}: not in this run\'s '
             'artifacts.</p>')

  def page(self, title: str) -> str:
    """The whole HTML document."""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8">'
            f'<title>{html.escape(title)}</title><style>{_STYLE}</style>'
            f'</head><body><h1>{html.escape(title)}</h1>'
            + '\n'.join(self.sections) + '</body></html>')


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
  """An HTML table; every cell escaped."""
  head = ''.join(f'<th>{html.escape(str(h))}</th>' for h in header)
  body = ''.join(
      '<tr>' + ''.join(f'<td>{html.escape(str(c))}</td>' for c in row)
      + '</tr>' for row in rows)
  return f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
