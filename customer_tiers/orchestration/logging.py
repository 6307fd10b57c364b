"""A compact console logger for runs started from the terminal (`tiers run`), and the run's
log file.

Dagster's default console lines carry the job name and run id on every line; on a terminal a
person wants the time, the step and the message. At the default level a stage shows its own
messages and, when it took a second or more, one line when it is done, with its duration;
`-v` (DEBUG) adds Dagster's events and every dbt node's result. The log file, when configured
(`<warehouse>.log` for `tiers run`), takes everything at DEBUG.
"""

import logging
import sys

import dagster as dg
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR

# A step's end is shown at INFO when it failed or took this long; quicker ones (the dozens
# of source checks) only at DEBUG.
LONG_STEP_SECONDS = 1.0


class _CompactFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}
        step = meta.get("step_key") or "run"
        message = meta.get("orig_message") or record.getMessage()
        event = meta.get("dagster_event")
        if event is not None and event.event_type_value == "STEP_SUCCESS":
            message = f"done in {event.event_specific_data.duration_ms / 1000:.1f} s"
        clock = self.formatTime(record, "%H:%M:%S")
        return f"{clock} {step}: {message}"


# Dagster's plain lines (no event) that come by the dozen and bury what matters: one per step
# left out after a failure, and, when dbt nodes are left out (--dbt-exclude), one per check
# without a result and per model not built.
_DETAIL = (
    "Not executing.",
    "will proceed without gating",
    "did not yield or return expected outputs",
)


class _StageLines(logging.Filter):
    """At INFO: the steps' own messages and the end of each step; Dagster's other events (step
    started, outputs yielded, steps left out after a failure, ...) are debug detail."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if self.level <= logging.DEBUG:
            return True
        meta = getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}
        event = meta.get("dagster_event")
        if event is None:
            message = record.getMessage()
            return record.levelno >= self.level and not any(part in message for part in _DETAIL)
        if event.event_type_value == "STEP_FAILURE":
            return True
        if event.event_type_value == "STEP_SUCCESS":
            return event.event_specific_data.duration_ms >= LONG_STEP_SECONDS * 1000
        return False


@dg.logger(
    config_schema={
        "log_level": dg.Field(str, is_required=False, default_value="INFO"),
        "log_file": dg.Field(str, is_required=False, description="also write DEBUG lines here"),
    },
    description="Time, step and message on stderr; everything in the log file.",
)
def compact_console(init_context: dg.InitLoggerContext) -> logging.Logger:
    level = logging.getLevelName(init_context.logger_config["log_level"])
    logger = logging.getLogger("customer_tiers.run")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    for handler in logger.handlers:
        handler.close()
    logger.handlers.clear()
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(_CompactFormatter())
    console.addFilter(_StageLines(level))
    logger.addHandler(console)
    if log_file := init_context.logger_config.get("log_file"):
        to_file = logging.FileHandler(log_file, mode="w", encoding="utf-8")
        to_file.setFormatter(_CompactFormatter())
        to_file.addFilter(_StageLines(logging.DEBUG))
        logger.addHandler(to_file)
    return logger
