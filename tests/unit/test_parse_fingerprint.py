"""When a process may reuse its parsed dbt manifest (orchestration/project.py,
parse_fingerprint)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from customer_tiers.orchestration.config import AS_OF_ENV, DBT_PROJECT_DIR
from customer_tiers.orchestration.project import parse_fingerprint


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target*", "logs", "__pycache__")
    )
    return copy


def test_the_same_project_and_settings_give_the_same_fingerprint(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = parse_fingerprint(project)
    # dbt's own output and a new analysis date (re-parsed by dbt itself) change nothing
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}", encoding="utf-8")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("...", encoding="utf-8")
    monkeypatch.setenv(AS_OF_ENV, "2026-07-02")
    assert parse_fingerprint(project) == before


def test_a_changed_model_file_or_a_new_one_changes_it(project: Path) -> None:
    before = parse_fingerprint(project)
    model = project / "models" / "marts" / "segmentation" / "customer_rfm.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n-- a comment\n", encoding="utf-8")
    changed = parse_fingerprint(project)
    assert changed != before
    (project / "models" / "marts" / "customer_new.sql").write_text("select 1", encoding="utf-8")
    assert parse_fingerprint(project) not in {before, changed}


def test_the_profile_environment_or_the_configuration_changes_it(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before = parse_fingerprint(project)
    monkeypatch.setenv("TIERS_WAREHOUSE", str(tmp_path / "other.duckdb"))
    moved = parse_fingerprint(project)
    assert moved != before
    # the manifest holds the warehouse's database name (relation names), not its folder
    monkeypatch.setenv("TIERS_WAREHOUSE", str(tmp_path / "elsewhere" / "other.duckdb"))
    assert parse_fingerprint(project) == moved
    config = tmp_path / "tiers.yml"
    config.write_text("abc:\n  shares: {A: 0.3, B: 0.4}\n", encoding="utf-8")
    monkeypatch.setenv("TIERS_CONFIG", str(config))
    configured = parse_fingerprint(project)
    assert configured not in {before, moved}
    # the same file edited in place: the vars dbt gets differ
    config.write_text("abc:\n  shares: {A: 0.25, B: 0.45}\n", encoding="utf-8")
    assert parse_fingerprint(project) not in {before, moved, configured}
