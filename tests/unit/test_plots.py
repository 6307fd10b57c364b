"""The SVG line chart: well-formed, scaled, and labelled."""

import xml.etree.ElementTree as ET

import pytest

from customer_tiers.orchestration.plots import _nice_ceiling, line_chart_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_chart_is_well_formed_with_one_line_per_series() -> None:
    svg = line_chart_svg(
        ["0", "1", "7+"],
        {"actual": [0.2, 0.7, 6.4], "expected": [0.2, 0.5, 6.2]},
        title="Holdout <check>",
        x_label="x",
        y_label="y",
    )
    root = ET.fromstring(svg)
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 2
    assert len(root.findall(f"{SVG}circle")) == 6
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Holdout <check>" in texts and "7+" in texts and "actual" in texts
    # y axis ends at 10 (the nice ceiling of 6.4): 6.4 sits 64% up a 296-pixel plot from y = 344
    first_point_of_actual = lines[0].get("points").split()[2]
    assert first_point_of_actual == f"616.0,{344 - 296 * 0.64:.1f}"


@pytest.mark.parametrize(
    ("value", "ceiling"), [(6.4, 10), (0.7, 1), (1882, 2000), (2.3, 2.5), (5, 5), (0.03, 0.05)]
)
def test_nice_ceiling(value: float, ceiling: float) -> None:
    assert _nice_ceiling(value) == pytest.approx(ceiling)


def test_empty_chart_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one category"):
        line_chart_svg([], {"a": []}, title="t", x_label="x", y_label="y")
