"""The console serves its own CJK web font (issue 18, items 7 and 8): Chinese reads on a machine
with no Chinese system font, rare name characters such as 䶮 and 𬌗 included. What a browser does
with it is `tests/e2e/test_console_font.py`."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from sync_server.console import fonts
from sync_server.console.i18n import CATALOGUE
from tests.sync_server.console.conftest import OpenConsole

CONSOLE = Path(fonts.__file__).resolve().parent
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


RARE = "䶮𬌗"  # CJK Extension A and E: not in GBK


@pytest.mark.parametrize(("url", "file"), list(fonts.FILES.items()))
def test_the_fonts_are_served_to_anyone_cached_and_whole(
    browser: OpenConsole, url: str, file: Path
) -> None:
    visitor = browser()  # not signed in: the sign-in page is Chinese too
    response = visitor.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "font/ttf"
    assert "max-age" in response.headers["cache-control"]
    assert response.content == file.read_bytes()
    assert response.content[:4] == b"\x00\x01\x00\x00"  # TrueType
    again = visitor.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_no_other_file_is_served_from_the_fonts_path(browser: OpenConsole) -> None:
    visitor = browser()
    for name in ("README.md", "wqy-microhei-gbk.ttf", "..%2F..%2Fpyproject.toml"):
        assert visitor.get(fonts.FONTS_PATH + name).status_code == 404


def test_the_served_fallback_draws_the_rare_name_characters(browser: OpenConsole) -> None:
    response = browser().get(fonts.FALLBACK_URL)
    cmap = TTFont(io.BytesIO(response.content), lazy=True).getBestCmap()
    assert [ch for ch in RARE if ord(ch) not in cmap] == []
    main = TTFont(fonts.FONT_FILE, lazy=True).getBestCmap()
    assert [ch for ch in RARE if ord(ch) in main] == []  # the fall-back is what draws them


def test_the_stylesheet_declares_it_with_swap_and_uses_it() -> None:
    css = (CONSOLE / "static" / "console.css").read_text(encoding="utf-8")
    faces = re.findall(r"@font-face\s*{([^}]*)}", css)
    assert len(faces) == 2
    for face, url in zip(faces, (fonts.FONT_URL, fonts.FALLBACK_URL), strict=True):
        assert f'font-family: "{fonts.FONT_FAMILY}"' in face
        assert f'url("{url}")' in face
        assert "font-display: swap" in face
    root = re.search(r":root\s*{[^}]*font-family:([^;]*);", css)
    assert root is not None and f'"{fonts.FONT_FAMILY}"' in root.group(1)


def _unicode_range(face: str) -> list[range]:
    declared = re.search(r"unicode-range:([^;]*);", face)
    assert declared is not None
    spans = []
    for part in declared.group(1).split(","):
        low, _, high = part.strip().removeprefix("U+").partition("-")
        spans.append(range(int(low, 16), int(high or low, 16) + 1))
    return spans


def test_the_fallback_face_covers_its_characters_and_only_them() -> None:
    """Its unicode-range holds every character of the file, so the browser asks it for 䶮 and
    𬌗, and keeps out GBK's, so a page without rare characters never downloads it."""
    css = (CONSOLE / "static" / "console.css").read_text(encoding="utf-8")
    spans = _unicode_range(re.findall(r"@font-face\s*{([^}]*)}", css)[1])
    fallback = TTFont(fonts.FALLBACK_FILE, lazy=True).getBestCmap()
    outside = [f"U+{p:04X}" for p in sorted(fallback) if not any(p in span for span in spans)]
    assert outside == []
    assert all(any(ord(ch) in span for span in spans) for ch in RARE)
    main = TTFont(fonts.FONT_FILE, lazy=True).getBestCmap()
    gbk_inside = [chr(p) for p in sorted(main) if any(p in span for span in spans)]
    assert gbk_inside == []


def test_every_page_links_the_stylesheet(browser: OpenConsole) -> None:
    page = browser().get("/console/login")
    assert 'href="/console/static/console.css"' in page.text


def test_the_font_has_every_character_the_console_writes() -> None:
    """Every Chinese text of the console (catalogue and templates) and the characters the demo
    gives names and addresses, plus the rare-but-common name characters GB 2312 lacks."""
    cmap = TTFont(fonts.FONT_FILE, lazy=True).getBestCmap()
    texts = [zh for zh, _ in CATALOGUE.values()]
    texts += [p.read_text(encoding="utf-8") for p in (CONSOLE / "templates").glob("*.html")]
    texts += [p.read_text(encoding="utf-8") for p in (CONSOLE.parent / "seed").glob("*.py")]
    texts += ["喆堃玥"]
    wanted = {ch for text in texts for ch in CJK.findall(text)}
    assert len(wanted) > 500
    missing = sorted(ch for ch in wanted if ord(ch) not in cmap)
    assert missing == []


def test_the_server_reads_the_file_by_path_and_never_imports_the_app() -> None:
    source = (CONSOLE / "fonts.py").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import)\s+field_app", source, re.M)
    for file in fonts.FILES.values():
        assert file.stat().st_size < 4_000_000
