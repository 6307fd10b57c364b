"""GE Data Docs of the validation results (expectations/data_docs.py): a static HTML site.

The raw tables are built as in test_expectations.py; the docs are rendered from the result
`validate_source` returned, into tmp_path only.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from customer_tiers.expectations.data_docs import write_data_docs
from customer_tiers.expectations.runner import SuiteOutcome, validate_source
from tests.unit.test_expectations import CLEAN, create_raw_tables

# nps_score 11 breaks the 0-10 scale (severity error); every other expectation passes.
SURVEYS = [
    *CLEAN["surveys"],
    {"response_id": "r3", "responded_at": dt.datetime(2024, 4, 3), "nps_score": 11},
]
T0 = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)


def text_of(page: Path) -> str:
    """The words of an HTML page as a reader sees them without scripts or styles."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", page.read_text(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Working directory, home and temporary directory all empty folders under tmp_path,
    so a file written anywhere but the docs folder shows up."""
    for name in ("cwd", "home", "tmp"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    yield tmp_path
    for name in ("cwd", "home", "tmp"):
        assert list((tmp_path / name).iterdir()) == [], f"something was written in {name}"


@pytest.fixture
def outcomes(sandbox: Path) -> dict[str, SuiteOutcome]:
    db = sandbox / "warehouse.duckdb"
    create_raw_tables(db, CLEAN | {"surveys": SURVEYS})
    found = {source: validate_source(db, source) for source in ("surveys", "staff")}
    db.unlink()  # rendering must not need the data again
    return found


def test_docs_have_an_index_and_a_page_per_source(
    sandbox: Path, outcomes: dict[str, SuiteOutcome]
) -> None:
    site = sandbox / "reports" / "data_docs"
    surveys, staff = outcomes["surveys"], outcomes["staff"]
    assert (surveys.success, staff.success) == (False, True)

    first = write_data_docs(site, surveys, "run-1", run_time=T0)
    docs = write_data_docs(site, staff, "run-1", run_time=T0 + dt.timedelta(seconds=1))

    assert docs.index == site / "index.html" and docs.index.is_file()
    assert docs.run_page == site / "runs" / "run-1.html" and docs.run_page.is_file()
    assert first.source_page.is_file() and docs.source_page.is_file()
    assert first.source_page.parent.is_relative_to(site / "validations" / "surveys" / "run-1")

    # GE's page of the failing source: status, the column and the count of unexpected values.
    page = text_of(first.source_page)
    assert "Expectation Suite: surveys" in page
    assert "Status: Failed" in page
    assert "nps_score" in page
    assert "1 unexpected values found" in page
    assert "Run Name run-1" in page
    assert "Status: Succeeded" in text_of(docs.source_page)

    # The overview: a row per source, the failed expectation with its column and count.
    overview = text_of(docs.index)
    assert "Run run-1: failed" in overview
    assert "surveys failed 9 1 0" in overview
    assert "staff passed" in overview
    assert "surveys error expect_column_values_to_be_between nps_score 1 33.33" in overview
    assert "['11']" in overview
    # ... linked to GE's pages, relative so the folder can be moved or zipped.
    links = re.findall(r'href="([^"]+)"', docs.index.read_text())
    for link in links:
        assert (site / link).is_file(), link
    assert str(first.source_page.relative_to(site)) in links
    assert "runs/run-1.html" in links
    assert text_of(docs.run_page).count("expect_column_values_to_be_between") == 1

    # Nothing outside the docs folder (the sandbox checks cwd, home and temp on exit).
    assert sorted(p.name for p in sandbox.iterdir()) == ["cwd", "home", "reports", "tmp"]
    assert [p.name for p in (sandbox / "reports").iterdir()] == ["data_docs"]


def test_index_shows_the_latest_run_and_lists_the_others(
    sandbox: Path, outcomes: dict[str, SuiteOutcome]
) -> None:
    site = sandbox / "docs"
    write_data_docs(site, outcomes["surveys"], "run-1", run_time=T0)
    write_data_docs(site, outcomes["staff"], "run-2", run_time=T0 + dt.timedelta(days=1))

    index = text_of(site / "index.html")
    assert "Run run-2: passed" in index
    assert "surveys" not in index.split("Recent runs")[0]
    assert "run-2 2024-06-02 12:00:00 UTC passed run-1 2024-06-01 12:00:00 UTC failed" in index
    # An older run keeps its own page.
    assert "Run run-1: failed" in text_of(site / "runs" / "run-1.html")


def test_a_check_rerun_in_the_same_run_replaces_its_row(
    sandbox: Path, outcomes: dict[str, SuiteOutcome]
) -> None:
    site = sandbox / "docs"
    write_data_docs(site, outcomes["surveys"], "run-1", run_time=T0)
    rerun = write_data_docs(
        site, outcomes["surveys"], "run-1", run_time=T0 + dt.timedelta(minutes=1)
    )

    overview = text_of(rerun.run_page)
    assert overview.count("surveys failed") == 1
    assert "2024-06-01 12:01:00 UTC" in overview
    assert str(rerun.source_page.relative_to(site)) in rerun.index.read_text()
    # GE's page of the first attempt is kept.
    assert len(list((site / "validations" / "surveys" / "run-1").iterdir())) == 2


def test_rendering_is_offline(
    sandbox: Path, outcomes: dict[str, SuiteOutcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("rendering tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    docs = write_data_docs(sandbox / "docs", outcomes["surveys"], "run-1")

    assert docs.source_page.is_file()


@pytest.mark.parametrize("run_name", ["", "../escape", "a/b", ".hidden"])
def test_run_name_must_be_a_plain_file_name(
    sandbox: Path, outcomes: dict[str, SuiteOutcome], run_name: str
) -> None:
    with pytest.raises(ValueError, match="run name"):
        write_data_docs(sandbox / "docs", outcomes["surveys"], run_name)
    assert not (sandbox / "docs").exists()


def test_outcome_without_a_ge_result_is_refused(sandbox: Path) -> None:
    with pytest.raises(ValueError, match="no GE validation result"):
        write_data_docs(sandbox / "docs", SuiteOutcome("staff", True, (), 0.0), "run-1")
