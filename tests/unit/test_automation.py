"""Automation: the daily schedule's time zone, the landing-folder sensor, and failed-run details.

Fast: the sensor is evaluated on tmp folders, and the failure details come from a tiny job run in
an ephemeral instance (never the pipeline).
"""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml

from customer_tiers.orchestration.config import ConfigError, load_config
from customer_tiers.orchestration.defs.automation import build_daily_schedule, daily_schedule
from customer_tiers.orchestration.defs.sensors import (
    CHANGED_FILES_TAG,
    FAILED_CHECKS_TAG,
    FAILED_STEP_TAG,
    NEW_FILES_TAG,
    build_landing_folder_sensor,
    decode_cursor,
    failure_details,
    landing_folder_sensor,
    run_events,
    run_failure_details_sensor,
)

SETTLED = 3600  # seconds: well past the settle time


def _write(path: Path, text: str = "id\n1\n", age: float = SETTLED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    _age(path, age)
    return path


def _age(path: Path, age: float) -> None:
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))


def _look(cursor: str | None = None) -> dg.SensorResult:
    result = landing_folder_sensor(dg.build_sensor_context(cursor=cursor))
    assert isinstance(result, dg.SensorResult)
    return result


def _skip_message(result: dg.SensorResult) -> str:
    assert not result.run_requests
    assert result.skip_reason is not None
    return result.skip_reason.skip_message or ""


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "sources"
    _write(folder / "orders.csv")
    _write(folder / "customers.csv")
    monkeypatch.setenv("TIERS_SOURCES", str(folder))
    return folder


# --- schedule ------------------------------------------------------------------------------------


def test_daily_schedule_defaults_to_six_in_shanghai() -> None:
    assert daily_schedule.cron_schedule == "0 6 * * *"
    assert daily_schedule.execution_timezone == "Asia/Shanghai"
    assert daily_schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_schedule_and_sensor_take_the_override_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, landing: Path
) -> None:
    override = tmp_path / "tiers.yml"
    override.write_text(
        yaml.safe_dump(
            {
                "schedule": {"cron": "30 2 * * 1", "timezone": "Europe/Berlin"},
                "sensor": {"min_interval_seconds": 300, "settle_seconds": 5},
            }
        )
    )
    monkeypatch.setenv("TIERS_CONFIG", str(override))
    config = load_config()
    schedule = build_daily_schedule(config.schedule)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 2 * * 1", "Europe/Berlin")
    sensor = build_landing_folder_sensor(config.sensor)
    assert sensor.minimum_interval_seconds == 300
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    # settle_seconds 5: a file last written 10 s ago is settled (the default 30 would wait for
    # it), one written 1 s ago is still being written
    _age(landing / "orders.csv", 10)
    _write(landing / "staff.csv", age=1)
    result = sensor(dg.build_sensor_context())
    assert isinstance(result, dg.SensorResult)
    [request] = result.run_requests
    assert request.tags[NEW_FILES_TAG] == "customers.csv, orders.csv"
    assert set(decode_cursor(result.cursor)) == {"customers.csv", "orders.csv"}


def test_timezone_alone_keeps_the_default_time(tmp_path: Path) -> None:
    override = tmp_path / "tiers.yml"
    override.write_text(yaml.safe_dump({"schedule": {"timezone": "UTC"}}))
    schedule = build_daily_schedule(load_config(override).schedule)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "UTC")


def test_unknown_timezone_is_a_config_error(tmp_path: Path) -> None:
    override = tmp_path / "tiers.yml"
    override.write_text(yaml.safe_dump({"schedule": {"timezone": "Asia/Shanghi"}}))
    with pytest.raises(ConfigError, match="'Asia/Shanghi' is not an IANA time zone"):
        load_config(override)


def test_sensor_section_is_not_a_dbt_var() -> None:
    assert "sensor" not in load_config().dbt_vars(None)["tiers"]


# --- landing folder sensor -----------------------------------------------------------------------


def test_first_look_starts_one_run_for_every_file(landing: Path) -> None:
    result = _look()
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.tags[NEW_FILES_TAG] == "customers.csv, orders.csv"
    assert CHANGED_FILES_TAG not in request.tags
    assert request.run_key and request.run_key.startswith("landing-")
    assert set(decode_cursor(result.cursor)) == {"customers.csv", "orders.csv"}
    # The same folder state gives the same run key: Dagster never starts it twice.
    assert _look().run_requests[0].run_key == request.run_key


def test_same_files_again_skip(landing: Path) -> None:
    cursor = _look().cursor
    result = _look(cursor)
    assert _skip_message(result) == f"no new files in {landing}"
    assert result.cursor == cursor


def test_new_file_in_a_fact_subfolder_starts_a_run_naming_it(landing: Path) -> None:
    cursor = _look().cursor
    _write(landing / "orders" / "2026-06-01.parquet", "not read by the sensor")
    result = _look(cursor)
    assert len(result.run_requests) == 1
    assert result.run_requests[0].tags[NEW_FILES_TAG] == "orders/2026-06-01.parquet"
    assert "orders/2026-06-01.parquet" in decode_cursor(result.cursor)


def test_changed_size_starts_a_run(landing: Path) -> None:
    cursor = _look().cursor
    orders = landing / "orders.csv"
    mtime_ns = orders.stat().st_mtime_ns
    orders.write_text("id\n1\n2\n", encoding="utf-8")
    os.utime(orders, ns=(mtime_ns, mtime_ns))  # only the size tells
    result = _look(cursor)
    assert len(result.run_requests) == 1
    assert result.run_requests[0].tags == {CHANGED_FILES_TAG: "orders.csv"}


def test_partial_and_unrelated_files_never_start_a_run(landing: Path) -> None:
    cursor = _look().cursor
    for name in (".2026-06-01.csv", "~$2026-06-01.csv", "2026-06-01.csv.part", "upload.tmp"):
        _write(landing / "surveys" / name)
    _write(landing / "notes.csv")  # not a source of the contract
    _write(landing / "staff" / "2026-06-01.csv")  # staff is not a fact source
    assert _skip_message(_look(cursor)) == f"no new files in {landing}"


def test_file_still_being_written_waits_for_a_later_look(landing: Path) -> None:
    cursor = _look().cursor
    young = _write(landing / "feedback" / "2026-06-01.csv", age=0)
    result = _look(cursor)
    assert "waiting for 1 still being written: feedback/2026-06-01.csv" in _skip_message(result)
    _age(young, SETTLED)
    result = _look(result.cursor)
    assert result.run_requests[0].tags[NEW_FILES_TAG] == "feedback/2026-06-01.csv"


def test_known_file_being_rewritten_is_not_gone(landing: Path) -> None:
    cursor = _look().cursor
    _write(landing / "orders.csv", "id\n1\n2\n3\n", age=0)
    result = _look(cursor)
    assert "gone" not in _skip_message(result)
    assert result.cursor == cursor
    _age(landing / "orders.csv", SETTLED)
    assert _look(result.cursor).run_requests[0].tags == {CHANGED_FILES_TAG: "orders.csv"}


def test_removed_file_is_forgotten_and_new_when_dropped_again(landing: Path) -> None:
    cursor = _look().cursor
    (landing / "customers.csv").unlink()
    result = _look(cursor)
    assert "1 gone since the last look: customers.csv" in _skip_message(result)
    _write(landing / "customers.csv")
    assert _look(result.cursor).run_requests[0].tags[NEW_FILES_TAG] == "customers.csv"


def test_unreadable_cursor_starts_over(landing: Path) -> None:
    assert len(_look("not json").run_requests) == 1


def test_unset_sources_skip_with_a_clear_message() -> None:
    result = _look()
    assert _skip_message(result).startswith("TIERS_SOURCES is not set")
    assert result.cursor is None  # the last cursor is kept


def test_sources_not_a_folder_skip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("TIERS_SOURCES", str(missing))
    assert _skip_message(_look()) == f"TIERS_SOURCES={missing} is not a folder"


# --- failed runs ---------------------------------------------------------------------------------


@dg.asset(key=["raw", "orders"])
def _orders() -> None:
    return None


@dg.asset(deps=[_orders])
def _mart() -> None:
    return None


@dg.asset_check(asset=_orders, name="orders_suite", blocking=True)
def _orders_suite() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, description="amount below zero")


@dg.asset_check(asset=_orders, name="orders_warning")
def _orders_warning() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


@pytest.fixture(scope="module")
def failed_run() -> Iterator[tuple[dg.DagsterInstance, dg.ExecuteInProcessResult]]:
    job = dg.define_asset_job("tiny", selection=dg.AssetSelection.all())
    defs = dg.Definitions(
        assets=[_orders, _mart],
        asset_checks=[_orders_suite, _orders_warning],
        jobs=[job],
        executor=dg.in_process_executor,
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("tiny").execute_in_process(
            instance=instance, raise_on_error=False
        )
        assert not result.success
        yield instance, result


def test_failure_details_name_the_blocking_check_and_step(
    failed_run: tuple[dg.DagsterInstance, dg.ExecuteInProcessResult],
) -> None:
    instance, result = failed_run
    details = failure_details(run_events(instance, result.run_id))
    assert details.failed_checks == ("raw/orders:orders_suite",)  # the WARN check does not fail
    assert details.failed_steps == ("raw__orders_orders_suite",)
    assert "failed checks raw/orders:orders_suite" in details.summary(result.run_id)


def test_run_failure_sensor_tags_the_failed_run(
    failed_run: tuple[dg.DagsterInstance, dg.ExecuteInProcessResult],
) -> None:
    instance, result = failed_run
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_details_sensor",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    )
    run_failure_details_sensor(context)
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    assert run.tags[FAILED_CHECKS_TAG] == "raw/orders:orders_suite"
    assert run.tags[FAILED_STEP_TAG] == "raw__orders_orders_suite"


def test_failed_step_without_a_check_gets_only_the_step_tag() -> None:
    @dg.asset
    def broken() -> None:
        raise ValueError("unreadable file")

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([broken], instance=instance, raise_on_error=False)
        details = failure_details(run_events(instance, result.run_id))
    assert details.tags() == {FAILED_STEP_TAG: "broken"}
