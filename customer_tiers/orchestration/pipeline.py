"""One pipeline run: checks before the start, the Dagster job in process on the chosen engine,
the outcome.

The CLI and backfill start runs through these functions; neither imports the CLI.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer_tiers.orchestration.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from customer_tiers.orchestration.engine import Engine


@dataclass
class RunOutcome:
    exit_code: int
    run_id: str | None = None
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # failed checks that do not block


@contextmanager
def exclusive_build(warehouse: Path) -> Iterator[None]:
    """One run per warehouse at a time: both would build the same work copy."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    with lock_path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise UsageError(f"another run is building {warehouse} (lock {lock_path})") from err
        yield


def _point_environment(sources: Path, warehouse: Path, config: Path | None) -> None:
    """The Definitions read their paths from these variables (dagster EnvVar, dbt env_var)."""
    os.environ["TIERS_SOURCES"] = str(sources)
    os.environ["TIERS_WAREHOUSE"] = str(warehouse)
    if config is not None:
        os.environ["TIERS_CONFIG"] = str(config.resolve())


def _error_chain(error: object) -> Iterator[object]:
    while error is not None:
        yield error
        error = getattr(error, "cause", None) or getattr(error, "context", None)


def prepare_run(sources: Path, warehouse: Path, config: Path | None) -> tuple[Path, Path]:
    """Check what a run needs before it starts, point the Definitions at it, and return the
    resolved sources folder and warehouse file."""
    from customer_tiers.orchestration.config import ConfigError, load_config
    from customer_tiers.orchestration.warehouse_file import check_for_run, check_sources

    sources, warehouse = check_sources(sources), check_for_run(warehouse)
    try:
        load_config(config).privacy.settings()  # a missing salt fails here, not mid-run
    except ConfigError as err:
        raise UsageError(str(err)) from err
    _point_environment(sources, warehouse, config)
    return sources, warehouse


def run_pipeline(
    sources: Path,
    warehouse: Path,
    as_of: date | None = None,
    config: Path | None = None,
    *,
    log_level: str = "INFO",
    full_reload: bool = False,
    engine: Engine | None = None,
    dbt_exclude: str | None = None,
) -> RunOutcome:
    """Materialize every asset in process on `engine` (DuckDB when None) and publish the
    warehouse when every check passed. `dbt_exclude`: dbt nodes left out (tests, debugging)."""
    from customer_tiers.orchestration.engine import DuckDBEngine

    engine = engine or DuckDBEngine()
    engine.check_available()
    sources, warehouse = prepare_run(sources, warehouse, config)
    from customer_tiers.orchestration.project import parsed_manifest

    parsed_manifest(as_of)  # the Definitions' manifest.json, current before they load
    from customer_tiers.orchestration.definitions import definitions_for

    job = definitions_for(engine).resolve_job_def("tiers_pipeline")
    dbt_config = {"as_of": as_of.isoformat() if as_of else None, "exclude": dbt_exclude}
    run_config = {
        "ops": {
            "raw_sources": {"config": {"full_reload": full_reload}},
            # the first build holds the incremental staging that a full reload rebuilds
            "dbt_models": {"config": {**dbt_config, "full_refresh": full_reload}},
            "dbt_models_after_predictions": {"config": dbt_config},
            "dbt_models_after_assignments": {"config": dbt_config},
            "raw__orders_as_of_window": {"config": {"as_of": dbt_config["as_of"]}},
        },
        "loggers": {
            "compact": {"config": {"log_level": log_level, "log_file": str(run_log(warehouse))}}
        },
    }
    instance = dagster_instance(warehouse)
    # dbt's own progress lines go to stdout; keep stdout for the summary.
    with exclusive_build(warehouse), redirect_stdout(sys.stderr):
        published = False
        try:
            result = job.execute_in_process(
                run_config=run_config,
                instance=instance,
                raise_on_error=False,
                tags={"customer_tiers/engine": engine.name},
            )
            published = result.success
        finally:
            engine.close(published)
            if instance is not None:
                instance.dispose()  # closes its databases (the write-ahead logs folded in)
    return job_outcome(result, warehouse)


def run_log(warehouse: Path) -> Path:
    """The last run's log, every detail (`-v` shows them on stderr): `<warehouse>.log`."""
    return warehouse.with_name(warehouse.name + ".log")


# `tiers run` records its runs in a Dagster instance, so that `dagster dev` (`make dev`) shows
# them: $DAGSTER_HOME when set, else this folder beside the warehouse. TIERS_RECORD_RUNS=0
# records nothing (an in-memory instance: throwaway runs, the test suite).
INSTANCE_FOLDER = "dagster_home"
RECORD_RUNS_ENV = "TIERS_RECORD_RUNS"


def dagster_instance(warehouse: Path) -> Any:
    """The persistent Dagster instance the run is recorded in (see INSTANCE_FOLDER), or None
    (an ephemeral one) when TIERS_RECORD_RUNS is 0. Unless its dagster.yaml names its own
    event log storage, events go through KeptOpenSqliteEventLogStorage (dagster_storage.py):
    the same files as Dagster's SQLite event log, which `dagster dev` reads, written faster."""
    import dagster as dg
    import yaml
    from dagster._core.instance.ref import InstanceRef

    dagster_home = os.environ.get("DAGSTER_HOME")
    if dagster_home and not Path(dagster_home).is_dir():
        raise UsageError(f"DAGSTER_HOME {dagster_home}: not a folder (create it, or unset it)")
    if not dagster_home and os.environ.get(RECORD_RUNS_ENV, "1") == "0":
        return None
    home = Path(dagster_home) if dagster_home else warehouse.parent / INSTANCE_FOLDER
    settings = home / "dagster.yaml"
    if not dagster_home and not settings.exists():
        home.mkdir(parents=True, exist_ok=True)
        template = Path(__file__).with_name("dagster.yaml")
        settings.write_text(template.read_text(encoding="utf-8"), encoding="utf-8")
    chosen = yaml.safe_load(settings.read_text(encoding="utf-8")) if settings.exists() else None
    if {"storage", "event_log_storage"} & set(chosen or {}):
        return dg.DagsterInstance.from_config(str(home))
    event_log = {
        "module": "customer_tiers.orchestration.dagster_storage",
        "class": "KeptOpenSqliteEventLogStorage",
        "config": {"base_dir": str(home / "history" / "runs")},
    }
    overrides = {"event_log_storage": event_log}
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))


def job_outcome(result: Any, warehouse: Path) -> RunOutcome:
    """Exit code and messages of an executed job: 2 for a source file that cannot be read,
    1 for a failed step or blocking check, with what failed."""
    import dagster as dg

    outcome = RunOutcome(EXIT_OK if result.success else EXIT_CHECK_FAILED, result.run_id)
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN:
            where = f"{evaluation.asset_key.to_user_string()} {evaluation.check_name}"
            outcome.warnings.append(f"{where}: {evaluation.description or 'failed'}")
    if result.success:
        return outcome

    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            for error in _error_chain(event.step_failure_data.error):
                if getattr(error, "cls_name", "") in ("SourceError", "WarehouseFileError"):
                    outcome.exit_code = EXIT_USAGE
                    outcome.messages.append(error.message.strip())
                    return outcome
            *_, root_cause = _error_chain(event.step_failure_data.error)
            outcome.messages.append(f"step {event.step_key} failed: {root_cause.message.strip()}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            where = f"{evaluation.asset_key.to_user_string()} {evaluation.check_name}"
            outcome.messages.append(
                f"blocking check failed: {where}: {evaluation.description or 'see the Dagster UI'}"
            )
    outcome.messages.append(f"nothing was published; {warehouse} is unchanged")
    return outcome
