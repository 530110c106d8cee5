"""Browser fixtures: headless Debian Chromium driven by Playwright, phone-sized, with every
request that is not to this machine's loopback blocked (nothing leaves the machine).

The tests skip with the reason when Chromium or Playwright is missing, unless
GRIDSWEEP_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ROOT, chromium_missing

SCREENSHOTS = ROOT / "test-output" / "screenshots"
PHONE = {"width": 390, "height": 844}  # a common 6.1" phone in CSS pixels
LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = chromium_missing()
    if reason is not None:
        if os.environ.get("GRIDSWEEP_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-default-apps",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


class FlutterPage:
    """A Flet web page with Flutter's accessibility tree switched on, found by visible text."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def open(self, url: str) -> None:
        self.page.goto(url, wait_until="networkidle")
        placeholder = self.page.locator("flt-semantics-placeholder")
        placeholder.wait_for(state="attached", timeout=60_000)
        placeholder.dispatch_event("click")

    def textbox(self, label: str) -> Any:
        return self.page.get_by_role("textbox", name=label)

    def button(self, name: str, *, exact: bool = False) -> Any:
        return self.page.get_by_role("button", name=name, exact=exact)

    def labelled(self, label: str) -> Any:
        """An icon button, found by its tooltip (Flutter puts it on a wrapping node)."""
        return self.page.get_by_label(label, exact=True).first

    def text(self, value: str | re.Pattern[str]) -> Any:
        return self.page.get_by_text(value).first

    def wait_text(self, value: str | re.Pattern[str], timeout: float = 30_000) -> None:
        self.text(value).wait_for(timeout=timeout)

    def type_into(self, label: str, value: str, *, clear: bool = False) -> None:
        box = self.textbox(label)
        box.wait_for(timeout=30_000)
        box.click()
        if clear:
            self.page.keyboard.press("Control+A")
            self.page.keyboard.press("Backspace")
        info0 = self.page.evaluate(
            "(() => {const a=document.activeElement; return a ? [a.tagName, a.value, a.getAttribute('aria-label')] : null})()"
        )
        box.press_sequentially(value, delay=30)
        info = self.page.evaluate(
            "(() => {const a=document.activeElement; return a ? [a.tagName, a.value, a.getAttribute('aria-label')] : null})()"
        )
        time.sleep(1)
        info2 = self.page.evaluate(
            "(() => {const a=document.activeElement; return a ? [a.tagName, a.value, a.getAttribute('aria-label')] : null})()"
        )
        print(
            f"DBG type_into {label!r} {value!r} before={info0} after={info} later={info2}",
            flush=True,
        )
        self.shot(f"dbg-{label}-{value}")

    def tap(self, value: str | re.Pattern[str]) -> None:
        target = self.text(value)
        target.wait_for(timeout=30_000)
        target.click()

    def shot(self, name: str) -> Path:
        """A screenshot for reviewers, after the canvas has painted the latest frame."""
        time.sleep(0.6)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def phone(browser: Any) -> Iterator[FlutterPage]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    # Flutter web asks a CDN for a script even with no_cdn; nothing may leave this machine.
    context.route(
        "**/*",
        lambda route: route.continue_() if LOCAL.match(route.request.url) else route.abort(),
    )
    page = context.new_page()
    yield FlutterPage(page)
    context.close()
