"""Jobs and schedules: the whole pipeline, run daily."""

import dagster as dg

from customer_tiers.orchestration.config import ScheduleConfig, load_config

# One run at a time: a DuckDB file takes one writer process, and every run builds the same
# work copy. The run queue honours this tag (see dagster.yaml, tag_concurrency_limits).
WAREHOUSE_TAG = {"customer_tiers/warehouse": "default"}

pipeline_job = dg.define_asset_job(
    name="tiers_pipeline",
    selection=dg.AssetSelection.all(),
    description="Ingest every source, gate it, build the marts and publish the warehouse.",
    executor_def=dg.in_process_executor,
    tags=WAREHOUSE_TAG,
)


def build_daily_schedule(schedule: ScheduleConfig) -> dg.ScheduleDefinition:
    """The daily run, at `schedule.cron` read in `schedule.timezone` (not the server's zone)."""
    return dg.ScheduleDefinition(
        name="tiers_daily",
        job=pipeline_job,
        cron_schedule=schedule.cron,
        execution_timezone=schedule.timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )


daily_schedule = build_daily_schedule(load_config().schedule)

defs = dg.Definitions(jobs=[pipeline_job], schedules=[daily_schedule])
