"""The report's Chinese text renders with the embedded font where no CJK font is installed.

The browser test runs Chromium with a fontconfig that holds the machine's fonts minus every font
with a Chinese glyph, and checks that this works (a Chinese label in a system font is a row of
identical boxes), then that the page's own Chinese renders with real glyphs: each ideograph of
Noto Sans SC is exactly 1 em wide, and two different characters draw different pixels.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont

from customer_tiers.orchestration.report import write_report
from customer_tiers.orchestration.report.font import (
    EMBEDDED_FAMILY,
    FONT_PATH,
    covered,
    fixed_text_characters,
    font_face_css,
)
from tests.e2e.chromium import HEADLESS_CHROMIUM_FLAGS
from tests.e2e.test_report import chromium  # noqa: F401  (the fixture)

GB2312_LEVEL_1 = {
    bytes([row, cell]).decode("gb2312")
    for row in range(0xB0, 0xD8)
    for cell in range(0xA1, 0xFF)
    if not (row == 0xD7 and cell > 0xF9)  # the last row has 89 characters
}


def embedded_font(css: str) -> TTFont:
    found = re.search(r"url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\)", css)
    assert found, css[:200]
    return TTFont(io.BytesIO(base64.b64decode(found.group(1))))


def test_the_committed_font_covers_gb2312_level_1_and_every_fixed_chinese_text() -> None:
    assert len(GB2312_LEVEL_1) == 3755
    assert covered(GB2312_LEVEL_1) == GB2312_LEVEL_1
    fixed = fixed_text_characters()
    assert {"客", "户", "分", "析", "报", "告", "欧", "萱", "，", "（"} <= fixed
    missing = "".join(sorted(fixed - covered(fixed)))
    assert not missing, f"run scripts/build_report_font.py: the font lacks {missing}"
    assert (FONT_PATH.parent / "OFL.txt").read_text(encoding="utf-8").count("OPEN FONT LICENSE")
    assert FONT_PATH.stat().st_size < 1_000_000


def test_a_page_embeds_only_the_chinese_characters_it_shows() -> None:
    css = font_face_css("<h1>客户分析报告</h1> Customers 客户，共 12 人")
    font = embedded_font(css)
    assert {chr(c) for c in font.getBestCmap()} == set("客户分析报告，共人")
    assert len(css) < 12_000  # kilobytes, not the committed font's 600 KB
    assert f'font-family: "{EMBEDDED_FAMILY}"' in css
    assert "Copyright" in font["name"].getDebugName(0) or "Adobe" in font["name"].getDebugName(0)
    assert font_face_css("客户分析报告 客户，共 12 人") == css  # same characters, same bytes
    assert font_face_css("Customer report 2026-03-31 → 42") == ""
    # 龘 is not in GB2312: left to the reader's system fonts
    assert font_face_css("龘") == ""


# ---- in a browser without CJK fonts ---------------------------------------------------------

PROBE = """
<script>
(function () {
  function bitmap(ch, family) {
    var canvas = document.createElement('canvas');
    canvas.width = canvas.height = 48;
    var g = canvas.getContext('2d');
    g.font = '40px ' + family;
    g.fillText(ch, 2, 42);
    return Array.prototype.join.call(g.getImageData(0, 0, 48, 48).data, ',');
  }
  function width(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    return range.getBoundingClientRect().width;
  }
  function probe() {
    if (document.body.getAttribute('data-rendered') !== 'true') { setTimeout(probe, 50); return; }
    var h1 = document.querySelector('h1');
    var fallback = document.createElement('span');
    fallback.textContent = h1.textContent;
    fallback.style.cssText = 'font-size: 24px; font-family: sans-serif';
    document.body.appendChild(fallback);
    var svg = Array.prototype.filter.call(
      document.querySelectorAll('#chart-tiers text'),
      function (t) { return t.textContent === '客户数'; })[0];
    var family = getComputedStyle(h1).fontFamily;
    document.body.setAttribute('data-font-probe', JSON.stringify({
      text: h1.textContent,
      size: parseFloat(getComputedStyle(h1).fontSize),
      page: width(h1),
      fallback: width(fallback),
      svg: svg ? svg.getComputedTextLength() : null,
      svg_size: svg ? parseFloat(getComputedStyle(svg).fontSize) : null,
      page_glyphs_differ: bitmap('客', family) !== bitmap('户', family),
      fallback_glyphs_differ: bitmap('客', 'sans-serif') !== bitmap('户', 'sans-serif'),
      loaded: document.fonts.check('24px "EMBEDDED"', h1.textContent)
    }));
  }
  probe();
})();
</script>
""".replace("EMBEDDED", EMBEDDED_FAMILY)


def _font_files(*pattern: str) -> set[str]:
    listed = subprocess.run(
        ["fc-list", *pattern, "--format", "%{file}\\n"], capture_output=True, text=True, check=True
    ).stdout
    return {line for line in listed.splitlines() if line}


@pytest.fixture(scope="module")
def no_cjk_fontconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fontconfig file with the machine's fonts minus any that has a Chinese glyph."""
    root = tmp_path_factory.mktemp("fontconfig")
    fonts = root / "fonts"
    fonts.mkdir()
    chinese = _font_files(":lang=zh") | _font_files(":charset=5ba2 6237")  # 客 户
    for i, file in enumerate(sorted(_font_files() - chinese)):
        (fonts / f"{i}-{Path(file).name}").symlink_to(file)
    conf = root / "fonts.conf"
    conf.write_text(
        f'<?xml version="1.0"?><fontconfig><dir>{fonts}</dir>'
        f"<cachedir>{root / 'cache'}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    return conf


def test_chinese_renders_with_real_glyphs_in_a_browser_without_cjk_fonts(
    chromium: Path,  # noqa: F811
    no_cjk_fontconfig: Path,
    demo_run: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    page = tmp_path / "report.html"
    write_report(demo_run[1], page, lang="zh")
    html = page.read_text(encoding="utf-8")
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    env = {
        "FONTCONFIG_FILE": str(no_cjk_fontconfig),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    dom = subprocess.run(
        [str(chromium), *HEADLESS_CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=180, check=True, env=env,
    ).stdout  # fmt: skip
    found = re.search(r"data-font-probe=\"([^\"]*)\"", dom)
    assert found, "the probe ran"
    probe: dict[str, Any] = json.loads(found.group(1).replace("&quot;", '"'))
    assert probe["text"] == "客户分析报告" and probe["size"] == 24
    # the control: no font of this browser has the characters, so they are boxes
    assert not probe["fallback_glyphs_differ"], "the browser still sees a CJK font"
    # the page's heading: six ideographs of 1 em each, and real, different glyphs
    assert probe["loaded"]
    assert probe["page"] == pytest.approx(6 * 24, abs=0.5)
    assert probe["page"] != pytest.approx(probe["fallback"], abs=0.5)
    assert probe["page_glyphs_differ"]
    # the charts' SVG text uses it too: the tiers chart's axis title 客户数
    assert probe["svg"] == pytest.approx(3 * probe["svg_size"], abs=0.5)
