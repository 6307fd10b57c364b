"""The CJK font embedded in `tiers report`'s page: Chinese renders without an installed CJK font.

fonts/NotoSansSC-tiers.woff2 is a subset of Noto Sans CJK SC (SIL Open Font License 1.1,
fonts/OFL.txt) with GB2312 level 1, its CJK punctuation and the project's fixed Chinese texts
(scripts/build_report_font.py). Each page embeds, as a base64 @font-face, a subset of it with only
the characters the page shows: a few kilobytes. Characters outside the committed set fall back to
the fonts of the reader's machine.
"""

from __future__ import annotations

import base64
import io
import re
from functools import cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

from customer_tiers.orchestration.paths import DBT_PROJECT_DIR, PACKAGE_DIR, shipped_path

FONT_PATH = Path(__file__).with_name("fonts") / "NotoSansSC-tiers.woff2"
# The page's name for the embedded face: first in the page's font list (template.py), it
# holds only CJK glyphs, so Latin text keeps the system font.
EMBEDDED_FAMILY = "customer-tiers CJK"

# CJK radicals, symbols and punctuation, kana, unified ideographs (and extension A), compatibility
# ideographs, vertical and small forms, full-width forms, and the supplementary ideographs.
_CJK = re.compile(
    "[\u2e80-\u2fdf\u3000-\u30ff\u3100-\u312f\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\ufe10-\ufe1f\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]"
)


def is_cjk(char: str) -> bool:
    return _CJK.fullmatch(char) is not None


def cjk_characters(text: str) -> set[str]:
    return set(_CJK.findall(text))


def fixed_text_characters() -> set[str]:
    """The CJK characters of the project's own texts: the report's labels, the default
    configuration, the dbt models and the demo data (its staff and customer names)."""
    files = [
        Path(__file__).with_name("text.py"),
        shipped_path("config") / "tiers.yml",
        PACKAGE_DIR / "ingest" / "demo_data.py",
        *sorted((DBT_PROJECT_DIR / "models").rglob("*.sql")),
        *sorted((DBT_PROJECT_DIR / "models").rglob("*.yml")),
    ]
    return set().union(*(cjk_characters(p.read_text(encoding="utf-8")) for p in files))


def subset_options() -> subset.Options:
    """WOFF2, horizontal text only (no vertical metrics, no glyph variants: Japanese, Korean or
    vertical forms), the copyright and licence kept in the name table."""
    options = subset.Options()
    options.flavor = "woff2"
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    options.name_languages = [0x409]
    options.layout_features = []
    options.drop_tables += ["BASE", "VORG", "vhea", "vmtx"]
    return options


@cache
def _committed() -> tuple[bytes, frozenset[int]]:
    data = FONT_PATH.read_bytes()
    return data, frozenset(TTFont(io.BytesIO(data)).getBestCmap())


def covered(chars: set[str]) -> set[str]:
    """The characters of `chars` that the committed font has."""
    return {c for c in chars if ord(c) in _committed()[1]}


def font_face_css(page_text: str) -> str:
    """An @font-face rule embedding the committed font cut to the CJK characters of
    `page_text` (a data: URL, nothing fetched), or "" when the page shows none it has."""
    chars = covered(cjk_characters(page_text))
    if not chars:
        return ""
    options = subset_options()
    # the font's own time stamp, not the clock's: the same page gives the same bytes
    font = TTFont(io.BytesIO(_committed()[0]), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(map(ord, chars)))
    subsetter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    encoded = base64.b64encode(out.getvalue()).decode("ascii")
    return (
        f'@font-face {{ font-family: "{EMBEDDED_FAMILY}"; font-display: block; '
        f'src: url(data:font/woff2;base64,{encoded}) format("woff2"); }}'
    )
