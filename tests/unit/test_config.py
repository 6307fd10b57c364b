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


# --- issue 16 item 6: any file --config points at gives exit 2 with one message naming it ---

BOMB = "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9 if p else ['lol'] * 9)}]\n"
    for p, n in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)


def _bad_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "tiers.yml"
    if name == "folder":
        path.mkdir()
    elif name == "gbk":
        path.write_bytes("abc:\n  labels_zh: {A: 高价值, B: 中, C: 低}\n".encode("gbk"))
    elif name == "alias_bomb":
        path.write_text(BOMB, encoding="utf-8")
    elif name == "invalid_yaml":
        path.write_text("abc:\n  mode: [share\n", encoding="utf-8")
    elif name == "list":
        path.write_text("- abc\n- rfm\n", encoding="utf-8")
    elif name == "unknown_key":
        path.write_text("abc:\n  mode: share\n  sharez: {A: 0.2}\n", encoding="utf-8")
    elif name == "wrong_type":
        path.write_text("clv:\n  horizon_days: 365\nchurn:\n  win_back_cost: lots\n")
    elif name == "deep":
        path.write_text("[" * 5000, encoding="utf-8")
    return path  # "missing": never written


BAD_FILES = {
    "missing": "configuration file not found: {path}",
    "folder": "{path}: is a folder; --config takes a YAML file",
    "gbk": "{path} line 2: not UTF-8 text (byte 0xb8); save the configuration as UTF-8",
    "alias_bomb": "{path} line 2, column 8: not valid YAML: YAML aliases are not accepted (*a)",
    "invalid_yaml": "{path} line 3, column 1: not valid YAML: while parsing a flow sequence",
    "list": "{path}: expected a mapping of keys at the top level, found a list",
    "unknown_key": "{path} line 3: abc.sharez: unknown key",
    "wrong_type": "{path} line 4: churn.win_back_cost: Input should be a valid number",
    "deep": "{path}: nested too deeply to be a configuration",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_configuration_file_is_one_error_naming_it(tmp_path: Path, name: str) -> None:
    path = _bad_file(tmp_path, name)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(BAD_FILES[name].format(path=path)), message
    assert "\n" not in message and "Traceback" not in message


def test_the_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    # 9 ** 9 = 387 million strings once expanded; refused while composing, so nothing is built
    assert len(BOMB.encode()) < 400
    path = _bad_file(tmp_path, "alias_bomb")
    with pytest.raises(ConfigError, match="aliases are not accepted"):
        load_config(path)


@pytest.mark.parametrize("name", ["missing", "gbk", "alias_bomb", "wrong_type"])
def test_the_cli_exits_2_on_a_bad_configuration(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from customer_tiers.orchestration.cli import main
    from customer_tiers.orchestration.errors import EXIT_USAGE

    path = _bad_file(tmp_path, name)
    sources = tmp_path / "sources"
    sources.mkdir()
    for argv in (
        ["run", "--sources", str(sources), "--warehouse", str(tmp_path / "w.duckdb")],
        ["dbt", "--warehouse", str(tmp_path / "w.duckdb")],
    ):
        assert main([*argv, "--config", str(path)]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith(f"error: {BAD_FILES[name].format(path=path)}"[:60]), err


def test_the_unit_tests_configuration_is_complete_and_fixed(tmp_path: Path) -> None:
    """dbt's unit tests read dbt_project/unit_test_config.yml (var tiers_unit_test), never the
    user's configuration: it holds every section dbt reads, and --config changes only `tiers`."""
    from customer_tiers.orchestration.config import UNIT_TEST_CONFIG_PATH

    user = tmp_path / "tiers.yml"
    user.write_text("abc: {mode: threshold}\nchurn: {win_back_cost: 50}\n", encoding="utf-8")
    default, changed = load_config().dbt_vars(None), load_config(user).dbt_vars(None)
    assert changed["tiers"]["abc"]["mode"] == "threshold" != default["tiers"]["abc"]["mode"]
    assert changed["tiers_unit_test"] == default["tiers_unit_test"]
    assert changed["tiers_unit_test"]["abc"]["mode"] == "share"
    fixed = yaml.safe_load(UNIT_TEST_CONFIG_PATH.read_text(encoding="utf-8"))
    assert set(fixed) == set(default["tiers"]), "a section dbt reads is not fixed for unit tests"
