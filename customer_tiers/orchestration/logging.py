"""A compact console logger for runs started from the terminal (`tiers run`).

Dagster's default console lines carry the job name and run id on every line; on a terminal a
person wants the time, the step and the message.
"""

import logging
import sys

import dagster as dg


class _CompactFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        step = meta.get("step_key") or "run"
        message = meta.get("orig_message") or record.getMessage()
        clock = self.formatTime(record, "%H:%M:%S")
        return f"{clock} {step}: {message}"


@dg.logger(
    config_schema={"log_level": dg.Field(str, is_required=False, default_value="INFO")},
    description="Time, step and message on stderr.",
)
def compact_console(init_context: dg.InitLoggerContext) -> logging.Logger:
    level = init_context.logger_config["log_level"]
    logger = logging.getLogger("customer_tiers.run")
    logger.setLevel(level)
    logger.propagate = False
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CompactFormatter())
    logger.addHandler(handler)
    return logger
