"""The console reads on a machine with no Chinese font (issue 18, items 7, 8 and 10).

Chromium runs with a fontconfig that knows only DejaVu (Debian's fonts-dejavu-core): no CJK font
at all, like a fresh Linux office PC or a kiosk. The same console page at phone size, signed in as
the demo supervisor, is shown twice: once with the console's font blocked (every Chinese
character a box), once as served (the console's own "GridSweep CJK", from
`sync_server/console/fonts.py`). The second must have loaded that face and be able to draw 网格
with it, and the two screenshots must differ. Its fall-back face, for the rare name characters
GBK lacks, is fetched only once a page shows one: a resident called 王䶮 or 咬𬌗 then reads, where
with the fonts blocked both are boxes. The screenshots are saved to test-output/screenshots/ for a
person to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync_server.console.fonts import FALLBACK_URL, FONT_FAMILY, FONT_URL
from tests.e2e.conftest import LOCAL, PHONE, SCREENSHOTS
from tests.e2e.harness import DEMO_PASSWORD, SyncServer, chromium_missing

LATIN_ONLY = Path("/usr/share/fonts/truetype/dejavu")
SUPERVISOR = "gl0101"
FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <dir>{fonts}</dir>
  <cachedir>{cache}</cachedir>
  <alias><family>sans-serif</family><prefer><family>DejaVu Sans</family></prefer></alias>
  <alias><family>serif</family><prefer><family>DejaVu Serif</family></prefer></alias>
  <alias><family>monospace</family><prefer><family>DejaVu Sans Mono</family></prefer></alias>
</fontconfig>
"""
FACE_STATUS = f"""() => [...document.fonts]
  .filter(f => f.family.replace(/["']/g, "") === "{FONT_FAMILY}")
  .map(f => f.status)"""
RARE = "王䶮 咬𬌗"  # 䶮 U+4DAE (Extension A), 𬌗 U+2C317 (Extension E, GB 18030-2022 level 2)
# What a page listing such a resident shows; the console has no demo resident named so.
SHOW_RARE = f"""() => {{
  const p = document.createElement("p");
  p.id = "rare"; p.style.fontSize = "32px"; p.textContent = "{RARE}";
  document.querySelector("main").prepend(p);
}}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncServer]:
    server = SyncServer(tmp_path_factory.mktemp("console-font"))
    server.seed()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def latin_only_chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian Chromium whose fontconfig lists DejaVu only."""
    reason = chromium_missing()
    if reason is None and not LATIN_ONLY.is_dir():
        reason = f"{LATIN_ONLY} is missing (apt-get install -y fonts-dejavu-core)"
    if reason is not None:
        if os.environ.get("GRIDSWEEP_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("fontconfig")
    conf = workdir / "fonts.conf"
    conf.write_text(FONTS_CONF.format(fonts=LATIN_ONLY, cache=workdir / "cache"))
    env = {k: v for k, v in os.environ.items() if k != "FONTCONFIG_PATH"}
    env["FONTCONFIG_FILE"] = str(conf)
    if shutil.which("fc-list"):
        # The premise: this fontconfig has no font for Chinese at all.
        chinese = subprocess.run(
            ["fc-list", ":lang=zh"], env=env, capture_output=True, text=True, check=True
        ).stdout
        assert chinese.strip() == ""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            env=env,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def _console_at_phone_size(
    browser: Any, server: SyncServer, *, font: bool, fetched: list[str] | None = None
) -> tuple[Any, Any]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN")

    def route(route: Any) -> None:
        url = route.request.url
        if fetched is not None:
            fetched.append(url)
        if not LOCAL.match(url) or (not font and url.endswith((FONT_URL, FALLBACK_URL))):
            route.abort()
        else:
            route.continue_()

    context.route("**/*", route)
    page = context.new_page()
    page.goto(f"{server.url}/console/login", wait_until="load")
    page.get_by_label("用户名").fill(SUPERVISOR)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server.url}/console")
    page.wait_for_load_state("load")
    page.evaluate("() => document.fonts.ready")
    return context, page


def _shot(page: Any, name: str, *, only: str | None = None) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"console-font-{name}.png"
    page.wait_for_timeout(300)  # the swap repaints a frame after the face loads
    (page.locator(only) if only else page).screenshot(path=str(path))
    return path


def test_the_console_draws_chinese_with_its_own_font_where_the_machine_has_none(
    latin_only_chromium: Any, server: SyncServer
) -> None:
    context, page = _console_at_phone_size(latin_only_chromium, server, font=False)
    try:
        assert page.evaluate(f"() => document.fonts.check('16px \"{FONT_FAMILY}\"', '网格')") is (
            False
        )
        assert "loaded" not in page.evaluate(FACE_STATUS)
        without = _shot(page, "blocked")
        page.evaluate(SHOW_RARE)
        page.evaluate("() => document.fonts.ready")
        assert page.evaluate(f"() => document.fonts.check('32px \"{FONT_FAMILY}\"', '{RARE}')") is (
            False
        )
        rare_without = _shot(page, "rare-blocked", only="#rare")
    finally:
        context.close()

    fetched: list[str] = []
    context, page = _console_at_phone_size(latin_only_chromium, server, font=True, fetched=fetched)
    try:
        # The page itself asked for the face (its Chinese text needs it): nothing forces a load.
        page.wait_for_function(f"({FACE_STATUS})().includes('loaded')", timeout=60_000)
        assert page.evaluate(f"() => document.fonts.check('16px \"{FONT_FAMILY}\"', '网格')")
        assert page.get_by_text("网格").first.is_visible()
        with_font = _shot(page, "served")
        # No rare character on the page: the fall-back face stays unfetched (unicode-range).
        assert sorted(page.evaluate(FACE_STATUS)) == ["loaded", "unloaded"]
        assert not any(url.endswith(FALLBACK_URL) for url in fetched)
        page.evaluate(SHOW_RARE)
        page.wait_for_function(
            f"() => ({FACE_STATUS})().every(status => status === 'loaded')", timeout=60_000
        )
        assert any(url.endswith(FALLBACK_URL) for url in fetched)
        assert page.evaluate(f"() => document.fonts.check('32px \"{FONT_FAMILY}\"', '{RARE}')")
        rare_with = _shot(page, "rare-served", only="#rare")
        # The grid page too: names and addresses.
        page.locator("table.grid-table a").first.click()  # the supervisor's community
        page.get_by_role("link", name="第1网格", exact=True).click()
        page.wait_for_load_state("load")
        assert page.get_by_role("heading", name="第1网格").is_visible()
        _shot(page, "served-grid")
        # Its houses come a page at a time, and the search box finds one by room.
        assert page.locator("table.houses tbody tr").count() == 30
        room = page.locator("table.houses tbody tr a").nth(4).inner_text()
        page.get_by_role("searchbox").fill(room)
        page.get_by_role("button", name="搜索").click()
        page.wait_for_load_state("load")
        assert room in page.locator("table.houses tbody").inner_text()
        page.locator("#houses").scroll_into_view_if_needed()
        _shot(page, "served-grid-search")
    finally:
        context.close()

    assert without.read_bytes() != with_font.read_bytes()
    assert _differ(without, with_font)
    assert _differ(rare_without, rare_with)  # boxes, then the characters


def _differ(one: Path, other: Path) -> bool:
    from PIL import Image, ImageChops

    with Image.open(one) as a, Image.open(other) as b:
        if a.size != b.size:
            return True
        return ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is not None
