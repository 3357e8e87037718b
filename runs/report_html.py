"""The run report's HTML: its sections, tables, embedded figures and page.

The page stands alone: figures are embedded as data URIs (and written
beside it as PNG files too, to be looked at or linked one by one).
"""

import base64
import html
import os
from typing import Dict, List, Sequence, Tuple

# The page's content width, and that of a figure in a row of two: figures
# are drawn at these widths (report_plots.py), so that the browser shows
# them pixel for pixel and their text is as large as drawn.
PAGE_WIDTH_PX = 1100
GAP_PX = 20
HALF_WIDTH_PX = (PAGE_WIDTH_PX - GAP_PX) // 2

_STYLE = f"""
body {{ font-family: system-ui, sans-serif; max-width: {PAGE_WIDTH_PX}px;
       margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.8em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
figure {{ margin: 1em 0; }} img {{ max-width: 100%; }}
.row {{ display: flex; gap: {GAP_PX}px; align-items: flex-start; }}
.row figure {{ width: {HALF_WIDTH_PX}px; }}
figcaption {{ color: #555; font-size: 0.9em; }}
.missing {{ color: #a00; }} .outcome {{ font-size: 1.1em; }}
code {{ background: #f4f4f4; padding: 0 0.2em; }}
.pos {{ color: #1a7f37; }} .neg {{ color: #c62828; }}
.review {{ font-style: italic; color: #444; }}
"""


class Report:
  """Sections of HTML and the PNG figures they embed."""

  def __init__(self, directory: str):
    self.directory = directory
    self.sections: List[str] = []
    self.figures: Dict[str, str] = {}  # file name -> path

  def add(self, html_text: str) -> None:
    self.sections.append(html_text)

  def _figure_html(self, png: bytes, name: str, caption: str) -> str:
    """Writes `png` as <name>.png beside the page; its <figure>."""
    path = os.path.join(self.directory, f'{name}.png')
    with open(path, 'wb') as f:
      f.write(png)
    self.figures[f'{name}.png'] = path
    encoded = base64.b64encode(png).decode('ascii')
    return (f'<figure><img alt="{html.escape(caption)}" '
            f'data-file="{name}.png" src="data:image/png;base64,{encoded}">'
            f'<figcaption>{html.escape(caption)}</figcaption></figure>')

  def figure(self, png: bytes, name: str, caption: str) -> None:
    """Embeds a figure as wide as the page (PAGE_WIDTH_PX)."""
    self.add(self._figure_html(png, name, caption))

  def figure_row(self, figures: Sequence[Tuple[bytes, str, str]]) -> None:
    """Embeds (png, name, caption) figures side by side, each
    HALF_WIDTH_PX wide."""
    self.add('<div class="row">' + ''.join(
        self._figure_html(*figure) for figure in figures) + '</div>')

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
