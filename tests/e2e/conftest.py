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

from tests.e2e.harness import DEMO_PASSWORD, DEMO_WORKER, ROOT, SyncServer, chromium_missing

SCREENSHOTS = ROOT / "test-output" / "screenshots"
PHONE = {"width": 390, "height": 844}  # a common 6.1" phone in CSS pixels
LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/")

TYPING_ATTEMPTS = 4
SETTLE_SECONDS = 0.5  # a field's text unchanged this long is what the app left in it
TAKEOVER_TIMEOUT_MS = 10_000
# Before the click: note when Flutter (re)configures this <input> while it has the focus.
ARM_FOCUS_WATCH = """el => {
  el.__takenOver = false;
  const watch = new MutationObserver(() => {
    if (document.activeElement === el) { el.__takenOver = true; watch.disconnect(); }
  });
  watch.observe(el, {attributes: true, attributeFilter: ["type", "autocomplete", "autocorrect"]});
  el.__takeoverWatch = watch;
}"""
# After the click: true two frames after the field is focused and taken over (Flutter sets the
# editing state right after the configuration), false if that does not happen in time.
AWAIT_TAKEOVER = """(el, timeoutMs) => new Promise(resolve => {
  const started = performance.now();
  const check = () => {
    if (document.activeElement === el && el.__takenOver) {
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)));
    } else if (performance.now() - started > timeoutMs) {
      el.__takeoverWatch.disconnect();
      resolve(false);
    } else {
      setTimeout(check, 10);
    }
  };
  check();
})"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not for the session: Playwright's sync API keeps an event
    loop running in the main thread while it is started, so a module that starts its own
    (test_console_font: another fontconfig) or a later test that runs asyncio would fail."""
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

    def sign_in_worker(self) -> None:
        """The demo worker signs in on the open app and their grid has downloaded (online)."""
        self.type_into("用户名", DEMO_WORKER)
        self.type_into("密码", DEMO_PASSWORD)
        self.button("登录并下载数据").click()
        self.wait_text("第1网格", timeout=90_000)
        self.wait_text("在线")

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
        """Type like a worker would (real key presses), then read the field back.

        Two things can eat keystrokes in a headless browser that types far faster than a
        thumb: keys sent before Flutter has taken over the <input> just focused (its first
        editing state overwrites them), and a re-render of the app racing with the field's
        first change. So the field is focused and taken over first, and what it holds once it
        has settled must be the text typed; otherwise it is cleared and typed again.
        """
        box = self.textbox(label)
        box.wait_for(timeout=30_000)
        expected: str | None = value if clear else None
        got = ""
        for attempt in range(1, TYPING_ATTEMPTS + 1):
            if not self._focus(box):
                print(f"type_into({label!r}): Flutter did not take the field over; again")
                continue
            if expected is None:
                expected = box.input_value() + value
            retyping = attempt > 1
            if clear or retyping:
                self.page.keyboard.press("Control+A")
                self.page.keyboard.press("Backspace")
            box.press_sequentially(expected if retyping else value, delay=30)
            got = self._settled_value(box)
            if got == expected:
                return
            print(f"type_into({label!r}): typed {expected!r}, the field holds {got!r}; again")
        raise AssertionError(
            f"typing {expected!r} into {label!r}: the field holds {got!r} "
            f"after {TYPING_ATTEMPTS} attempts"
        )

    def _focus(self, box: Any) -> bool:
        """Click the field and wait until Flutter's text editing has taken over its <input>.

        Flutter web applies the field's input configuration to the focused <input> (it writes
        `type`, `autocomplete`, … again) when the framework connects the text field to it,
        a frame or more after the browser moved the focus; a key pressed before then is lost.
        """
        if box.evaluate("el => el === document.activeElement"):
            return True  # focused and connected already (typing into the same field again)
        box.evaluate(ARM_FOCUS_WATCH)
        box.click()
        return bool(box.evaluate(AWAIT_TAKEOVER, TAKEOVER_TIMEOUT_MS))

    def _settled_value(self, box: Any) -> str:
        """What the field holds once it has stopped changing (the app may still re-render)."""
        deadline = time.monotonic() + 10
        last = box.input_value()
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = box.input_value()
            if now != last:
                last, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since >= SETTLE_SECONDS:
                break
        return str(last)

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
def server(tmp_path: Path) -> Iterator[SyncServer]:
    """A sync server of its own on the small demo, for one phone's test."""
    server = SyncServer(tmp_path)
    server.seed()
    server.start()
    yield server
    server.stop()


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
