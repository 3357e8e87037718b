"""Which versions are loaded, and what each one's state is, as TF Serving's
manager keeps them.

Every refresh (`--poll-seconds`) re-reads the serving directory and the model
config file and moves towards the versions the config's policy wants
(contract/serving_directory.py), the way TF Serving's availability-preserving
policy does:

- a wanted version is loaded *before* anything is unloaded, and the swap is
  one assignment, so a request is always answered by the old set or the new;
- if no wanted version loads (a copy still in progress: a truncated graph,
  no assets/ yet), the versions served so far stay served; the failed one is
  tried again when its files change, or after `retry_seconds`;
- a config file that cannot be used is logged and ignored (the served
  versions stay), as TF Serving does with a bad config reload; no error of a
  refresh ever stops the polling.

Version labels (`version_labels` in the config) name versions for
`/labels/<label>` requests. A label applies once the version it names is
available; until then the previous labels stay. TF Serving is stricter
(server_core.cc, UpdateModelVersionLabelMap): while a label names a version
that is not available it refuses the whole config, policy included (at start
it does not start), unless its flag allow_version_labels_for_unavailable_models
is set, and even then it will not move an existing label to such a version.
"""

import logging
import os
import re
import threading
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from contract import serving_directory
from serving import model_config
from serving import rest

logger = logging.getLogger('serving.version_manager')

# ModelVersionStatus.State of TF Serving's get_model_status.proto.
LOADING, AVAILABLE, END = 'LOADING', 'AVAILABLE', 'END'
DEFAULT_RETRY_SECONDS = 60.0  # TF Serving's load_retry_interval default
# A file system path in a message; not the request paths of the REST API.
_ABSOLUTE_PATH = re.compile(r"(?<![\w/.])/(?!v1/)(?:[\w.@+-]+/)+[\w.@+-]*")


class VersionStatus(NamedTuple):
  state: str
  error_code: str = 'OK'
  error_message: str = ''


def load_version(version_dir: str, version: int):
  """The version loaded with TensorFlow (imported only here: the rest of
  the manager is plain Python)."""
  from serving.saved_model import ServedVersion  # pylint: disable=g-import-not-at-top
  return ServedVersion(version_dir, version)


def _fingerprint(version_dir: str) -> Tuple:
  """What changes while a version is still being copied: each file's path,
  size and modification time."""
  entries = []
  for folder, _, files in os.walk(version_dir):
    for name in files:
      path = os.path.join(folder, name)
      try:
        stat = os.stat(path)
      except OSError:
        continue
      entries.append((os.path.relpath(path, version_dir), stat.st_size,
                      stat.st_mtime_ns))
  return tuple(sorted(entries))


class VersionManager:
  """The served versions of one model, their states and labels."""

  def __init__(self, name: str, serving_dir: str, model_config_path: str,
               retry_seconds: float = DEFAULT_RETRY_SECONDS,
               loader: Callable = load_version):
    self.name = name
    self.serving_dir = os.path.abspath(serving_dir)
    self.model_config_path = model_config_path
    self.retry_seconds = retry_seconds
    self._loader = loader
    # (versions served, labels): replaced in one assignment, read once per
    # request, so a request sees one consistent pair.
    self._serving: Tuple[Dict[int, object], Dict[str, int]] = ({}, {})
    self._statuses: Dict[int, VersionStatus] = {}
    self._statuses_lock = threading.Lock()
    self._refresh_lock = threading.Lock()
    self._failures: Dict[int, Tuple[Tuple, float]] = {}
    self._last_problem: Optional[str] = None

  @property
  def served_versions(self) -> List[int]:
    return sorted(self._serving[0])

  @property
  def labels(self) -> Dict[str, int]:
    return dict(self._serving[1])

  @property
  def ready(self) -> bool:
    return bool(self._serving[0])

  def redact(self, text: str) -> str:
    """`text` without server paths: the serving directory becomes the model
    name, any other absolute path <path>."""
    for base in {self.serving_dir, os.path.realpath(self.serving_dir)}:
      text = text.replace(base, self.name)
    return _ABSOLUTE_PATH.sub('<path>', text)

  def _set_status(self, version: int, status: VersionStatus) -> None:
    with self._statuses_lock:
      self._statuses[version] = status

  def _problem(self, message: str) -> None:
    # Logged once, not at every poll, until it changes or goes away.
    if message != self._last_problem:
      logger.error('%s', message)
    self._last_problem = message

  def refresh(self) -> bool:
    """One step towards the versions the config wants; False (logged) if
    it could not be taken. Never raises: the poller must keep polling."""
    with self._refresh_lock:
      try:
        self._refresh()
        return True
      except Exception:  # pylint: disable=broad-except
        logger.exception('Refreshing %s failed; still serving versions %s',
                         self.name, self.served_versions)
        return False

  def _refresh(self) -> None:
    try:
      config = model_config.read(self.model_config_path, self.name)
    except model_config.ModelConfigError as e:
      self._problem(f'{e}; still serving versions {self.served_versions}')
      return
    wanted = serving_directory.select_versions(
        serving_directory.available_versions(self.serving_dir), config)
    current, current_labels = self._serving
    served, new = {}, []
    for version in wanted:
      if version in current:
        served[version] = current[version]
      else:
        loaded = self._try_load(version)
        if loaded is not None:
          served[version] = loaded
          new.append(version)
    if wanted and not served and current:
      # None of the wanted versions loads (yet): keep the old ones rather
      # than serve nothing, as TF Serving's availability-preserving policy.
      served = dict(current)
    labels = model_config.labels(config)
    unavailable = sorted(v for v in labels.values() if v not in served)
    if unavailable:
      self._problem(f'{self.model_config_path}: cannot label version '
                    f'{unavailable[0]} of model {self.name}: it is not '
                    'available; the previous labels stay')
      labels = current_labels
    else:
      self._last_problem = None
    self._serving = (served, labels)  # the swap
    for version in new:
      self._set_status(version, VersionStatus(AVAILABLE))
    for version in set(current) - set(served):
      self._set_status(version, VersionStatus(END))
    for version in set(self._failures) - set(wanted):
      del self._failures[version]  # not wanted any more: no retry
    if sorted(served) != sorted(current) or labels != current_labels:
      policy = (f'policy of {self.model_config_path}' if config
                else 'highest version')
      logger.info('Serving %s versions %s (%s)%s', self.name, sorted(served),
                  policy, f', labels {labels}' if labels else '')

  def _try_load(self, version: int):
    """The loaded version, or None if it does not load (its status says
    why) or failed before and has not changed since."""
    version_dir = os.path.join(self.serving_dir, str(version))
    fingerprint = _fingerprint(version_dir)
    failure = self._failures.get(version)
    if failure and failure[0] == fingerprint and (
        time.monotonic() - failure[1] < self.retry_seconds):
      return None
    self._set_status(version, VersionStatus(LOADING))
    try:
      loaded = self._loader(version_dir, version)
    except Exception as e:  # pylint: disable=broad-except
      # A version that does not load is reported, never fatal.
      # The status is an answer to clients: no server paths; the log keeps
      # them.
      self._set_status(version, VersionStatus(
          END, getattr(e, 'code', 'UNKNOWN'), self.redact(str(e))))
      self._failures[version] = (fingerprint, time.monotonic())
      logger.error('Cannot load version %d of %s (still serving %s; tried '
                   'again when its files change): %s', version, self.name,
                   self.served_versions, e)
      return None
    self._failures.pop(version, None)
    return loaded

  def start_polling(self, interval_s: float,
                    after_refresh: Optional[Callable[[], None]] = None
                    ) -> threading.Event:
    """Refreshes every `interval_s` in a daemon thread until the returned
    event is set."""
    stop = threading.Event()

    def poll():
      while not stop.wait(interval_s):
        try:
          self.refresh()
          if after_refresh:
            after_refresh()
        except Exception:  # pylint: disable=broad-except
          logger.exception('Version poller: unexpected error; polling on')

    threading.Thread(target=poll, name='version-poller', daemon=True).start()
    return stop

  # --- Requests.

  def resolve(self, model_name: str, version: Optional[int] = None,
              label: Optional[str] = None):
    """The loaded version a request names, or rest.ServingError worded as
    TF Serving's ServerCore words it."""
    served = self._serving[0]
    if label is not None:
      version = self._labelled(model_name, label)
    if version is not None:
      if model_name == self.name and version in served:
        return served[version]
      raise rest.ServingError('NOT_FOUND', 'Servable not found for request: '
                              f'Specific({model_name}, {version})')
    if model_name == self.name and served:
      return served[max(served)]
    raise rest.ServingError('NOT_FOUND', 'Servable not found for request: '
                            f'Latest({model_name})')

  def _labelled(self, model_name: str, label: str) -> int:
    labels = self._serving[1]
    if model_name != self.name or label not in labels:
      raise rest.ServingError(
          'INVALID_ARGUMENT', f'Unrecognized servable version label: {label}')
    return labels[label]

  def statuses(self, model_name: str, version: Optional[int] = None,
               label: Optional[str] = None) -> List[Dict]:
    """TF Serving's model_version_status list, newest version first."""
    if label is not None:
      version = self._labelled(model_name, label)
    with self._statuses_lock:
      known = dict(self._statuses) if model_name == self.name else {}
    if version is not None:
      if version not in known:
        raise rest.ServingError('NOT_FOUND', f'Could not find version '
                                f'{version} of model {model_name}')
      known = {version: known[version]}
    elif not known:
      raise rest.ServingError('NOT_FOUND', 'Could not find any versions of '
                              f'model {model_name}')
    return [{'version': str(v), 'state': known[v].state,
             'status': {'error_code': known[v].error_code,
                        'error_message': known[v].error_message}}
            for v in sorted(known, reverse=True)]
