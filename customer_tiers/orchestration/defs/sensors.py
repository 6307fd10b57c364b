"""Sensors: start the pipeline when source files land, and name what failed when a run fails.

`landing_folder_sensor` runs in the Dagster daemon. It only lists the sources folder and stats
files: it never opens the DuckDB warehouse, which takes one process at a time and belongs to the
runs. What it has seen is kept in its cursor, a JSON fingerprint (size, modification time) of
every source file, so a restarted daemon does not start a run for files it already ran on.

`run_failure_details_sensor` tags a failed run with the checks and steps that failed, so the runs
list and the run's page in the UI say why without opening the event log.
"""

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from customer_tiers.ingest.encoding import SourceError
from customer_tiers.ingest.files import stem, suffix
from customer_tiers.ingest.landing import is_partial, landing_files
from customer_tiers.ingest.sources import SOURCES
from customer_tiers.orchestration.config import SensorConfig, load_config
from customer_tiers.orchestration.defs.automation import pipeline_job

SOURCES_ENV_VAR = "TIERS_SOURCES"

NEW_FILES_TAG = "customer_tiers/new_files"
CHANGED_FILES_TAG = "customer_tiers/changed_files"
FAILED_CHECKS_TAG = "customer_tiers/failed_checks"
FAILED_STEP_TAG = "customer_tiers/failed_step"
# Tags are for reading in the UI: a first drop of two years of daily files lists a few and counts
# the rest.
MAX_FILES_IN_TAG = 20

# A file as the sensor sees it: (size in bytes, modification time in nanoseconds).
Fingerprint = tuple[int, int]
# Relative POSIX path in the sources folder -> fingerprint.
FolderState = dict[str, Fingerprint]


# --- landing folder ------------------------------------------------------------------------------


def _is_data_file(path: Path) -> bool:
    return path.is_file() and not is_partial(path) and suffix(path) is not None


def candidate_files(folder: Path) -> Iterator[Path]:
    """The files a run loads, matched as the loader matches them: the contract's
    `<source>.csv|.csv.gz|.parquet` at the top level (stem in any case), and every data file in
    a fact source's subfolder (`orders/`, `feedback/`, `surveys/`) and its subfolders. A bad link
    there is left to the run, which reports it (exit 2)."""
    yield from (p for p in sorted(folder.iterdir()) if _is_data_file(p) and stem(p) in SOURCES)
    for spec in SOURCES.values():
        try:
            yield from landing_files(folder, spec)
        except SourceError:
            continue


@dataclass(frozen=True)
class FolderScan:
    settled: FolderState
    unsettled: tuple[str, ...]  # modified within the settle time: still being written


def scan_folder(folder: Path, settle_seconds: float, now: float) -> FolderScan:
    settled: FolderState = {}
    unsettled: list[str] = []
    for path in candidate_files(folder):
        try:
            stat = path.stat()
        except FileNotFoundError:  # moved away between the listing and now
            continue
        relative = path.relative_to(folder).as_posix()
        if now - stat.st_mtime_ns / 1e9 < settle_seconds:
            unsettled.append(relative)
        else:
            settled[relative] = (stat.st_size, stat.st_mtime_ns)
    return FolderScan(settled, tuple(unsettled))


@dataclass(frozen=True)
class LandingChanges:
    state: FolderState  # what the cursor records after this look
    new: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def run_needed(self) -> bool:
        return bool(self.new or self.changed)


def compare(previous: FolderState, scan: FolderScan) -> LandingChanges:
    state = dict(scan.settled)
    # A known file being rewritten keeps its old fingerprint until it settles, so it is reported
    # once, as changed, when complete (not as removed now and new later).
    for relative in scan.unsettled:
        if relative in previous:
            state[relative] = previous[relative]
    return LandingChanges(
        state=state,
        new=tuple(sorted(p for p in state if p not in previous)),
        changed=tuple(sorted(p for p in state if p in previous and previous[p] != state[p])),
        removed=tuple(sorted(p for p in previous if p not in state)),
    )


def encode_cursor(state: FolderState) -> str:
    files = {path: list(fingerprint) for path, fingerprint in sorted(state.items())}
    return json.dumps({"version": 1, "files": files}, sort_keys=True, separators=(",", ":"))


def decode_cursor(cursor: str | None) -> FolderState:
    """The fingerprints of the last look; an empty or unreadable cursor (edited in the UI) means
    nothing seen yet, so every file counts as new and one run loads them all."""
    if not cursor:
        return {}
    try:
        files = json.loads(cursor)["files"]
        return {str(path): (int(size), int(mtime)) for path, (size, mtime) in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def run_key(state: FolderState) -> str:
    """One key per folder state: Dagster starts at most one run per key of a sensor."""
    return "landing-" + hashlib.sha256(encode_cursor(state).encode()).hexdigest()[:20]


def file_list(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:MAX_FILES_IN_TAG])
    more = len(paths) - MAX_FILES_IN_TAG
    return f"{shown} (+{more} more)" if more > 0 else shown


def _run_request(changes: LandingChanges) -> dg.RunRequest:
    tags = {NEW_FILES_TAG: file_list(changes.new), CHANGED_FILES_TAG: file_list(changes.changed)}
    return dg.RunRequest(run_key=run_key(changes.state), tags={k: v for k, v in tags.items() if v})


def _skip_message(folder: Path, changes: LandingChanges, unsettled: Sequence[str]) -> str:
    message = f"no new files in {folder}"
    if unsettled:
        message += f"; waiting for {len(unsettled)} still being written: {file_list(unsettled)}"
    if changes.removed:
        message += (
            f"; {len(changes.removed)} gone since the last look: {file_list(changes.removed)}"
        )
    return message


def evaluate_landing_folder(
    sources: str | None, cursor: str | None, settle_seconds: float, now: float
) -> dg.SensorResult:
    """One look at the sources folder: a run request when files are new or changed."""
    if not sources:
        return dg.SensorResult(
            skip_reason=f"{SOURCES_ENV_VAR} is not set: set it to the folder the source files "
            "land in (make dev sets it to var/demo) and restart dagster"
        )
    folder = Path(sources).expanduser()
    if not folder.is_dir():
        return dg.SensorResult(skip_reason=f"{SOURCES_ENV_VAR}={sources} is not a folder")
    scan = scan_folder(folder, settle_seconds, now)
    changes = compare(decode_cursor(cursor), scan)
    new_cursor = encode_cursor(changes.state)
    if not changes.run_needed:
        # Saved on a skip too: a file removed, then dropped again, must count as new.
        return dg.SensorResult(
            skip_reason=_skip_message(folder, changes, scan.unsettled), cursor=new_cursor
        )
    return dg.SensorResult(run_requests=[_run_request(changes)], cursor=new_cursor)


def build_landing_folder_sensor(settings: SensorConfig) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_folder_sensor",
        target=pipeline_job,
        minimum_interval_seconds=settings.min_interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Starts tiers_pipeline when a source file in ${SOURCES_ENV_VAR} (or in its "
        f"{', '.join(s.name for s in SOURCES.values() if s.landing)} subfolders) is new or "
        "changed; files modified in the last "
        f"{settings.settle_seconds} s wait for a later look.",
    )
    def landing_folder_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        # Read on every look, as the resources read it on every run.
        sources = dg.EnvVar(SOURCES_ENV_VAR).get_value()
        return evaluate_landing_folder(
            sources, context.cursor, settings.settle_seconds, time.time()
        )

    return landing_folder_sensor


landing_folder_sensor = build_landing_folder_sensor(load_config().sensor)


# --- failed runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFailureDetails:
    failed_checks: tuple[str, ...]  # "raw/orders:expectations", in the order they ran
    failed_steps: tuple[str, ...]

    def tags(self) -> dict[str, str]:
        tags = {
            FAILED_CHECKS_TAG: ", ".join(self.failed_checks),
            FAILED_STEP_TAG: ", ".join(self.failed_steps),
        }
        return {key: value for key, value in tags.items() if value}

    def summary(self, run_id: str) -> str:
        checks = ", ".join(self.failed_checks) or "none"
        steps = ", ".join(self.failed_steps) or "none"
        return f"run {run_id} failed: failed checks {checks}; failed steps {steps}"


def failure_details(events: Iterable[dg.DagsterEvent]) -> RunFailureDetails:
    """The failed checks and steps among a run's events.

    Only checks of severity ERROR count: a failed WARN check is reported on the asset but never
    fails a run, so naming it here would point at the wrong cause.
    """
    checks: list[str] = []
    steps: list[str] = []
    for event in events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                checks.append(evaluation.asset_check_key.to_user_string())
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE and event.step_key:
            steps.append(event.step_key)
    return RunFailureDetails(tuple(dict.fromkeys(checks)), tuple(dict.fromkeys(steps)))


def run_events(instance: dg.DagsterInstance, run_id: str) -> list[dg.DagsterEvent]:
    """The run's check evaluations and step failures, from the instance's event log."""
    of_type = {dg.DagsterEventType.ASSET_CHECK_EVALUATION, dg.DagsterEventType.STEP_FAILURE}
    records = instance.get_records_for_run(run_id, of_type=of_type).records
    events = (record.event_log_entry.dagster_event for record in records)
    return [event for event in events if event is not None]


def tag_failed_run(
    instance: dg.DagsterInstance, run_id: str, details: RunFailureDetails
) -> Mapping[str, str]:
    tags = details.tags()
    if tags:
        instance.add_run_tags(run_id, tags)
    return tags


# Monitors every job of this code location (the default), so an ad-hoc "Materialize" in the UI is
# tagged as well as tiers_pipeline. On by default: it only reads the event log and adds tags.
@dg.run_failure_sensor(
    name="run_failure_details_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Tags each failed run with its failed checks (customer_tiers/failed_checks) and "
    "failed steps (customer_tiers/failed_step).",
)
def run_failure_details_sensor(context: dg.RunFailureSensorContext) -> None:
    run_id = context.dagster_run.run_id
    details = failure_details(run_events(context.instance, run_id))
    tag_failed_run(context.instance, run_id, details)
    context.log.info(details.summary(run_id))


defs = dg.Definitions(sensors=[landing_folder_sensor, run_failure_details_sensor])
