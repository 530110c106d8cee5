"""The console serves its own CJK web font (issue 18, item 8): Chinese reads on a machine with no
Chinese system font. What a browser does with it is `tests/e2e/test_console_font.py`."""

from __future__ import annotations

import re
from pathlib import Path

from fontTools.ttLib import TTFont

from sync_server.console import fonts
from sync_server.console.i18n import CATALOGUE
from tests.sync_server.console.conftest import OpenConsole

CONSOLE = Path(fonts.__file__).resolve().parent
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def test_the_font_is_served_to_anyone_cached_and_whole(browser: OpenConsole) -> None:
    visitor = browser()  # not signed in: the sign-in page is Chinese too
    response = visitor.get(fonts.FONT_URL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "font/ttf"
    assert "max-age" in response.headers["cache-control"]
    assert response.content == fonts.FONT_FILE.read_bytes()
    assert response.content[:4] == b"\x00\x01\x00\x00"  # TrueType
    again = visitor.get(fonts.FONT_URL, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_the_stylesheet_declares_it_with_swap_and_uses_it() -> None:
    css = (CONSOLE / "static" / "console.css").read_text(encoding="utf-8")
    face = re.search(r"@font-face\s*{([^}]*)}", css)
    assert face is not None
    assert f'font-family: "{fonts.FONT_FAMILY}"' in face.group(1)
    assert f'url("{fonts.FONT_URL}")' in face.group(1)
    assert "font-display: swap" in face.group(1)
    root = re.search(r":root\s*{[^}]*font-family:([^;]*);", css)
    assert root is not None and f'"{fonts.FONT_FAMILY}"' in root.group(1)


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
    assert fonts.FONT_FILE.stat().st_size < 4_000_000
