"""Settings declared once: a dataclass field carries its flag, environment
variable, default and help, and the command line is derived from it.

    @dataclasses.dataclass
    class EvaluationSettings:
      min_accuracy: float = setting(0.80, 'Bless only at this accuracy.')

`add_arguments(parser, EvaluationSettings, title=...)` adds `--min-accuracy`
(with its default and help) to an argument group; `build(EvaluationSettings,
args)` makes the instance from the parsed arguments. A setting with `env`
takes its default from that environment variable; flags win over it. Pure
Python: parsing the command line imports no TensorFlow.
"""

import argparse
import dataclasses
from typing import Any, Callable, List, Mapping, Optional, Sequence

_KEY = 'setting'


@dataclasses.dataclass(frozen=True)
class Setting:
  """How one configuration field reaches the command line."""
  help: str
  env: Optional[str] = None
  # A flag of its own (default: --<field-name>); '' for no flag at all.
  flag: Optional[str] = None
  short: Optional[str] = None
  # Text (flag value or environment variable) -> value.
  parse: Optional[Callable[[str], Any]] = None
  choices: Optional[Sequence[str]] = None
  metavar: Optional[str] = None
  # Repeatable flag; the environment variable holds space-separated values.
  repeated: bool = False
  # Parsed value -> the field's value (e.g. a path made absolute).
  finish: Optional[Callable[[Any], Any]] = None
  # Anything else argparse needs for this flag (e.g. nargs, const).
  argparse_options: Mapping[str, Any] = dataclasses.field(
      default_factory=dict)


def setting(default: Any, help: str, **options) -> Any:  # pylint: disable=redefined-builtin
  """A dataclass field declared as a setting (see `Setting`)."""
  metadata = {_KEY: Setting(help=help, **options)}
  if isinstance(default, (list, dict, set)):
    return dataclasses.field(default_factory=lambda: type(default)(default),
                             metadata=metadata)
  return dataclasses.field(default=default, metadata=metadata)


def declared(group_type) -> List[dataclasses.Field]:
  """The fields of a settings group that are settings."""
  return [f for f in dataclasses.fields(group_type) if _KEY in f.metadata]


def flag_of(field: dataclasses.Field) -> str:
  declared_flag = field.metadata[_KEY].flag
  return '--' + field.name.replace('_', '-') if declared_flag is None \
      else declared_flag


def parse_bool(text: str) -> bool:
  if text.lower() in ('1', 'true', 'yes', 'on'):
    return True
  if text.lower() in ('', '0', 'false', 'no', 'off'):
    return False
  raise argparse.ArgumentTypeError(f'not a boolean: {text!r}')


def _default_of(field: dataclasses.Field) -> Any:
  if field.default is not dataclasses.MISSING:
    return field.default
  return field.default_factory()


def _parser_of(field: dataclasses.Field, default: Any) -> Callable[[str], Any]:
  spec = field.metadata[_KEY]
  if spec.parse:
    return spec.parse
  if isinstance(default, bool):
    return parse_bool
  if isinstance(default, (int, float)):
    return type(default)
  return str


def _help_text(spec: Setting) -> str:
  # The parser's formatter (ArgumentDefaultsHelpFormatter) adds the default.
  text = spec.help + (f' Env {spec.env}.' if spec.env else '')
  return text.replace('%', '%%')


def add_arguments(parser: argparse.ArgumentParser, group_type, title: str,
                  description: str, environ: Mapping[str, str],
                  prefix: str = '') -> None:
  """One argument group: a flag per declared setting of `group_type`, its
  default from the environment variable where one is set. `prefix` keeps
  the destinations of different groups apart."""
  group = parser.add_argument_group(title, description)
  for field in declared(group_type):
    spec = field.metadata[_KEY]
    flag = flag_of(field)
    if not flag:
      continue
    default = _default_of(field)
    parse = _parser_of(field, default)
    if spec.repeated and not isinstance(default, list):
      # The values given add to (or, by `finish`, override) the default.
      default = []
    env_text = environ.get(spec.env) if spec.env else None
    if env_text not in (None, ''):
      try:
        default = ([parse(part) for part in env_text.split()]
                   if spec.repeated else parse(env_text))
      except (ValueError, argparse.ArgumentTypeError) as e:
        parser.error(f'{spec.env}={env_text!r} ({flag}): {e}')
    names = [n for n in (spec.short, flag) if n]
    options = dict(dest=prefix + field.name, default=default,
                   help=_help_text(spec), **spec.argparse_options)
    if isinstance(default, bool) and not spec.parse:
      options['action'] = argparse.BooleanOptionalAction
    elif spec.repeated:
      options.update(action='append', type=parse,
                     metavar=spec.metavar or field.name.upper())
      # argparse appends to the default list itself: give it a copy.
      options['default'] = list(default)
    else:
      options.update(type=parse, metavar=spec.metavar or field.name.upper())
      if spec.choices:
        options['choices'] = spec.choices
    group.add_argument(*names, **options)


def build(group_type, args: argparse.Namespace, prefix: str = ''):
  """The settings group from parsed arguments (fields without a flag keep
  their defaults)."""
  values = {}
  for field in declared(group_type):
    if not flag_of(field):
      continue
    value = getattr(args, prefix + field.name)
    finish = field.metadata[_KEY].finish
    values[field.name] = finish(value) if finish else value
  return group_type(**values)
