"""dbt in this process: the project parsed once, each build handed the parsed manifest.

A run used to start dbt four times as a subprocess (a parse, then three builds), each paying
dbt's import and project load (about 4 s) before any work. Here dbt is imported once, the
project is parsed once per set of parse inputs (`manifest_for`; a process that runs several
pipelines, as the test suite's workers do, parses once), and every build gets that manifest.
dbt's own log goes to the invocation's log file; the caller sees node results as events.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# The dbt events that report a node's result (dagster-dbt turns the same events into
# materializations and check results).
RESULT_EVENTS = frozenset({"LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult"})
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# dbt's console output off (the caller reports), its file log on, no colour codes, nothing sent.
QUIET_FLAGS = (
    "--log-level", "none", "--log-level-file", "debug", "--no-use-colors",
    "--no-send-anonymous-usage-stats", "--no-version-check",
)  # fmt: skip


class DbtInvocationError(RuntimeError):
    """dbt could not parse the project or a build failed; the message names what failed."""


@dataclass
class DbtOutcome:
    success: bool
    seconds: float
    failures: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # node status -> nodes

    def counts_line(self) -> str:
        return " ".join(f"{status.upper()}={n}" for status, n in sorted(self.counts.items()))


_lock = threading.Lock()
_manifests: dict[str, Any] = {}  # one entry: the inputs' key -> dbt's Manifest


def manifest_for(key: str, args: Sequence[str]) -> Any:
    """dbt's parsed Manifest for `dbt parse <args>`, parsed again only when `key` (a digest of
    everything the parse reads) differs from the last parse's in this process."""
    with _lock:
        if key in _manifests:
            return _manifests[key]
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["parse", *args, *QUIET_FLAGS])
    if not result.success or result.result is None:
        raise DbtInvocationError(f"dbt parse failed: {result.exception or 'see dbt.log'}")
    with _lock:
        _manifests.clear()
        _manifests[key] = result.result
    return result.result


def stream_build(
    args: Sequence[str], manifest: Any, *, on_done: Callable[[DbtOutcome], None]
) -> Iterator[dict[str, Any]]:
    """`dbt <args>` in this process with `manifest`: yields each node result as dbt's structured
    log event (a dict, as `--log-format json` writes it) while dbt runs, then hands the outcome
    to `on_done`. dbt runs in a thread so results stream as nodes finish."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    events: queue.Queue[dict[str, Any]] = queue.Queue()

    def collect(msg: Any) -> None:
        if msg.info.name in RESULT_EVENTS:
            events.put(msg_to_dict(msg))

    finished: list[Any] = []
    started = time.perf_counter()

    def invoke() -> None:
        try:
            finished.append(
                dbtRunner(manifest=manifest, callbacks=[collect]).invoke([*args, *QUIET_FLAGS])
            )
        except BaseException as err:  # reported to the caller below
            finished.append(err)
        finally:
            release_duckdb()

    worker = threading.Thread(target=invoke, name="dbt", daemon=True)
    worker.start()
    while worker.is_alive() or not events.empty():
        try:
            yield events.get(timeout=0.1)
        except queue.Empty:
            continue
    worker.join()
    on_done(outcome_of(finished[0], time.perf_counter() - started))


def outcome_of(result: Any, seconds: float) -> DbtOutcome:
    """What a dbtRunner invocation (or the exception it raised) came to: failed nodes named."""
    if isinstance(result, BaseException):
        return DbtOutcome(False, seconds, [f"dbt: {result}"])
    outcome = DbtOutcome(bool(result.success), seconds)
    for node in getattr(result.result, "results", None) or []:
        status = str(node.status)
        outcome.counts[status] = outcome.counts.get(status, 0) + 1
        if status in FAILED_STATUSES:
            message = _ANSI.sub("", node.message or "").strip()
            outcome.failures.append(f"{node.node.name}: {status} {message}".strip())
    if result.exception is not None:
        outcome.failures.append(f"dbt: {result.exception}")
    if not outcome.success and not outcome.failures:
        outcome.failures.append("dbt failed; see dbt.log")
    return outcome


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open after an invocation (a class-level
    environment, meant for one dbt process): this process then opens the same file with its
    own settings, and nothing holds it when the run renames it."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # the Spark engine only
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if environment is not None:
        environment.close()


def event_message(event: dict[str, Any]) -> str:
    """dbt's one-line message of a node result, without colour codes."""
    return _ANSI.sub("", event.get("info", {}).get("msg", ""))
