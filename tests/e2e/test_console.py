"""The web console in a real browser (headless Debian Chromium via Playwright) against a real,
seeded `gridsweep server` subprocess:

1. a supervisor drills down from their community to one grid and exports its missed list;
2. two phones (wire protocol over HTTP) make a conflict, an admin settles it in the browser,
   and a phone then pulls the settled value.

Every page visited is screenshotted to test-output/screenshots/console-*.png for review. Nothing
leaves the machine: every non-loopback request is aborted. Skipped with the reason when
Chromium or Playwright is missing, unless GRIDSWEEP_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from shared.hlc import HLC
from shared.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from shared.validation import id_check_char
from tests.days import TODAY, iso

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "gridsweep-demo"  # the demo logins: admin, gl0101 (supervisor), wg010101 (worker)
LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/")
OFFICE_PC = {"width": 1366, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(*args: str) -> list[str]:
    uv = shutil.which("uv")
    if uv is not None:
        return [uv, "run", "gridsweep", *args]
    return [sys.executable, "-m", "sync_server.cli", *args]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`gridsweep server` on a free port over a temporary SQLite seeded with the small demo."""
    workdir = tmp_path_factory.mktemp("console-e2e")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'server.db'}",
        "GRIDSWEEP_ENV": "development",
    }
    subprocess.run(
        _command("seed-demo", "--scale", "small"),
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )
    port = _free_port()
    log = (workdir / "server.log").open("wb")
    # A session of its own, so stopping it also stops the Python process `uv run` started.
    proc = subprocess.Popen(
        _command("server", "--host", "127.0.0.1", "--port", str(port)),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError((workdir / "server.log").read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        log.close()


def _chromium_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (uv sync)"
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    reason = _chromium_missing()
    if reason is not None:
        if os.environ.get("GRIDSWEEP_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Office:
    """An office PC's browser on the console: signs in, follows links, screenshots pages."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        # A blocked script or style (the content security policy) shows up here.
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")

    def sign_in(self, username: str) -> None:
        self.open("/console/login")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(PASSWORD)
        self.page.get_by_role("button", name="登录").click()
        self.page.wait_for_url(f"{self.base}/console")

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"console-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def office(chromium: Any, server: str) -> Iterator[Office]:
    context = chromium.new_context(viewport=OFFICE_PC, locale="zh-CN", accept_downloads=True)
    context.route(
        "**/*",
        lambda route: route.continue_() if LOCAL.match(route.request.url) else route.abort(),
    )
    page = context.new_page()
    office = Office(page, server)
    yield office
    context.close()
    # The one expected error: the 403 page the supervisor is shown for the conflicts list.
    unexpected = [e for e in office.errors if "403" not in e]
    assert unexpected == [], unexpected


# --- the wire protocol, as a phone speaks it --------------------------------------------------


class Phone:
    """A device speaking the sync protocol over HTTP to the server process."""

    def __init__(self, base: str, username: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        self.device_id = str(uuid.uuid4())
        self.clock = HLC(f"dev-{self.device_id[:8]}")
        body = self.http.post(
            "/api/v1/auth/login",
            json={
                "username": username,
                "password": PASSWORD,
                "device_id": self.device_id,
                "device_name": f"测试手机 {self.device_id[:4]}",
                "app_version": "0.1.0",
            },
        ).json()
        self.user_id = body["user"]["id"]
        self.headers = {
            "Authorization": f"Bearer {body['access_token']}",
            PROTOCOL_HEADER: str(PROTOCOL_VERSION),
        }
        self.cursor: str | None = None
        self.records: dict[tuple[str, str], dict[str, Any]] = {}

    def pull(self) -> dict[str, Any]:
        """Pull until nothing is left; returns the last page."""
        while True:
            response = self.http.post(
                "/api/v1/sync/pull",
                json={
                    "protocol_version": PROTOCOL_VERSION,
                    "device_id": self.device_id,
                    "cursor": self.cursor,
                    "limit": 2000,
                    "pending_ops": 0,
                },
                headers=self.headers,
            )
            assert response.status_code == 200, response.text
            page = response.json()
            for record in page["records"]:
                self.records[(record["entity"], record["id"])] = record
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return page

    def _op(
        self, entity: str, record_id: str, kind: str, fields: dict[str, Any], base: int | None
    ) -> dict[str, Any]:
        return {
            "op_id": str(uuid.uuid4()),
            "entity": entity,
            "record_id": record_id,
            "kind": kind,
            "base_version": base,
            "fields": fields,
            "hlc": self.clock.now(),
            "device_id": self.device_id,
            "user_id": self.user_id,
        }

    def push(self, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self.http.post(
            "/api/v1/sync/push",
            json={
                "protocol_version": PROTOCOL_VERSION,
                "device_id": self.device_id,
                "operations": ops,
            },
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def rename(self, resident_id: str, name: str) -> dict[str, Any]:
        record = self.records[("resident", resident_id)]
        change = {"name": {"base": record["values"]["name"], "new": name}}
        return self.push([self._op("resident", resident_id, "update", change, record["version"])])[
            0
        ]

    def add_resident(self, name: str, id_number: str) -> dict[str, Any]:
        """A person found at the door, bound to a house of this phone's grid in the same batch."""
        house_id = sorted(rid for entity, rid in self.records if entity == "house")[0]
        person = str(uuid.uuid4())
        created = {
            "name": {"base": None, "new": name},
            "id_number": {"base": None, "new": id_number},
        }
        bound = {
            "resident_id": {"base": None, "new": person},
            "house_id": {"base": None, "new": house_id},
            "relation": {"base": None, "new": "tenant"},
            "start_date": {"base": None, "new": iso()},
        }
        results = self.push(
            [
                self._op("resident", person, "create", created, None),
                self._op("binding", str(uuid.uuid4()), "create", bound, None),
            ]
        )
        assert [r["status"] for r in results] == ["applied", "applied"], results
        return results[0]

    def id_numbers(self) -> list[str]:
        return sorted(
            r["values"]["id_number"]
            for (entity, _), r in self.records.items()
            if entity == "resident"
        )


def _id_number(birth: date, serial: int) -> str:
    first17 = f"350128{birth:%Y%m%d}{serial:03d}"
    return first17 + id_check_char(first17)


def _admin_token(base: str) -> dict[str, str]:
    body = httpx.post(
        f"{base}/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
    ).json()
    return {"Authorization": f"Bearer {body['access_token']}"}


# --- the scenarios ----------------------------------------------------------------------------


def test_supervisor_drills_down_to_a_grid_and_exports_its_missed_list(
    office: Office, server: str
) -> None:
    today = TODAY
    campaign = httpx.post(
        f"{server}/api/v1/campaigns",
        json={
            "name": "第3轮核酸检测",
            "kind": "testing",
            "start_date": (today - timedelta(days=1)).isoformat(),
            "days": 8,  # to six days from today
            "rule": {"grid_id": "350128-01-01-01"},
        },
        headers=_admin_token(server),
    )
    assert campaign.status_code == 201, campaign.text
    # The platform reports some completions, so the bars have something to show.
    done: list[str] = []
    for worker, share in (("wg010101", 2), ("wg010102", 3)):
        phone = Phone(server, worker)
        phone.pull()
        done += phone.id_numbers()[::share]
    moment = f"{today - timedelta(days=1)} 10:00"
    completions = "身份证号,完成时间,完成地点\n" + "".join(
        f"{n},{moment},城东采样点\n" for n in done
    )
    uploaded = httpx.post(
        f"{server}/api/v1/campaigns/{campaign.json()['id']}/completions",
        files={"file": ("平台数据.csv", completions.encode("utf-8-sig"), "text/csv")},
        headers=_admin_token(server),
        timeout=60,
    )
    assert uploaded.status_code == 200, uploaded.text
    page = office.page
    office.open("/console")
    page.wait_for_url(re.compile(r"/console/login"))
    office.shot("login")
    office.sign_in("gl0101")
    page.locator(".bar-cell").first.wait_for()
    office.shot("home-supervisor")
    page.locator("table.grid-table a").first.click()
    page.wait_for_url(re.compile(r"/console/grid/"))
    page.get_by_text("完成进度").first.wait_for()
    office.shot("grid-community")
    page.get_by_role("link", name="第1网格", exact=True).click()
    page.wait_for_url(re.compile(r"/console/grid/"))
    page.get_by_role("heading", name=re.compile("第1网格")).wait_for()
    # The grid's ~170 houses come 30 a page, with the count and the way to the next page.
    assert page.locator("table.houses tbody tr").count() == 30
    assert page.get_by_text(re.compile(r"共 \d{3} 户")).is_visible()
    assert page.get_by_role("link", name=re.compile("下一页")).is_visible()
    office.shot("grid-level5")
    with page.expect_download() as caught:
        page.locator("#export-missed-xlsx").click()
    download = caught.value
    assert download.suggested_filename.startswith("missed-350128-01-01-01-01")
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
    rows = [list(r) for r in sheet.worksheets[0].iter_rows(values_only=True)]
    header = rows[1]  # a title line, then the header
    ids = [r[header.index("身份证号")] for r in rows[2:]]
    assert len(ids) > 100  # half the grid completed; the other half is missed
    assert all(str(i).startswith("*") for i in ids)  # masked for a supervisor
    page.locator("table.houses tbody a").first.click()
    page.wait_for_url(re.compile(r"/console/house/"))
    office.shot("house")
    for name, path in (
        ("fleet", "/console/fleet"),
        ("review", "/console/review"),
        ("changes", "/console/changes"),
        ("campaigns", "/console/campaigns"),
        ("error-admin-only", "/console/conflicts"),
    ):
        office.open(path)
        if name == "campaigns":
            page.locator(".bar-cell").first.wait_for()
        office.shot(name)
    assert "只有平台管理员" in page.content()


def test_admin_settles_a_conflict_from_two_phones_and_a_phone_pulls_the_result(
    office: Office, server: str
) -> None:
    first, second = Phone(server, "wg010101"), Phone(server, "wg010101")
    first.pull()
    second.pull()
    resident_id = sorted(rid for entity, rid in first.records if entity == "resident")[0]
    assert first.rename(resident_id, "王小明")["status"] == "applied"
    clash = second.rename(resident_id, "王晓明")
    assert clash["status"] == "conflict"
    page = office.page
    office.sign_in("admin")
    page.locator(".bar-cell").first.wait_for()  # the running campaign's bar, loaded by htmx
    office.shot("home-admin")
    page.get_by_role("link", name="冲突处理").click()
    page.wait_for_url(re.compile(r"/console/conflicts"))
    office.shot("conflicts")
    page.locator(f"a[href='/console/conflicts/{clash['conflict_id']}']").click()
    page.wait_for_url(re.compile(r"/console/conflicts/"))
    assert page.locator("td.server").inner_text().strip() == "王小明"
    assert page.locator("td.device").inner_text().strip() == "王晓明"
    office.shot("conflict")
    page.locator("input[name='pick.name'][value='device']").check()
    page.get_by_role("button", name="确认处理").click()
    page.wait_for_url(re.compile(r"/console/conflicts\?msg=settled"))
    page.get_by_text("冲突已处理").wait_for()
    office.shot("conflicts-settled")
    first.pull()
    assert first.records[("resident", resident_id)]["values"]["name"] == "王晓明"
    office.open(f"/console/history/resident/{resident_id}")
    page.get_by_text("处理了冲突").wait_for()
    office.shot("history")

    # A new resident is sent back from the review queue; the phone hears the reason.
    added = first.add_resident("林新来", _id_number(date(1990, 5, 17), 123))
    office.open("/console/review")
    row = page.locator(f"#review-{added['op_id']}")
    row.get_by_placeholder("退回原因（必填）").fill("请核对姓名和身份证号")
    office.shot("review")
    row.get_by_role("button", name="退回").click()
    page.locator(f"#review-{added['op_id']} .badge.st-sent_back").wait_for()
    office.shot("review-sent-back")
    [note] = first.pull()["review_notes"]
    assert note["op_id"] == added["op_id"] and note["reason"] == "请核对姓名和身份证号"

    # Base data with one bad row: the good row loads, the bad one is reported where it is.
    good, bad = _id_number(date(1985, 3, 7), 451), _id_number(date(1972, 8, 30), 662)
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    roster = (
        "五级网格编码,道路,门牌号,楼栋,单元,房号,姓名,身份证号,与户主关系\n"
        f"350128-01-01-01-01,海滨北路,40号,1号楼,1单元,0101,郑导入,{good},户主\n"
        f"350128-01-01-01-01,海滨北路,40号,1号楼,1单元,0102,钱错号,{bad},户主\n"
    )
    office.open("/console/manage/import")
    page.set_input_files(
        "input[name=files]",
        files=[
            {"name": "补充_人房.csv", "mimeType": "text/csv", "buffer": roster.encode("utf-8-sig")}
        ],
    )
    page.get_by_role("button", name="上传并导入").click()
    page.get_by_role("heading", name="导入结果").wait_for()
    assert "校验位" in page.locator("table.errors").inner_text()
    office.shot("import-report")
    for name, path in (("changes-admin", "/console/changes"), ("fleet-admin", "/console/fleet")):
        office.open(path)
        office.shot(name)
    office.open("/console/manage/users?role=worker")
    office.shot("users")
    page.get_by_role("link", name="wg010101", exact=True).click()
    page.wait_for_url(re.compile(r"/console/manage/users/"))
    assert page.locator("table.devices tbody tr").count() >= 2  # both phones (and earlier ones)
    office.shot("user")
    office.open("/console/lang/en?next=/console")
    page.get_by_text("Your grids").wait_for()
    page.locator(".bar-cell").first.wait_for()
    office.shot("home-english")


def test_supervisor_verifies_a_matter_from_the_board_and_its_counts_move(
    office: Office, server: str
) -> None:
    """The demo's sewage matter awaits verification (its handler applied to close it, with a
    photo the phone has not uploaded): the supervisor finds it on the board, reads its timeline
    and verifies it; the board and the counts then show it closed."""
    office.sign_in("gl0101")
    office.page.get_by_role("link", name="事项", exact=True).click()
    office.page.wait_for_url(re.compile(r"/console/matters$"))
    office.page.locator("#matter-states a[data-state=closing]").click()
    office.page.get_by_role("link", name="污水井冒水，路面积水").wait_for()
    office.shot("matters-board")
    office.page.get_by_role("link", name="污水井冒水，路面积水").click()
    office.page.locator("#timeline").wait_for()
    assert office.page.locator("#matter-state").get_attribute("data-state") == "closing"
    timeline = office.page.locator("#timeline li").all_inner_texts()
    assert [line.split()[0] for line in timeline] == ["立案", "派单", "接单", "申请结单"]
    assert "已疏通，路面清理干净" in timeline[-1]
    assert "照片尚未上传" in office.page.locator("#photos-after").inner_text()
    office.shot("matter-closing")
    office.page.locator("#step-verify_close button").click()
    office.page.locator("p.flash").wait_for()
    assert office.page.locator("#matter-state").get_attribute("data-state") == "closed"
    assert office.page.locator("#timeline li").last.inner_text().startswith("核查结案")
    assert office.page.locator(".matter-actions form").count() == 0
    office.shot("matter-verified")
    office.open("/console/matters/counts")
    office.page.locator("#matter-counts").wait_for()
    office.shot("matter-counts")
    office.open("/console/matters?state=closing")
    assert office.page.locator("tr.matter-row").count() == 0


PHONE_SIZE = {"width": 390, "height": 844}


def test_supervisor_reads_a_units_claim_list_at_desk_and_phone_size(
    chromium: Any, server: str
) -> None:
    """From the matters board to the units serving the supervisor's community, and the water
    station's claim list: the order published to the community and those dispatched to it, the
    place as a handler sees it; readable on an office PC and on a phone."""
    for name, viewport in (("desk", OFFICE_PC), ("phone", PHONE_SIZE)):
        context = chromium.new_context(viewport=viewport, locale="zh-CN")
        context.route(
            "**/*",
            lambda route: route.continue_() if LOCAL.match(route.request.url) else route.abort(),
        )
        office = Office(context.new_page(), server)
        try:
            office.sign_in("gl0101")
            office.open("/console/matters")
            office.page.locator("#units-link").click()
            office.page.wait_for_url(re.compile(r"/console/units$"))
            units = office.page.locator("#units").inner_text()
            assert "城关水务站" in units and "西门志愿服务队" in units
            office.page.get_by_role("link", name="城关水务站").click()
            office.page.locator("#claims").wait_for()
            assert office.page.locator("#unit-name").inner_text() == "城关水务站"
            rows = office.page.locator("tr.claim-row").all_inner_texts()
            text = "\n".join(rows)
            assert "小区路灯不亮" in text and "待认领" in text  # published to the community
            assert "独居老人请求代购药品" in text and "派给本单位" in text
            assert "接单人：水务站 王师傅" in text  # taken by the unit's member
            assert "小时" in text
            office.page.evaluate("() => document.fonts.ready")
            office.page.wait_for_timeout(300)  # the swap repaints a frame after the face loads
            office.shot(f"claim-list-{name}")
            assert office.errors == [], office.errors
        finally:
            context.close()


def test_a_step_someone_took_first_is_refused_in_chinese_naming_who_and_when(
    chromium: Any, server: str
) -> None:
    """Two tabs on the same reported matter: one accepts it, the other then declines it from
    the page it still shows; the refusal says, in Chinese, who accepted it and when."""
    context = chromium.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    context.route(
        "**/*",
        lambda route: route.continue_() if LOCAL.match(route.request.url) else route.abort(),
    )
    first = Office(context.new_page(), server)
    try:
        first.sign_in("gl0101")
        first.open("/console/matters?state=reported")
        first.page.get_by_role("link", name="楼道堆放杂物，影响通行").click()
        first.page.locator("#step-decline").wait_for()
        second = Office(context.new_page(), server)
        second.page.goto(first.page.url, wait_until="load")
        second.page.locator("#step-accept button").click()
        second.page.locator("p.flash").wait_for()
        first.page.locator("#step-decline textarea").fill("重复上报")
        first.page.locator("#step-decline button").click()
        first.page.locator("#step-refused").wait_for()
        why = first.page.locator("#step-refused-why").inner_text()
        assert re.fullmatch(
            r"事项已不是“已上报”：.+已于 \d+月\d+日 \d\d:\d\d 将其改为“已立案”", why
        ), why
        assert first.page.locator("#matter-state").get_attribute("data-state") == "accepted"
        first.page.wait_for_load_state("load")
        first.page.evaluate("() => document.fonts.load('16px \"GridSweep CJK\"', '网格')")
        first.page.evaluate("() => document.fonts.ready")
        first.page.wait_for_timeout(300)  # the swap repaints a frame after the face loads
        first.shot("matter-refused-phone")
    finally:
        context.close()
