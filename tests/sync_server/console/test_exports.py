"""Resident lists exported to Excel and CSV, with personal data masked by role."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import AuditEvent, Binding, GridNode, House, Resident
from tests.factories import TinyGrid
from tests.sync_server.console.conftest import OpenConsole


def _people(session_factory: sessionmaker[Session], code_prefix: str) -> list[Resident]:
    with session_factory() as session:
        return list(
            session.scalars(
                select(Resident)
                .join(Binding, Binding.resident_id == Resident.id)
                .join(House, House.id == Binding.house_id)
                .join(GridNode, GridNode.id == House.grid_id)
                .where(GridNode.code.startswith(code_prefix))
            )
        )


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_admin_exports_full_ids_and_phones_as_csv(
    tiny: TinyGrid, browser: OpenConsole, session_factory: sessionmaker[Session]
) -> None:
    response = browser("admin").get(
        f"/console/export/residents?node={tiny.nodes['T1-1-1-1'].id}&format=csv"
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "residents-T1-1-1-1-" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese as UTF-8
    header, *rows = _csv(response.content.decode("utf-8"))
    assert header[:5] == ["网格编码", "网格", "地址", "姓名", "身份证号"]
    people = _people(session_factory, "T1-1-1-1-")
    assert len(rows) == len(people) == 6
    assert {r[4] for r in rows} == {p.id_number for p in people}
    assert {r[7] for r in rows} == {p.phone for p in people}
    with session_factory() as session:  # who exported what, and when
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
        assert event.username == "admin" and event.at is not None
        assert event.detail == {
            "export": "residents",
            "via": "console",
            "node_id": tiny.nodes["T1-1-1-1"].id,
            "format": "csv",
        }


def test_supervisor_export_masks_ids_and_phones_and_stays_in_their_subtree(
    tiny: TinyGrid, browser: OpenConsole, session_factory: sessionmaker[Session]
) -> None:
    s1 = browser("s1")
    response = s1.get(f"/console/export/residents?node={tiny.nodes['T1-1-1-1-1'].id}&format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    _, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    people = {p.id_number: p for p in _people(session_factory, "T1-1-1-1-1")}
    assert len(rows) == len(people) == 3
    for row in rows:
        masked_id, masked_phone = row[4], row[7]
        assert isinstance(masked_id, str) and masked_id.startswith("*" * 14)
        [person] = [p for n, p in people.items() if n.endswith(masked_id[-4:])]
        assert masked_phone == person.phone[:3] + "****" + person.phone[-4:]  # type: ignore[index]
        assert person.id_number not in masked_id
    other = s1.get(f"/console/export/residents?node={tiny.nodes['T1-1-1-2'].id}&format=csv")
    assert other.status_code == 404


def test_english_export_has_english_headers(tiny: TinyGrid, browser: OpenConsole) -> None:
    admin = browser("admin")
    admin.get("/console/lang/en")
    response = admin.get(f"/console/export/residents?node={tiny.nodes['T1'].id}&format=csv")
    header = _csv(response.content.decode("utf-8"))[0]
    assert header[:5] == ["Grid code", "Grid", "Address", "Name", "ID number"]
