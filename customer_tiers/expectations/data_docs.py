"""Great Expectations Data Docs for the validation results of each run: a static HTML site.

Rendered from the `ExpectationSuiteValidationResult` that `validate_source` already returned
(`SuiteOutcome.validation_result`), so writing the docs never runs an expectation again.

One site for every run, in `site_dir` (the pipeline uses `<warehouse dir>/reports/data_docs/`):

    index.html                      the latest run's overview, then the recent runs: the page
                                    to open (the "latest" pointer, rewritten by every build)
    runs/<run>.html                 the overview of one run: a row per source, then every failed
                                    expectation with its column, severity and unexpected count
    validations/<source>/<run>/<time>/<batch>.html
                                    GE's validation result page of one source in one run
    expectations/<source>.html      GE's page of the suite (as of the latest build)
    results/...json                 GE's validation results store: the results the pages are
                                    built from, as GE writes them (machine-readable)
    static/                         GE's fonts and images, shared by every run
    .lock                           serialises builds: a run's checks may write at once

The per-source pages are GE's own: a file-backed validation results store and a
`data_docs_sites` site (`SiteBuilder` over a `TupleFilesystemStoreBackend`) in an ephemeral
context, built with `context.build_data_docs(resource_identifiers=[...], build_index=False)`.
GE's own index page is not built: it draws its table with bootstrap-table from a CDN, so it
is blank offline. The overview pages here are plain HTML with inline styles instead, readable
without a network. GE's pages link bootstrap, jQuery and fonts from CDNs too; offline they
lose their styling and collapsible sections but their tables are plain HTML and readable.

Docs are reports: they are written for a failing run as for a passing one, beside the
warehouse and never in it, so they do not touch the rule that the published warehouse is only
replaced when every check passed.
"""

from __future__ import annotations

import copy
import datetime as dt
import fcntl
import html
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import great_expectations as gx
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from customer_tiers.expectations.runner import SuiteOutcome, outcomes_of, suite_for

SITE_NAME = "tiers"
RESULTS_DIR = "results"
RUNS_DIR = "runs"
INDEX = "index.html"
HISTORY = 20  # runs listed on the index page
_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class DataDocs:
    index: Path  # the site's index: the latest run
    run_page: Path  # this run's overview
    source_page: Path  # GE's page of this source's validation result


def write_data_docs(
    site_dir: Path,
    outcome: SuiteOutcome,
    run_name: str,
    *,
    run_time: dt.datetime | None = None,
) -> DataDocs:
    """Add `outcome`'s validation result to the site as part of run `run_name`.

    Builds GE's page for this result and its suite, then rewrites the run's overview and
    the index from every result stored for the run, so the checks of one run can each add
    their own source, in any order or at once.
    """
    if outcome.validation_result is None:
        raise ValueError(f"{outcome.source}: the outcome holds no GE validation result")
    if not _RUN_NAME.fullmatch(run_name):
        raise ValueError(f"run name must be a plain file name, got {run_name!r}")
    site_dir = Path(site_dir).resolve()
    run_id = RunIdentifier(run_name=run_name, run_time=run_time or dt.datetime.now(dt.UTC))
    result = copy.deepcopy(outcome.validation_result)
    # What GE's ValidationDefinition.run records, so the page shows the run.
    result.meta["run_id"] = run_id
    result.meta["validation_time"] = run_id.run_time
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
        run_id=run_id,
        batch_identifier=_batch_identifier(result, outcome.source),
    )
    site_dir.mkdir(parents=True, exist_ok=True)
    with _locked(site_dir / ".lock"):
        context = _site_context(site_dir)
        context.suites.add(suite_for(outcome.source))
        context.validation_results_store.set(key, result)
        context.build_data_docs(
            site_names=[SITE_NAME],
            resource_identifiers=[key, key.expectation_suite_identifier],
            build_index=False,
        )
        store = context.validation_results_store
        keys = store.list_keys()
        run_page = site_dir / RUNS_DIR / f"{run_name}.html"
        _write_text(run_page, _run_page(store, keys, run_name, root="../"))
        _write_text(site_dir / INDEX, _index_page(store, keys))
    return DataDocs(
        index=site_dir / INDEX,
        run_page=run_page,
        source_page=site_dir / _page_path(key),
    )


# --- GE ---------------------------------------------------------------------------------------


def _site_context(site_dir: Path) -> Any:
    """An ephemeral context whose validation results and docs site are files in `site_dir`."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    defaults = InMemoryStoreBackendDefaults()
    defaults.stores[defaults.validation_results_store_name]["store_backend"] = {
        "class_name": "TupleFilesystemStoreBackend",
        "base_directory": str(site_dir / RESULTS_DIR),
    }
    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(site_dir),
        },
        # Profiling pages come from the same store; there are none to build.
        "site_section_builders": {"profiling": "None"},
    }
    return gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=defaults,
            data_docs_sites={SITE_NAME: site},
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        ),
    )


def _batch_identifier(result: ExpectationSuiteValidationResult, source: str) -> str:
    """GE's batch id for a whole-table batch: `<datasource>-<asset>`."""
    batch = result.meta.get("active_batch_definition") or {}
    parts = [batch.get("datasource_name"), batch.get("data_asset_name")]
    return "-".join(str(p) for p in parts) if all(parts) else source


def _page_path(key: ValidationResultIdentifier) -> str:
    """Where GE's HtmlSiteStore writes the page of `key`, relative to the site."""
    return "/".join(["validations", *key.to_tuple()]) + ".html"


# --- overview pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stored:
    key: ValidationResultIdentifier
    result: ExpectationSuiteValidationResult

    @property
    def source(self) -> str:
        return self.key.expectation_suite_identifier.name


def _latest_per_source(keys: Iterable[ValidationResultIdentifier], run_name: str) -> list[Any]:
    """The newest key of each suite in the run (a check retried in the run adds a result)."""
    newest: dict[str, ValidationResultIdentifier] = {}
    for key in keys:
        if key.run_id.run_name != run_name:
            continue
        name = key.expectation_suite_identifier.name
        if name not in newest or key.run_id.run_time > newest[name].run_id.run_time:
            newest[name] = key
    return [newest[name] for name in sorted(newest)]


def _run_times(keys: Iterable[ValidationResultIdentifier]) -> dict[str, dt.datetime]:
    """Run name -> the time of its newest result."""
    times: dict[str, dt.datetime] = {}
    for key in keys:
        name, time = key.run_id.run_name, key.run_id.run_time
        if name not in times or time > times[name]:
            times[name] = time
    return times


def _load(store: Any, keys: list[ValidationResultIdentifier]) -> list[_Stored]:
    return [_Stored(key, store.get(key)) for key in keys]


def _blocking(stored: _Stored) -> bool:
    return any(o.severity == "error" and not o.success for o in outcomes_of(stored.result))


def _run_page(store: Any, keys: list[Any], run_name: str, *, root: str) -> str:
    body = _run_section(_load(store, _latest_per_source(keys, run_name)), run_name, root=root)
    title = f"Validation results - run {run_name}"
    return _document(title, f'<p><a href="{root}{INDEX}">Latest run</a></p>\n{body}')


def _index_page(store: Any, keys: list[Any]) -> str:
    times = _run_times(keys)
    runs = sorted(times, key=lambda name: times[name], reverse=True)[:HISTORY]
    if not runs:
        return _document("Validation results", "<p>No validation results yet.</p>")
    latest = _run_section(_load(store, _latest_per_source(keys, runs[0])), runs[0], root="")
    history = [
        "<h2>Recent runs</h2>",
        "<table>",
        "<tr><th>run</th><th>time</th><th>expectations</th></tr>",
    ]
    for name in runs:
        stored = _load(store, _latest_per_source(keys, name))
        status = _status(any(_blocking(s) for s in stored))
        link = f'<a href="{RUNS_DIR}/{quote(name)}.html">{_e(name)}</a>'
        history.append(f"<tr><td>{link}</td><td>{_time(times[name])}</td><td>{status}</td></tr>")
    history.append("</table>")
    return _document("Validation results - latest run", latest + "\n" + "\n".join(history))


def _run_section(stored: list[_Stored], run_name: str, *, root: str) -> str:
    blocked = any(_blocking(s) for s in stored)
    parts = [
        f"<h1>Run {_e(run_name)}: {_status(blocked)}</h1>",
        "<p>Great Expectations suites on the raw sources. A failed expectation of severity "
        "<b>error</b> blocks the run (nothing is published); a <b>warning</b> is reported "
        "only.</p>",
        "<table>",
        "<tr><th>source</th><th>status</th><th>expectations</th><th>failed errors</th>"
        "<th>failed warnings</th><th>validated at</th><th>Great Expectations pages</th></tr>",
    ]
    for s in stored:
        outcomes = outcomes_of(s.result)
        errors = sum(1 for o in outcomes if o.severity == "error" and not o.success)
        warnings = sum(1 for o in outcomes if o.severity == "warning" and not o.success)
        page = f'<a href="{root}{quote(_page_path(s.key))}">validation result</a>'
        suite = f'<a href="{root}expectations/{quote(s.source)}.html">suite</a>'
        parts.append(
            f"<tr><td>{_e(s.source)}</td><td>{_status(errors > 0)}</td>"
            f"<td>{len(outcomes)}</td><td>{errors}</td><td>{warnings}</td>"
            f"<td>{_time(s.key.run_id.run_time)}</td><td>{page} | {suite}</td></tr>"
        )
    parts.append("</table>")
    failed = [(s.source, o) for s in stored for o in outcomes_of(s.result) if not o.success]
    if failed:
        parts += [
            "<h2>Failed expectations</h2>",
            "<table>",
            "<tr><th>source</th><th>severity</th><th>expectation</th><th>column</th>"
            "<th>unexpected</th><th>unexpected %</th><th>details</th></tr>",
        ]
        for source, o in failed:
            percent = "" if o.unexpected_percent is None else f"{o.unexpected_percent:.2f}"
            parts.append(
                f'<tr class="{o.severity}"><td>{_e(source)}</td><td>{o.severity}</td>'
                f"<td>{_e(o.expectation)}</td><td>{_e(o.column or '')}</td>"
                f"<td>{'' if o.unexpected_count is None else o.unexpected_count}</td>"
                f"<td>{percent}</td><td>{_e(o.details)}</td></tr>"
            )
        parts.append("</table>")
    return "\n".join(parts)


_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.passed { color: #176f2c; font-weight: bold; }
.failed { color: #b00020; font-weight: bold; }
tr.error td { background: #fdecee; }
tr.warning td { background: #fff8e1; }
"""


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _status(blocked: bool) -> str:
    return '<span class="failed">failed</span>' if blocked else '<span class="passed">passed</span>'


def _time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _e(text: object) -> str:
    return html.escape(str(text))


# --- files ------------------------------------------------------------------------------------


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_text(path: Path, text: str) -> None:
    """Replace `path` in one step, so a browser never reads half a page (under the lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
