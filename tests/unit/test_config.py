"""The configuration file: defaults load, overrides merge, and bad rules are refused."""

from pathlib import Path

import pytest
import yaml

from customer_tiers.orchestration.config import ConfigError, load_config


def test_defaults_load_and_become_dbt_vars() -> None:
    config = load_config()
    assert config.abc.shares == {"A": 0.2, "B": 0.5}
    assert len(config.rfm.segments) == 10
    dbt_vars = config.dbt_vars(None)
    assert dbt_vars["as_of"] is None
    assert dbt_vars["tiers"]["rfm"]["value_class"]["min_points"] == {"A": 13, "B": 10, "C": 7}
    assert "source_path" not in dbt_vars["tiers"]


def test_override_file_changes_only_its_keys(tmp_path: Path) -> None:
    override = tmp_path / "tiers.yml"
    override.write_text(yaml.safe_dump({"abc": {"shares": {"A": 0.1, "B": 0.6}}}))
    config = load_config(override)
    assert config.abc.shares == {"A": 0.1, "B": 0.6}
    assert config.abc.mode == "share"
    assert config.rfm.value_class.min_points["A"] == 13


def _with_segments(tmp_path: Path, segments: list[dict]) -> Path:
    path = tmp_path / "tiers.yml"
    path.write_text(yaml.safe_dump({"rfm": {"segments": segments}}, allow_unicode=True))
    return path


def test_segment_grid_gap_is_refused(tmp_path: Path) -> None:
    only_champions = [{"name": "Champions", "label_zh": "冠军", "r": [5, 5], "f": [4, 5]}]
    with pytest.raises(
        ConfigError, match="cell R1 F1 must be in exactly one segment, found no segment"
    ):
        load_config(_with_segments(tmp_path, only_champions))


def test_segment_grid_overlap_is_refused(tmp_path: Path) -> None:
    everyone = {"name": "Everyone", "label_zh": "全部", "r": [1, 5], "f": [1, 5]}
    champions = {"name": "Champions", "label_zh": "冠军", "r": [5, 5], "f": [5, 5]}
    with pytest.raises(
        ConfigError, match="R5 F5 must be in exactly one segment, found Everyone, Champions"
    ):
        load_config(_with_segments(tmp_path, [everyone, champions]))


def test_abc_shares_over_one_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yml"
    path.write_text(yaml.safe_dump({"abc": {"shares": {"A": 0.6, "B": 0.5}}}))
    with pytest.raises(ConfigError, match="A \\+ B <= 1"):
        load_config(path)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yml"
    path.write_text(yaml.safe_dump({"abc": {"share": {"A": 0.2}}}))
    with pytest.raises(ConfigError, match="share"):
        load_config(path)
