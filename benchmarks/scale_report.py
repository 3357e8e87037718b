"""`make bench-scale`'s table and plot, from its result (benchmarks.scale)."""

from typing import Any, Dict, List

MILLION = 1_000_000
TOTAL = 'total'
# Issue 14: a million reviews in under half an hour and 3 GB on this machine.
TARGETS = {'cpu_ms_per_review': 1.5, 'peak_rss_kb_per_review': 0.5}


def _mb(value: float) -> float:
  return value / 2**20


def _rows(run: Dict[str, Any]) -> List[str]:
  lines = []
  for name, f in run['components'].items():
    lines.append(f'    {name:<28} {f["wall_seconds"]:9.1f} '
                 f'{f["cpu_seconds"]:9.1f} {_mb(f["peak_rss_bytes"]):10.0f}')
  return lines


def _per_review(value, scale: float) -> str:
  return f'{"—":>10}' if value is None else f'{value * scale:10.3f}'


def _fixed(value, scale: float = 1.0) -> str:
  return f'{"—":>9}' if value is None else f'{value * scale:9.1f}'


def format_table(r: Dict[str, Any]) -> str:
  lines = [f'Scale benchmark on {r["data"]} ({r["cpus"]} CPUs)'
           + (f', pipeline flags {" ".join(r["pipeline_args"])}'
              if r['pipeline_args'] else '')]
  for run in r['runs']:
    lines.append(f'  {run["factor"]}x: {run["reviews"]:,} reviews')
    lines.append(f'    {"component":<28} {"wall s":>9} {"CPU s":>9} '
                 f'{"peak RSS MB":>10}')
    lines += _rows(run)
  lines.append('  Fitted over the factors: cost = fixed + per review x '
               'reviews')
  lines.append(f'    {"component":<28} {"wall s":>9} {"ms/review":>10} '
               f'{"CPU s":>9} {"ms/review":>10} {"RSS MB":>9} '
               f'{"KB/review":>10}')
  for name, fit in r['fits'].items():
    wall, cpu, rss = (fit['wall_seconds'], fit['cpu_seconds'],
                      fit['peak_rss_bytes'])
    lines.append(
        f'    {name:<28} {_fixed(wall["fixed"])} '
        f'{_per_review(wall["per_review"], 1e3)} {_fixed(cpu["fixed"])} '
        f'{_per_review(cpu["per_review"], 1e3)} '
        f'{_fixed(rss["fixed"], 2**-20)} '
        f'{_per_review(rss["per_review"], 2**-10)}')
  total = r['fits'].get(TOTAL)
  if total and total['wall_seconds']['fixed'] is not None:
    wall, cpu, rss = (total['wall_seconds'], total['cpu_seconds'],
                      total['peak_rss_bytes'])
    lines.append(f'  At {MILLION:,} reviews (extrapolated): wall '
                 f'{wall["at_million"] / 60:.0f} min, CPU '
                 f'{cpu["at_million"] / 60:.0f} min, peak RSS '
                 f'{rss["at_million"] / 2**30:.2f} GB')
    targets = r['targets']
    lines.append(
        f'  Per further review: CPU {cpu["per_review"] * 1e3:.3f} ms '
        f'(target ≤ {targets["cpu_ms_per_review"]}), peak RSS '
        f'{rss["per_review"] / 2**10:.3f} KB (target ≤ '
        f'{targets["peak_rss_kb_per_review"]})')
  for form, ingest in r['ingest'].items():
    example_gen, count = ingest['example_gen'], ingest['reviews']
    how = ('ExampleGen alone on the directory' if form == 'directory'
           else f'ExampleGen of the {r["ingest_factor"]}x run on the {form}')
    lines.append(
        f'  {how} ({r["ingest_factor"]}x, '
        f'{count:,} reviews): {example_gen["wall_seconds"]:.1f} s wall '
        f'({example_gen["wall_seconds"] / count * 1e3:.3f} ms/review), '
        f'{example_gen["cpu_seconds"]:.1f} s CPU '
        f'({example_gen["cpu_seconds"] / count * 1e3:.3f} ms/review)')
  return '\n'.join(lines)


def plot(r: Dict[str, Any], path: str) -> str:
  """Wall seconds and peak RSS against reviews, per component and for the
  run, with the fitted lines; the PNG's path."""
  # pylint: disable=g-import-not-at-top
  import matplotlib
  matplotlib.use('Agg')
  from matplotlib import pyplot
  # pylint: enable=g-import-not-at-top
  figure, (wall_axes, rss_axes) = pyplot.subplots(1, 2, figsize=(12, 5))
  reviews = [run['reviews'] for run in r['runs']]
  span = [0, max(reviews) * 1.05]
  for name, fit in r['fits'].items():
    walls = [run['components'][name]['wall_seconds'] for run in r['runs']]
    if name != TOTAL and max(walls) < 0.05 * max(
        run['components'][TOTAL]['wall_seconds'] for run in r['runs']):
      continue  # a component too short to see on this scale
    points = wall_axes.plot(reviews, walls, 'o', label=name)[0]
    line = fit['wall_seconds']
    if line['fixed'] is not None:
      wall_axes.plot(span, [line['fixed'] + line['per_review'] * x
                            for x in span], '-', color=points.get_color(),
                     linewidth=2 if name == TOTAL else 1)
  rss = [_mb(run['components'][TOTAL]['peak_rss_bytes'])
         for run in r['runs']]
  rss_axes.plot(reviews, rss, 'o', label='run (process tree)')
  rss_axes.set_ylim(0, max(rss) * 1.15)
  line = r['fits'][TOTAL]['peak_rss_bytes']
  if line['fixed'] is not None:
    rss_axes.plot(span, [_mb(line['fixed'] + line['per_review'] * x)
                         for x in span], '-')
  wall_axes.set(xlabel='reviews', ylabel='wall seconds',
                title='Wall time, with least-squares lines')
  rss_axes.set(xlabel='reviews', ylabel='peak RSS (MB)',
               title='Peak resident memory of the run')
  wall_axes.legend(fontsize='small')
  rss_axes.legend(fontsize='small')
  wall_axes.set_ylim(bottom=0)
  for axes in (wall_axes, rss_axes):
    axes.set_xlim(left=0)
    axes.grid(alpha=0.3)
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  pyplot.close(figure)
  return path
