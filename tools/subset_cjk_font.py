"""Build the field app's bundled CJK font from Debian's `fonts-wqy-microhei`.

Offline Flutter web has no fallback fonts (they come from the internet), so Chinese text renders
as empty boxes unless the app ships a CJK font and makes it the theme font. This extracts
WenQuanYi Micro Hei (Apache-2.0) from the system's TrueType collection and keeps the glyphs of
every character GBK can encode: all 21,000-odd CJK ideographs a resident's name may use (GB 2312
alone misses name characters such as 喆, 堃 and 玥), Latin, digits and CJK punctuation. Hinting
is dropped: phones render at high density and it halves nothing we need.

    apt-get install -y fonts-wqy-microhei
    uv run python tools/subset_cjk_font.py   # rewrites field_app/assets/fonts/wqy-microhei-gbk.ttf
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
TARGET = Path(__file__).resolve().parent.parent / "field_app/assets/fonts/wqy-microhei-gbk.ttf"


def gbk_code_points(cmap: dict[int, str]) -> set[int]:
    """Code points of the font that GBK can encode, plus printable ASCII."""
    points = set(range(0x20, 0x7F))
    for point in cmap:
        try:
            chr(point).encode("gbk")
        except UnicodeEncodeError:
            continue
        points.add(point)
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args()
    font = TTCollection(str(args.source)).fonts[0]  # 0: proportional; 1 is the Mono variant
    options = subset.Options()
    options.hinting = False
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=gbk_code_points(font.getBestCmap()))
    subsetter.subset(font)
    args.target.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(args.target))
    print(f"{args.target}: {args.target.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
