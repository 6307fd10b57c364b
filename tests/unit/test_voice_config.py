"""The voice section of the configuration: loyalty grades and satisfaction labels."""

from pathlib import Path

import pytest

from customer_tiers.orchestration.config import ConfigError, load_config


def test_default_voice_configuration_reaches_dbt() -> None:
    voice = load_config().dbt_vars(None)["tiers"]["voice"]
    assert voice["min_responses"] == 30
    assert voice["followup_days"] == 30
    assert [g["grade"] for g in voice["loyalty_grades"]] == ["A", "B", "C", "D"]
    assert voice["loyalty_grades"][0] == {
        "grade": "A",
        "label": "high loyalty",
        "label_zh": "高忠诚",
        "min_satisfaction": 5,
        "repurchase_bands": [">70%"],
        "recommend": ["yes"],
    }
    assert {s["level"]: s["label_zh"] for s in voice["satisfaction_labels"]}[1] == "非常不满意"


def _override(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tiers.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bare_yes_and_no_are_read_as_answers(tmp_path: Path) -> None:
    path = _override(
        tmp_path,
        "voice:\n  loyalty_grades:\n"
        "    - {grade: A, label: a, label_zh: 甲, recommend: [yes, no]}\n"
        "    - {grade: Z, label: z, label_zh: 其他}\n",
    )
    grades = load_config(path).voice.loyalty_grades
    assert grades[0].recommend == ["yes", "no"]
    assert load_config(path).voice.min_responses == 30  # other keys keep their defaults


def test_last_grade_must_take_everyone(tmp_path: Path) -> None:
    path = _override(
        tmp_path,
        "voice:\n  loyalty_grades:\n"
        "    - {grade: A, label: a, label_zh: 甲, min_satisfaction: 4}\n",
    )
    with pytest.raises(ConfigError, match="the last grade must have no condition"):
        load_config(path)


def test_unknown_repurchase_band_is_refused(tmp_path: Path) -> None:
    path = _override(
        tmp_path,
        "voice:\n  loyalty_grades:\n"
        "    - {grade: A, label: a, label_zh: 甲, repurchase_bands: ['>90%']}\n"
        "    - {grade: Z, label: z, label_zh: 其他}\n",
    )
    with pytest.raises(ConfigError, match="repurchase_bands"):
        load_config(path)


def test_every_satisfaction_level_needs_a_label(tmp_path: Path) -> None:
    path = _override(
        tmp_path, "voice:\n  satisfaction_labels:\n    - {level: 5, label: top, label_zh: 最好}\n"
    )
    with pytest.raises(ConfigError, match="one label per level 1-5"):
        load_config(path)
