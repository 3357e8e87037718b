"""Imports go one way, and no module imports itself round a cycle.

    runners (local_runner, kubeflow, dags, benchmarks)
      -> orchestration -> pipeline -> components -> models -> contract

A package imports its own modules and those of the layers below it. `runs`
(progress, summary, report) and `serving` read what the pipeline leaves
behind: they import only `contract` (and no TFX), and only the runners import
them (and orchestration's own runner, the Beam stage). Read from the source with `ast`, so imports inside functions count too.
"""

import ast
import os
from typing import Dict, List, Set, Tuple

from helpers import imdb_data

ROOT = imdb_data.PROJECT_ROOT
RUNNERS = ('local_runner', 'kubeflow', 'dags', 'benchmarks')
LAYERS = (RUNNERS, ('orchestration',), ('pipeline',), ('components',),
          ('models',), ('contract',))
READERS = ('runs', 'serving')
PACKAGES = {p for layer in LAYERS for p in layer} | set(READERS)
# Third-party packages a reader must not need: the serving venv has no TFX.
NOT_FOR_READERS = ('tfx',)


def _modules() -> Dict[str, str]:
  """Every module of the project (dotted name -> path), tests aside."""
  modules = {}
  for package in PACKAGES:
    path = os.path.join(ROOT, package)
    if os.path.isfile(path + '.py'):
      modules[package] = path + '.py'
    for folder, _, files in os.walk(path):
      for name in files:
        if name.endswith('.py'):
          relative = os.path.relpath(os.path.join(folder, name), ROOT)[:-3]
          dotted = relative.replace(os.sep, '.')
          modules[dotted.removesuffix('.__init__')] = os.path.join(
              folder, name)
  return modules


def _imports(path: str) -> List[Tuple[str, List[str]]]:
  """(module, names) of each import statement in the file."""
  with open(path, encoding='utf-8') as f:
    tree = ast.parse(f.read(), path)
  found = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found += [(alias.name, []) for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0:
      found.append((node.module, [alias.name for alias in node.names]))
  return found


def _graph(modules: Dict[str, str]) -> Dict[str, Set[str]]:
  """Module -> the project modules it imports (`from a import b` names the
  module a.b where there is one)."""
  graph = {}
  for module, path in modules.items():
    targets = set()
    for imported, names in _imports(path):
      named = [f'{imported}.{n}' for n in names if f'{imported}.{n}' in modules]
      if named:
        targets.update(named)
      elif imported.split('.')[0] in PACKAGES:
        targets.add(imported)
    graph[module] = targets - {module}
  return graph


def _layer(package: str) -> int:
  return next(i for i, layer in enumerate(LAYERS) if package in layer)


def _allowed(importer: str, imported: str) -> bool:
  if importer == imported:
    return True
  if imported in READERS:
    # Runners show progress and summaries; the Beam stage is a runner too.
    return importer in RUNNERS + ('orchestration',)
  if importer in READERS:
    return imported == 'contract'
  return _layer(imported) > _layer(importer)


def test_the_project_has_the_packages_the_rule_names():
  modules = _modules()
  for package in PACKAGES:
    assert any(m.split('.')[0] == package for m in modules), package
  assert 'pipeline.pipeline' in modules and 'models.model' in modules


def test_imports_go_one_way():
  modules = _modules()
  wrong = sorted(
      f'{module} imports {target}'
      for module, targets in _graph(modules).items() for target in targets
      if not _allowed(module.split('.')[0], target.split('.')[0]))
  assert not wrong, '\n'.join(wrong)


def test_readers_do_not_import_tfx():
  wrong = []
  for module, path in _modules().items():
    if module.split('.')[0] in READERS:
      wrong += [f'{module} imports {imported}'
                for imported, _ in _imports(path)
                if imported.split('.')[0] in NOT_FOR_READERS]
  assert not wrong, '\n'.join(wrong)


def _imports_tfx_v1(imported: str, names: List[str]) -> bool:
  return (imported == 'tfx' and 'v1' in names) or imported == 'tfx.v1' or (
      imported.startswith('tfx.v1.'))


def test_no_module_imports_tfx_v1():
  """`tfx.v1` imports TFX's Vertex AI and BigQuery extensions as well
  (google-cloud-aiplatform): about 15 s of every run's start-up. The project
  imports TFX's modules themselves."""
  wrong = [f'{module} imports tfx.v1' for module, path in _modules().items()
           for imported, names in _imports(path)
           if _imports_tfx_v1(imported, names)]
  assert not wrong, '\n'.join(wrong)


def _cycle(graph: Dict[str, Set[str]]) -> List[str]:
  """One import cycle among the modules, or []."""
  state: Dict[str, int] = {}  # 1: on the current path, 2: done
  path: List[str] = []

  def visit(module: str) -> List[str]:
    state[module] = 1
    path.append(module)
    for target in sorted(graph.get(module, ())):
      if state.get(target) == 1:
        return path[path.index(target):] + [target]
      if target not in state:
        found = visit(target)
        if found:
          return found
    state[module] = 2
    path.pop()
    return []

  for module in sorted(graph):
    if module not in state:
      found = visit(module)
      if found:
        return found
  return []


def test_no_import_cycles():
  cycle = _cycle(_graph(_modules()))
  assert not cycle, ' -> '.join(cycle)


def test_the_checks_catch_what_they_are_for():
  """The rule itself: an upward import, a reader importing the pipeline and
  a cycle are all found."""
  assert not _allowed('components', 'pipeline')
  assert not _allowed('serving', 'pipeline')
  assert not _allowed('runs', 'models')
  assert not _allowed('components', 'runs')
  assert _allowed('local_runner', 'runs') and _allowed('pipeline', 'contract')
  assert _cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
  assert _cycle({'a': {'b'}, 'b': set()}) == []
  assert _imports_tfx_v1('tfx', ['v1']) and _imports_tfx_v1('tfx.v1.dsl', [])
  assert not _imports_tfx_v1('tfx.components', ['Trainer'])
