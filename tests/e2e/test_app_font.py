"""The field app draws rare name characters GBK lacks (issue 18, item 7): 王䶮 and 咬𬌗 typed into
the sign-in form read as characters, where without the bundled fall-back font (field_app/views/
theme.py: every text style falls back to it) 䶮 and 𬌗 are boxes. Flutter paints on a canvas, so
the field is compared as pixels: once with the fall-back blocked, once served. Screenshots go to
test-output/screenshots/app-font-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from field_app.views.theme import FALLBACK_URL, FONT_URL
from tests.e2e.conftest import LOCAL, PHONE, SCREENSHOTS, FlutterPage
from tests.e2e.harness import FieldApp

RARE = "王䶮咬𬌗"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FieldApp]:
    # No server: the sign-in form is all this needs.
    app = FieldApp(tmp_path_factory.mktemp("app-font"), "http://127.0.0.1:9")
    app.start()
    yield app
    app.stop()


def _typed(
    browser: Any, app: FieldApp, *, fallback: bool, unlike: Path | None = None
) -> tuple[Path, list[str]]:
    """The user-name field holding RARE, as a screenshot, and the font files the page fetched.
    The field is shot until two shots in a row agree and, with `unlike`, differ from that one (for
    up to 30 s): Flutter draws with a font only once it has loaded, which a busy machine delays."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    fonts: list[str] = []

    def route(route: Any) -> None:
        url = route.request.url
        if url.endswith((FONT_URL, FALLBACK_URL)):
            fonts.append(url)
        if not LOCAL.match(url) or (not fallback and url.endswith(FALLBACK_URL)):
            route.abort()
        else:
            route.continue_()

    context.route("**/*", route)
    try:
        phone = FlutterPage(context.new_page())
        phone.open(app.url)
        phone.textbox("用户名").wait_for(timeout=60_000)
        phone.type_into("用户名", RARE)
        phone.textbox("密码").click()  # the caret leaves the field compared
        path = SCREENSHOTS / f"app-font-field-{'served' if fallback else 'blocked'}.png"
        previous = b""
        for _ in range(60):
            phone.page.wait_for_timeout(500)
            phone.textbox("用户名").screenshot(path=str(path))
            shot = path.read_bytes()
            # Still (no caret or focus animation left) and, when asked, drawn differently.
            if shot == previous and (unlike is None or shot != unlike.read_bytes()):
                break
            previous = shot
        phone.shot(f"app-font-{'served' if fallback else 'blocked'}")
        return path, fonts
    finally:
        context.close()


def test_the_app_draws_rare_name_characters_with_its_fallback_font(
    browser: Any, app: FieldApp
) -> None:
    without, asked = _typed(browser, app, fallback=False)
    assert any(url.endswith(FALLBACK_URL) for url in asked)  # the app does ask for it
    with_fallback, fetched = _typed(browser, app, fallback=True, unlike=without)
    assert any(url.endswith(FONT_URL) for url in fetched)
    assert any(url.endswith(FALLBACK_URL) for url in fetched)

    from PIL import Image, ImageChops

    def ink(image: Any) -> int:
        """Dark pixels inside the field's border: a box (tofu) is a thin outline, 䶮 and 𬌗
        are many strokes."""
        width, height = image.size
        inside = image.convert("L").crop((12, 20, width - 12, height - 20))
        return sum(inside.histogram()[:128])

    with Image.open(without) as a, Image.open(with_fallback) as b:
        assert a.size == b.size
        assert ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is not None
        # Both draw 王 and 咬 (GBK, the main font); the characters the fall-back brings add ink
        # where the blocked font left two empty boxes.
        assert ink(b) > 1.15 * ink(a), (ink(a), ink(b))
