"""Build the CJK font that `tiers report` embeds (customer_tiers/orchestration/report/fonts/).

A subset of Noto Sans CJK SC Regular (SIL Open Font License 1.1, OFL.txt beside the font) with
the 3,755 characters of GB2312 level 1 (the common simplified characters), GB2312's CJK
punctuation and full-width forms, and every CJK character of the project's fixed texts: the
report's labels, config/tiers.yml, the dbt models and the demo data's names. At report time the
page gets a subset of this file with only the characters it shows (report/font.py).

Source: Debian's fonts-noto-cjk (NotoSansCJK-Regular.ttc, face 2 is SC); without installing it:
    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb noto
    .venv/bin/python scripts/build_report_font.py \
        noto/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from customer_tiers.orchestration.report.font import (  # noqa: E402
    FONT_PATH,
    fixed_text_characters,
    is_cjk,
    subset_options,
)

SC_FACE = "Noto Sans CJK SC"


def gb2312_characters() -> set[str]:
    """GB2312 level 1 (rows 16-55) and the CJK symbols of rows 1-9."""
    found: set[str] = set()
    for row in [*range(1, 10), *range(16, 56)]:
        for cell in range(1, 95):
            try:
                char = bytes([0xA0 + row, 0xA0 + cell]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            if row >= 16 or is_cjk(char):
                found.add(char)
    return found


def sc_face(path: Path) -> TTFont:
    if path.suffix.lower() == ".ttc":
        for font in TTCollection(str(path), recalcTimestamp=False).fonts:
            if font["name"].getDebugName(1) == SC_FACE:
                return font
        raise SystemExit(f"{path}: no {SC_FACE} face")
    return TTFont(str(path), recalcTimestamp=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="NotoSansCJK-Regular.ttc or NotoSansSC OTF")
    parser.add_argument("--out", type=Path, default=FONT_PATH)
    args = parser.parse_args()

    font = sc_face(args.source)
    wanted = gb2312_characters() | fixed_text_characters()
    cmap = font.getBestCmap()
    missing = sorted(c for c in wanted if ord(c) not in cmap)
    options = subset_options()
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in wanted if ord(c) in cmap])
    subsetter.subset(font)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(args.out), options)
    print(f"{args.out}: {len(wanted) - len(missing):,} characters, {args.out.stat().st_size:,} B")
    if missing:
        print(f"not in the source font: {''.join(missing)}")


if __name__ == "__main__":
    main()
