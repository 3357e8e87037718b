"""What each orchestrator runs of the pipeline, and why not the rest.

One table, read by `create_pipeline` (which builds the pipeline from it) and
by the runners (which print what their orchestrator lacks when they compile or
start). Free of TFX imports: a runner can say it before TFX loads.

| capability            | local | airflow          | kubeflow                           |
| --------------------- | ----- | ---------------- | ---------------------------------- |
| drift check           | yes   | yes              | yes, against the previous run      |
| warm start            | yes   | yes              | yes, from the latest blessed model |
| baseline              | yes   | yes              | yes, maybe the candidate itself    |
| span window           | yes   | yes              | no                                 |
| local ML Metadata     | yes   | yes              | no (the cluster's own store)       |
| Beam profile not in   | yes   | yes, in the DAG  | no (compiled into the spec)        |
|   the cache key       |       |                  |                                    |

Airflow runs the drift check thanks to orchestration/airflow_launcher.py's
fixes to TFX's pre-IR launcher (`name_outputs_per_component`); Kubeflow runs
it and warm start with TFX's stock resolver strategies, the only ones its
KFP v2 compiler builds.
"""

import dataclasses
import sys
from typing import Dict, List, Mapping, Optional, TextIO, Union

DRIFT_CHECK = 'drift check'
WARM_START = 'warm start'
BASELINE = 'baseline'
SPAN_WINDOW = 'span window'
LOCAL_METADATA = 'local ML Metadata'
BEAM_PROFILE_UNCACHED = 'Beam profile outside the cache key'

# What each capability is, as a runner says it.
CAPABILITIES = {
    DRIFT_CHECK: "each span's statistics against the previous span's "
                 '(DistributionValidator)',
    WARM_START: 'the Trainer starts from the latest blessed model trained on '
                'other examples',
    BASELINE: 'the Evaluator compares the candidate with the latest blessed '
              'model other than itself',
    SPAN_WINDOW: 'Transform, Trainer and Evaluator read the latest '
                 '--span-window spans',
    LOCAL_METADATA: 'lineage and cache in SQLite under the output directory',
    BEAM_PROFILE_UNCACHED: 'a run whose only change is the Beam profile '
                           're-runs nothing',
}


@dataclasses.dataclass(frozen=True)
class Support:
  """Whether an orchestrator runs a capability. `note`: why not, or, when it
  runs, how it differs from the local run (empty when it does not)."""
  runs: bool
  note: str = ''


_FULL = Support(True)


@dataclasses.dataclass(frozen=True)
class Orchestrator:
  """An orchestrator and what it runs.

  `custom_resolvers`: it runs this project's resolver strategies
  (components/resolvers.py); otherwise only TFX's stock ones.
  `beam_flags_at_run_time`: its launcher resolves TFX placeholders in the
  Beam flags when a component starts, so the pipeline holds placeholders
  (pipeline/beam_flags.py); otherwise the flags themselves.
  """
  name: str
  custom_resolvers: bool
  beam_flags_at_run_time: bool
  support: Mapping[str, Support]

  def runs(self, capability: str) -> bool:
    return self.support[capability].runs

  def missing(self) -> Dict[str, str]:
    """{capability: why not} of what it does not run."""
    return {c: s.note for c, s in self.support.items() if not s.runs}

  def differences(self) -> Dict[str, str]:
    """{capability: how it differs} of what it runs otherwise than locally."""
    return {c: s.note for c, s in self.support.items() if s.runs and s.note}

  def without(self, capability: str, reason: str) -> 'Orchestrator':
    """This orchestrator, not running `capability`, for `reason`."""
    return dataclasses.replace(self, support={
        **self.support, capability: Support(False, reason)})

  def notice(self) -> str:
    """What a runner prints: what is missing or different here, and why;
    empty when the pipeline is the local one."""
    lines: List[str] = []
    for capability, reason in self.missing().items():
      lines.append(f'  - no {capability} ({CAPABILITIES[capability]}): '
                   f'{reason}')
    for capability, how in self.differences().items():
      lines.append(f'  - {capability} differs: {how}')
    if not lines:
      return ''
    return '\n'.join([f'On {self.name} the pipeline runs otherwise than '
                      'locally:'] + lines)


# The local runner's IR-based launcher hashes a component's Beam flags into
# its cache key, so it is given them at run time, as placeholders.
LOCAL = Orchestrator('local', custom_resolvers=True,
                     beam_flags_at_run_time=True, support={
    DRIFT_CHECK: _FULL, WARM_START: _FULL, BASELINE: _FULL,
    SPAN_WINDOW: _FULL, LOCAL_METADATA: _FULL, BEAM_PROFILE_UNCACHED: _FULL})

AIRFLOW = Orchestrator('airflow', custom_resolvers=True,
                       beam_flags_at_run_time=False, support={
    DRIFT_CHECK: _FULL, WARM_START: _FULL, BASELINE: _FULL,
    SPAN_WINDOW: _FULL, LOCAL_METADATA: _FULL,
    BEAM_PROFILE_UNCACHED: Support(True, (
        "the flags are written in the DAG when Airflow parses it (TFX's "
        'pre-IR launcher, which its tasks run, resolves no placeholders in '
        'them), and that launcher leaves them out of its cache key, which is '
        'the inputs and execution properties: a new BEAM_PROFILE applies '
        'from the next parse of the DAG file'))})

KUBEFLOW = Orchestrator('kubeflow', custom_resolvers=False,
                        beam_flags_at_run_time=False, support={
    DRIFT_CHECK: Support(True, (
        "against the previous run's statistics (TFX's LatestArtifactStrategy, "
        'resolved before this run computes its own), not the previous '
        "span's: a re-run of a span is compared with itself, and excluded "
        'spans are not skipped')),
    WARM_START: Support(True, (
        'from the latest blessed model (LatestBlessedModelStrategy), even '
        'one trained on these very examples: a run on unchanged data trains '
        'again instead of staying cached')),
    BASELINE: Support(True, (
        'the latest blessed model (LatestBlessedModelStrategy), which on a '
        "re-run whose Trainer was cached is the candidate itself: the "
        'Evaluator runs again to compare the model with itself')),
    SPAN_WINDOW: Support(False, (
        "a window of spans anchored on this run's span needs a custom "
        "resolver strategy, and TFX's KFP v2 compiler builds only "
        'LatestArtifactStrategy (one artifact) and LatestBlessedModelStrategy'
        ': each run trains on the span it ingested')),
    LOCAL_METADATA: Support(False, (
        "Kubeflow Pipelines records lineage and cache in the cluster's own "
        'ML Metadata store; a SQLite file would vanish with its container')),
    BEAM_PROFILE_UNCACHED: Support(False, (
        'the Beam flags are compiled into the pipeline spec, which Kubeflow '
        "Pipelines' cache key covers; another Beam profile is another "
        'compiled pipeline')),
})

ORCHESTRATORS = {o.name: o for o in (LOCAL, AIRFLOW, KUBEFLOW)}


def get(orchestrator: Union[str, Orchestrator]) -> Orchestrator:
  """The orchestrator of that name (or the one given)."""
  if isinstance(orchestrator, Orchestrator):
    return orchestrator
  try:
    return ORCHESTRATORS[orchestrator]
  except KeyError:
    raise ValueError(f'unknown orchestrator {orchestrator!r}; one of '
                     f'{sorted(ORCHESTRATORS)}') from None


def print_notice(orchestrator: Union[str, Orchestrator],
                 file: Optional[TextIO] = None) -> None:
  """Prints (to stderr by default) what the orchestrator runs otherwise
  than the local run and why; nothing when it runs it all."""
  notice = get(orchestrator).notice()
  if notice:
    print(notice, file=file or sys.stderr, flush=True)
