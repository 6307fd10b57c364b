"""How a --config file overrides config/tiers.yml: key by key, but a class of abc.combined whole."""

from __future__ import annotations

from pathlib import Path

from customer_tiers.orchestration.config import load_config


def test_a_combined_class_replaces_the_defaults_minimums_whole(tmp_path: Path) -> None:
    # The default B is {revenue: 500, frequency: 0.5}: a user's B of revenue and profit is their
    # whole rule, not revenue, profit and the default's frequency.
    override = tmp_path / "combined.yml"
    override.write_text(
        "abc:\n  mode: combined\n  combined:\n    B: {revenue: 100, profit: 40}\n"
        "  thresholds:\n    revenue: {A: 2000}\n",
        encoding="utf-8",
    )
    abc = load_config(override).abc
    assert abc.combined == {
        "A": {"revenue": 1000.0, "frequency": 1.0},  # not in the file: the default's
        "B": {"revenue": 100.0, "profit": 40.0},
    }
    # every other mapping still merges key by key
    assert abc.thresholds["revenue"] == {"A": 2000.0, "B": 500.0}
    assert abc.shares == {"A": 0.2, "B": 0.5}
