"""Build the field app's two bundled CJK fonts (used by the console too) from Debian's fonts.

Offline Flutter web has no fallback fonts (they come from the internet), so Chinese text renders
as empty boxes unless the app ships a CJK font and makes it the theme font. Two files, both in
field_app/assets/fonts/ (its README.md states their licences):

- `gbk`: wqy-microhei-gbk.ttf, WenQuanYi Micro Hei (Apache-2.0) cut down to every character GBK
  can encode: all 21,000-odd CJK ideographs of everyday names and addresses (GB 2312 alone misses
  name characters such as 喆, 堃 and 玥), Latin, digits and CJK punctuation.
- `fallback`: cjk-ext-fallback.ttf, for the rarer name characters GBK cannot encode (䶮, 𬌗):
  what GB 18030-2022 asks for beyond GBK and the main font lacks. That is CJK Extension A
  (U+3400–U+4DBF), the end of the URO (U+9FA6–U+9FFF), the rest of GB 18030's two-byte area and
  its 2022 re-mappings of former private-use positions, and implementation level 2: the 196
  ideographs of the 通用规范汉字表 in Extensions B–E, listed in gb18030-2022-level2.txt. Glyphs
  come from HanaMinA (fonts-hanazono, Hanazono Font License), and the 31 it lacks (U+4DB6–U+4DBF,
  U+9FEB–U+9FFF) from BabelStone Han (fonts-babelstone-han, Arphic Public License), which then
  governs the merged file.
- `level2`: rewrites gb18030-2022-level2.txt from the Unihan database's kTGH field (Debian's
  unicode-data): the 通用规范汉字表 characters outside the BMP.

Hinting and OpenType layout are dropped: phones render at high density, and nothing here needs
vertical forms or ligatures.

    apt-get install -y fonts-wqy-microhei fonts-hanazono fonts-babelstone-han unicode-data
    uv run python tools/subset_cjk_font.py              # both fonts
    uv run python tools/subset_cjk_font.py fallback     # one of gbk, fallback, level2
"""

from __future__ import annotations

import argparse
import bz2
import datetime
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from fontTools import subset
from fontTools.merge import Merger
from fontTools.ttLib import TTCollection, TTFont

FONTS = Path(__file__).resolve().parent.parent / "field_app/assets/fonts"
GBK_SOURCE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
GBK_TARGET = FONTS / "wqy-microhei-gbk.ttf"
HANAZONO = Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf")
BABELSTONE = Path("/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf")
FALLBACK_TARGET = FONTS / "cjk-ext-fallback.ttf"
FALLBACK_FAMILY = "GridSweep CJK Ext"
LEVEL2 = FONTS / "gb18030-2022-level2.txt"
UNIHAN = Path("/usr/share/unicode")

EXT_A = range(0x3400, 0x4DC0)
URO_END = range(0x9FA6, 0xA000)  # after GBK's last ideograph; GB 18030-2022 level 1 to U+9FEF
# GB 18030-2005 still mapped 24 two-byte positions to the private use area; 2022 maps them to
# these (vertical punctuation, ḿ, and six ideograph components in Extension B).
REMAPPED_2022 = (*range(0xFE10, 0xFE1A), 0x1E3F, 0x20087, 0x20089, 0x200CC, 0x215D7, 0x2298F)
REMAPPED_2022 += (0x241FE,)


def subset_options() -> subset.Options:
    options = subset.Options()
    options.hinting = False
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]
    return options


def gbk_code_points(cmap: Iterable[int]) -> set[int]:
    """Code points of the font that GBK can encode, plus printable ASCII."""
    points = set(range(0x20, 0x7F))
    for point in cmap:
        try:
            chr(point).encode("gbk")
        except UnicodeEncodeError:
            continue
        points.add(point)
    return points


def gb18030_two_byte() -> set[int]:
    """Every character of GB 18030's two-byte area (GBK and what 2000/2005 added), private use
    left out."""
    points = set()
    for lead in range(0x81, 0xFF):
        for trail in (*range(0x40, 0x7F), *range(0x80, 0xFF)):
            try:
                point = ord(bytes((lead, trail)).decode("gb18030"))
            except UnicodeDecodeError:
                continue
            if not 0xE000 <= point <= 0xF8FF:
                points.add(point)
    return points


def read_level2(path: Path = LEVEL2) -> list[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [int(line.split()[0][2:], 16) for line in lines if line and not line.startswith("#")]


def build_gbk(target: Path) -> None:
    font = TTCollection(str(GBK_SOURCE)).fonts[0]  # 0: proportional; 1 is the Mono variant
    subsetter = subset.Subsetter(subset_options())
    subsetter.populate(unicodes=gbk_code_points(font.getBestCmap()))
    subsetter.subset(font)
    font.save(str(target))


def fallback_code_points(main_font: Path) -> set[int]:
    """What GB 18030-2022 (to level 2) asks for that the main font lacks."""
    wanted = gb18030_two_byte() | set(EXT_A) | set(URO_END) | set(REMAPPED_2022)
    wanted |= set(read_level2())
    return wanted - set(TTFont(main_font, lazy=True).getBestCmap())


def _subset_to(source: Path, points: set[int], target: Path) -> set[int]:
    font = TTFont(source)
    options = subset_options()
    options.layout_features = []
    options.glyph_names = False
    options.drop_tables += ["vhea", "vmtx", "VORG", "meta"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=points)
    subsetter.subset(font)
    font.save(str(target))
    return set(font.getBestCmap())


def _when() -> str:
    # SOURCE_DATE_EPOCH makes a rebuild byte-for-byte repeatable.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    day = (
        datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).date()
        if epoch
        else datetime.date.today()
    )
    return day.isoformat()


def build_fallback(target: Path) -> None:
    wanted = fallback_code_points(GBK_TARGET)
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp, "hanazono.ttf"), Path(tmp, "babelstone.ttf")
        have = _subset_to(HANAZONO, wanted & set(TTFont(HANAZONO, lazy=True).getBestCmap()), first)
        rest = wanted - have
        have |= _subset_to(BABELSTONE, rest, second)
        missing = sorted(wanted - have)
        if missing:
            raise SystemExit(f"no source has {', '.join(f'U+{p:04X}' for p in missing[:20])}")
        font = Merger().merge([str(first), str(second)])  # both 1024 units per em
    when = _when()
    name = font["name"]
    name.names = []
    records = {
        0: "Copyright 2008-2017 GlyphWiki Project (HanaMinA). "
        "(c) Copyright 1994-1999, Arphic Technology Co., Ltd.; "
        "(c) Copyright 2009-2023, Andrew West (BabelStone Han).",
        1: FALLBACK_FAMILY,
        2: "Regular",
        3: f"{FALLBACK_FAMILY} {when}",
        4: FALLBACK_FAMILY,
        5: f"Version 1.0; {when}",
        6: FALLBACK_FAMILY.replace(" ", "") + "-Regular",
        10: f"Modified on {when} by GridSweep's tools/subset_cjk_font.py: HanaMinA 2017-09-04 "
        f"(Hanazono Font License) cut down to {len(have) - len(rest)} characters and merged "
        f"with BabelStone Han 15.0.5 cut down to {len(rest)}, for the characters of "
        "GB 18030-2022 (implementation level 2) that GBK lacks. Hinting and layout tables "
        "dropped.",
        13: "Arphic Public License (ARPHICPL.TXT beside this file); the HanaMinA glyphs are "
        "also under the Hanazono Font License (LICENSE-hanazono.txt).",
        14: "http://ftp.gnu.org/non-gnu/chinese-fonts-truetype/LICENSE",
    }
    for name_id, text in records.items():
        name.setName(text, name_id, 3, 1, 0x409)
    font.save(str(target))


def write_level2(target: Path) -> None:
    """The 通用规范汉字表 characters outside the BMP, from Unihan's kTGH field."""
    rows, version = [], "?"
    for part in sorted(UNIHAN.glob("Unihan_*.txt.bz2")):
        with bz2.open(part, "rt", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("# Unicode version:"):
                    version = line.split(":", 1)[1].strip()
                fields = line.rstrip("\n").split("\t")
                if len(fields) == 3 and fields[1] == "kTGH" and int(fields[0][2:], 16) >= 0x20000:
                    rows.append((int(fields[0][2:], 16), fields[2]))
    header = f"""\
# GB 18030-2022 implementation level 2: the ideographs it adds to level 1.
#
# Level 2 (GB 18030-2022, section 9) is level 1 plus the characters of the 通用规范汉字表
# (Table of General Standard Chinese Characters, 2013; code positions in the standard's Annex E)
# that are encoded outside the BMP: {len(rows)} ideographs in CJK Unified Ideographs Extensions
# B, C, D and E. (The table's other characters outside GBK, in Extension A and at U+9FCD-U+9FCF,
# are level 1 already.) See Ken Lunde, "The GB 18030-2022 Standard" (2022),
# https://ken-lunde.medium.com/the-gb-18030-2022-standard-3d0ebaeb4132
#
# Source: the kTGH field ("2013:<number in the table>") of the Unicode Character Database's
# Unihan files (Unicode {version}, from Debian's package unicode-data), every code point
# from U+20000 on. Written by tools/subset_cjk_font.py level2.
#
# code point, character, kTGH
"""
    body = "".join(f"U+{point:04X}\t{chr(point)}\t{tgh}\n" for point, tgh in sorted(rows))
    target.write_text(header + body, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "what", nargs="*", choices=["gbk", "fallback", "level2"], default=["gbk", "fallback"]
    )
    args = parser.parse_args()
    steps = {
        "level2": (write_level2, LEVEL2),
        "gbk": (build_gbk, GBK_TARGET),
        "fallback": (build_fallback, FALLBACK_TARGET),
    }
    for what in ("level2", "gbk", "fallback"):  # the fallback depends on the other two
        if what in args.what:
            build, target = steps[what]
            build(target)
            print(f"{target}: {target.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
