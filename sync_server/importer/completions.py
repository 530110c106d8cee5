"""Importing platform completion data (平台数据) into a campaign: who completed, when and where.

The platform exports one row per completion — an ID number, a time and a place — and a testing
round brings millions of them. The file (.xlsx or CSV, see docs/campaigns.md) is streamed with
the grid importer's reader, and handled in chunks:

1. every row is checked on its own: the ID number (GB 11643), the time (inside the campaign's
   window, not in the future), the place. A bad row is reported with its row number, column and
   reason, in Chinese too, and the other rows go on;
2. residents are found by ID number, one query per 5,000 ID numbers not seen before in the file
   (repeat rounds name the same people again and again); a row naming nobody on the roster is
   reported (`unknown_person`);
3. completions are inserted skipping those already there: the key (campaign, ID number, time)
   makes importing a file again add nothing. PostgreSQL gets them by COPY into a temporary table
   and one INSERT ... SELECT ... ON CONFLICT DO NOTHING; SQLite by a batched INSERT OR IGNORE;
4. residents completing for the first time get their `completion` mark, the compact record
   devices receive, announced to the change log for the grids of the campaign they live in.

Everything happens in the caller's transaction; nothing commits here.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared.clock import CHINA_TIME
from shared.errors import FieldError
from shared.validation import normalize_id_number, parse_id_number
from sync_server.importer import cells
from sync_server.importer.feed import ChangeSink, NoChanges
from sync_server.importer.layout import Column, SheetLayout
from sync_server.importer.reader import DataRow, open_sheets
from sync_server.importer.report import (
    RowError,
    Where,
    id_converted,
    row_error,
    row_warning,
    write_errors_csv,
)
from sync_server.models import (
    Binding,
    Campaign,
    CompletionBatch,
    CompletionMark,
    GridNode,
    House,
    Resident,
    subtree_bounds,
)

COMPLETIONS = SheetLayout(
    kind="completions",
    zh="完成情况",
    csv_suffix="完成情况",
    names=("完成情况", "完成名单", "平台数据", "completions", "platform"),
    columns=(
        Column(
            "id_number",
            "身份证号",
            "是",
            "18位，末位可为X；Excel 中请设为文本格式",
            "350128199001011231",
            "按身份证号匹配系统中的在册居民",
            ("身份证号码", "公民身份号码", "证件号码", "证件号", "身份证"),
            header_required=True,
        ),
        Column(
            "completed_at",
            "完成时间",
            "是",
            "YYYY-MM-DD HH:MM:SS，也可为 2022/4/1 8:31 或 Excel 日期时间；北京时间",
            "2022-04-01 08:31:00",
            "须在活动起止日期内；同一人同一时间的记录只导入一次",
            ("时间", "采样时间", "检测时间", "接种时间", "核查时间", "completed", "time"),
            header_required=True,
        ),
        Column(
            "place",
            "完成地点",
            "否",
            "文本，最多200个字符",
            "西门社区采样点",
            "采样点、接种点或核查地点",
            ("地点", "采样点", "采样地点", "接种点", "接种地点", "place", "site"),
        ),
    ),
)
LAYOUTS = (COMPLETIONS,)

CHUNK_ROWS = 20_000
MAX_ERRORS_KEPT = 1_000  # every error is counted; the first ones are kept with their row
_IN_BATCH = 5_000
_PLACE_MAX = 200
_FUTURE_SLACK = timedelta(minutes=10)
_CHINA_OFFSET = timedelta(hours=8)
_SQLITE_CACHE_KIB = 128 * 1024
# Fixed forever: a mark's id is derived from its campaign and resident.
_MARK_NAMESPACE = uuid.UUID("6f1d3f0e-5a57-4a8e-9d0b-3c1e2f4a7b11")
_LOOSE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2})\s*[:：时]\s*(\d{1,2})"
    r"(?:\s*(?:[:：]|分)\s*(\d{1,2})(?:\.(\d{1,6}))?\s*秒?|\s*分)?)?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$")


def mark_id(campaign_id: str, resident_id: str) -> str:
    """The id of the `completion` record of one resident in one campaign."""
    return str(uuid.uuid5(_MARK_NAMESPACE, f"{campaign_id}\x1f{resident_id}"))


@dataclass
class CompletionReport:
    """What an import of completions did; nothing in it is committed until the caller commits."""

    campaign_id: str
    file_name: str
    batch_id: int | None = None
    rows_read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected_rows: int = 0
    residents_completed: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_ERRORS_KEPT
    error_counts: Counter[str] = field(default_factory=Counter)
    warnings: list[RowError] = field(default_factory=list)  # imported rows; the first kept
    warnings_total: int = 0
    notes: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)  # each header once

    @property
    def errors_total(self) -> int:
        return sum(self.error_counts.values())

    def add(self, where: Where, error: FieldError) -> None:
        self.error_counts[error.code] += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(row_error(where, error))

    def warn(self, where: Where, warning: FieldError, *, kept_aside: bool) -> None:
        self.warnings_total += 1
        if len(self.warnings) < MAX_ERRORS_KEPT:
            self.warnings.append(row_warning(where, warning, kept_aside=kept_aside))

    def summary_lines(self) -> list[str]:
        lines = [
            f"读取 {self.rows_read} 行：导入 {self.imported} 条，已导入过 {self.duplicates} 条，"
            f"{self.rejected_rows} 行有错误未导入",
            f"新增完成人数 {self.residents_completed}",
        ]
        if self.errors_total > len(self.errors):
            lines.append(f"共 {self.errors_total} 个错误，仅列出前 {len(self.errors)} 个")
        if self.warnings_total:
            lines.append(f"{self.warnings_total} 个警告（这些行已导入）")
        if self.ignored_columns:
            lines.append("已忽略的列（不属于导入格式）：" + "、".join(self.ignored_columns))
        return lines

    def write_errors_csv(self, path: Path) -> None:
        write_errors_csv(path, [*self.errors, *self.warnings])


@dataclass(frozen=True, slots=True)
class _Row:
    where: Where
    id_number: str
    completed_at: datetime  # UTC, without tzinfo (cheaper to format in bulk)
    place: str


@dataclass
class _Import:
    session: Session
    campaign: Campaign
    report: CompletionReport
    changes: ChangeSink
    user_id: str | None
    now: datetime  # aware
    today: date  # in China
    latest: datetime  # the latest completion time accepted: naive UTC
    file_name: str
    postgres: bool
    window: tuple[date, date]
    leaves: frozenset[str]  # level-5 grids under the campaign's root
    ids: dict[str, str | FieldError] = field(default_factory=dict)  # raw -> normalised or error
    places: dict[str, str] = field(default_factory=dict)  # raw -> cleaned
    residents: dict[str, str | None] = field(default_factory=dict)  # ID number -> resident id
    marked: set[str] = field(default_factory=set)  # residents with a mark in the campaign
    batch: CompletionBatch | None = None
    copy_ready: bool = False


def import_completions(
    *,
    session: Session,
    campaign: Campaign,
    path: Path,
    file_name: str | None = None,
    user_id: str | None = None,
    changes: ChangeSink | None = None,
    now: datetime,
    chunk_rows: int = CHUNK_ROWS,
) -> CompletionReport:
    """Import a completion file (.xlsx or .csv) into `campaign`; never commits.

    Bad rows are reported and skipped, good rows imported; importing the same file again adds
    nothing. New `completion` marks are announced to `changes` (a ChangeSet: the caller passes
    it to `commit_changes` as the transaction's last write).
    """
    name = file_name or path.name
    moment = now
    report = CompletionReport(campaign_id=campaign.id, file_name=name)
    root = campaign.grid
    low, high = subtree_bounds(root.path)
    job = _Import(
        session=session,
        campaign=campaign,
        report=report,
        changes=NoChanges() if changes is None else changes,
        user_id=user_id,
        now=moment,
        today=moment.astimezone(CHINA_TIME).date(),
        latest=(moment + _FUTURE_SLACK).astimezone(UTC).replace(tzinfo=None),
        file_name=name,
        postgres=session.get_bind().dialect.name == "postgresql",
        window=(campaign.start_date, campaign.end_date),
        leaves=frozenset(
            session.scalars(
                select(GridNode.id).where(
                    GridNode.level == 5, GridNode.path >= low, GridNode.path < high
                )
            )
        ),
    )
    job.marked.update(
        session.scalars(
            select(CompletionMark.resident_id).where(CompletionMark.campaign_id == campaign.id)
        )
    )
    with ExitStack() as stack:
        if not job.postgres:
            stack.enter_context(_sqlite_cache(session))
        sheets = open_sheets([path], stack, report, LAYOUTS)
        chunk: list[_Row] = []
        for sheet in sheets:
            for data in sheet.rows():
                report.rows_read += 1
                parsed = _parse(job, data)
                if parsed is None:
                    report.rejected_rows += 1
                    continue
                chunk.append(parsed)
                if len(chunk) >= chunk_rows:
                    _write_chunk(job, chunk)
                    chunk = []
        if chunk:
            _write_chunk(job, chunk)
    if job.batch is not None:
        job.batch.rows_read = report.rows_read
        job.batch.imported = report.imported
        job.batch.duplicates = report.duplicates
        job.batch.rejected = report.rejected_rows
        report.batch_id = job.batch.id
    return report


# --- one row -----------------------------------------------------------------------------------


def _parse(job: _Import, data: DataRow) -> _Row | None:
    values = data.values
    ok = True
    id_number = _id_number(job, values.get("id_number"))
    if isinstance(id_number, FieldError):
        job.report.add(data.where, id_number)
        ok = False
    moment = _completed_at(job, values.get("completed_at"))
    if isinstance(moment, FieldError):
        job.report.add(data.where, moment)
        ok = False
    raw_place = values.get("place")
    place = job.places.get(raw_place) if isinstance(raw_place, str) else None
    if place is None:
        place = cells.text(raw_place)
        if isinstance(raw_place, str) and len(job.places) < 100_000:
            job.places[raw_place] = place  # the same few sites repeat all through a file
    too_long = cells.too_long("place", place, _PLACE_MAX)
    if not ok:
        return None
    assert isinstance(id_number, str) and isinstance(moment, datetime)
    if too_long is not None:
        # The place is a detail: the completion counts without it.
        job.report.warn(data.where, too_long, kept_aside=True)
        place = ""
    if value_id := values.get("id_number"):
        _tell_conversion(job, data.where, value_id, id_number)
    return _Row(data.where, id_number, moment, place)


def _tell_conversion(job: _Import, where: Where, value: object, id_number: str) -> None:
    """A warning for an old 15-digit number read as its 18 digits (most rows skip at once: the
    cell already is the stored form)."""
    if value == id_number:
        return
    shown = normalize_id_number(value)
    if len(shown) == 15 and id_number != shown:
        job.report.warn(where, id_converted(shown, id_number), kept_aside=False)


def _id_number(job: _Import, value: object) -> str | FieldError:
    if isinstance(value, str) and value in job.ids:
        return job.ids[value]
    raw = cells.id_number_text("id_number", value)
    if isinstance(raw, FieldError):
        return raw
    info = parse_id_number(raw, today=job.today)
    result = info if isinstance(info, FieldError) else info.id_number
    if isinstance(value, str):
        job.ids[value] = result
    return result


def _completed_at(job: _Import, value: object) -> datetime | FieldError:
    moment = _local_or_aware(value)
    if moment is None:
        shown = cells.text(value)
        if not shown:
            return FieldError("completed_at", "required", "the completion time is required")
        return FieldError(
            "completed_at",
            "time_format",
            f"{shown!r} is not a date and time (use YYYY-MM-DD HH:MM:SS)",
            {"value": shown},
        )
    if moment.tzinfo is None:  # China time, the common case: no zone arithmetic per row
        local, utc = moment, moment - _CHINA_OFFSET
    else:
        local = moment.astimezone(CHINA_TIME).replace(tzinfo=None)
        utc = moment.astimezone(UTC).replace(tzinfo=None)
    start, end = job.window
    if not start <= local.date() <= end:
        return FieldError(
            "completed_at",
            "outside_window",
            f"{local:%Y-%m-%d %H:%M} is outside the campaign ({start} to {end})",
            {"value": f"{local:%Y-%m-%d %H:%M}", "start": start, "end": end},
        )
    if utc > job.latest:
        return FieldError(
            "completed_at",
            "time_future",
            f"{local:%Y-%m-%d %H:%M} is in the future",
            {"value": f"{local:%Y-%m-%d %H:%M}"},
        )
    return utc


def parse_moment(value: object) -> datetime | None:
    """A completion time cell as an aware datetime (zone-less times are China time), or None.

    Accepts Excel date-times and serial numbers, ISO 8601, 2022/4/1 8:31, 2022年4月1日 8时31分,
    20220401083100, and a bare date (midnight).
    """
    moment = _local_or_aware(value)
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=CHINA_TIME)


def _local_or_aware(value: object) -> datetime | None:
    """`parse_moment` leaving China time naive."""
    if isinstance(value, str):
        try:  # the common case, ISO 8601 as platforms export it, without cleaning the cell
            return datetime.fromisoformat(value)
        except ValueError:
            return _from_text(cells.text(value))
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if cells.is_excel_serial(value):
        return cells.excel_serial(value)
    return _from_text(cells.text(value))


def _from_text(raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        m = _LOOSE.match(raw) or _COMPACT.match(raw)
        if m is None:
            return None
        parts = m.groups()
        fraction = parts[6] if len(parts) > 6 and parts[6] else "0"
        try:
            moment = datetime(
                int(parts[0]),
                int(parts[1]),
                int(parts[2]),
                int(parts[3] or 0),
                int(parts[4] or 0),
                int(parts[5] or 0),
                int(fraction.ljust(6, "0")[:6]),
            )
        except ValueError:
            return None
    return moment


# --- one chunk ---------------------------------------------------------------------------------


def _write_chunk(job: _Import, chunk: list[_Row]) -> None:
    _find_residents(job, {r.id_number for r in chunk})
    good: list[tuple[_Row, str]] = []
    for row in chunk:
        resident_id = job.residents.get(row.id_number)
        if resident_id is None:
            job.report.rejected_rows += 1
            job.report.add(
                row.where,
                FieldError(
                    "id_number",
                    "unknown_person",
                    "nobody on the roster has this ID number",
                    {"value": row.id_number[-4:]},
                ),
            )
            continue
        good.append((row, resident_id))
    if not good:
        return
    good.sort(key=lambda pair: (pair[0].id_number, pair[0].completed_at))  # the key's order
    batch = _batch(job)
    if job.postgres:
        inserted = _copy_completions(job, batch.id, good)
    else:
        inserted = _insert_completions(job, batch.id, good)
    job.report.imported += inserted
    job.report.duplicates += len(good) - inserted
    _mark(job, {resident_id for _, resident_id in good})


def _find_residents(job: _Import, id_numbers: set[str]) -> None:
    unknown = sorted(n for n in id_numbers if n not in job.residents)
    for start in range(0, len(unknown), _IN_BATCH):
        batch = unknown[start : start + _IN_BATCH]
        found = dict(
            job.session.execute(
                select(Resident.id_number, Resident.id).where(
                    Resident.id_number.in_(batch), Resident.deleted.is_(False)
                )
            ).all()
        )
        for number in batch:
            job.residents[number] = found.get(number)


def _batch(job: _Import) -> CompletionBatch:
    if job.batch is None:
        job.batch = CompletionBatch(
            campaign_id=job.campaign.id,
            file_name=job.file_name[:255],
            user_id=job.user_id,
            started_at=job.now,
            rows_read=0,
            imported=0,
            duplicates=0,
            rejected=0,
        )
        job.session.add(job.batch)
        job.session.flush()
    return job.batch


def _insert_completions(job: _Import, batch_id: int, good: list[tuple[_Row, str]]) -> int:
    # The DB-API directly: SQLAlchemy's per-row type processing would cost more than SQLite's
    # insert. The text form of the time is the one SQLAlchemy's SQLite DateTime writes.
    rows = [
        (
            job.campaign.id,
            row.id_number,
            _sqlite_text(row.completed_at),
            resident_id,
            row.place,
            batch_id,
        )
        for row, resident_id in good
    ]
    connection = job.session.connection()
    before = _total_changes(connection)
    connection.exec_driver_sql(
        "INSERT OR IGNORE INTO completions "
        "(campaign_id, id_number, completed_at, resident_id, place, batch_id) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    return _total_changes(connection) - before


@contextmanager
def _sqlite_cache(session: Session) -> Iterator[None]:
    """A larger page cache while millions of keys go into the completions index (SQLite's
    default 2 MiB makes every insert a disk read once the index outgrows it)."""
    connection = session.connection()
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def _sqlite_text(moment: datetime) -> str:
    """A naive UTC datetime as SQLAlchemy's SQLite DateTime stores it (2022-04-01 00:31:00.000000)."""
    text = str(moment)  # far faster than strftime
    return text if len(text) == 26 else text + ".000000"


def _total_changes(connection: Any) -> int:
    return int(connection.exec_driver_sql("SELECT total_changes()").scalar_one())


def _copy_completions(job: _Import, batch_id: int, good: list[tuple[_Row, str]]) -> int:
    connection = job.session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        if not job.copy_ready:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS completion_load "
                "(campaign_id varchar(36), id_number varchar(18), completed_at timestamptz, "
                "resident_id varchar(36), place varchar(200), batch_id integer) "
                "ON COMMIT DROP"
            )
            job.copy_ready = True
        cursor.execute("TRUNCATE completion_load")
        with cursor.copy(
            "COPY completion_load (campaign_id, id_number, completed_at, resident_id, place, "
            "batch_id) FROM STDIN"
        ) as copy:
            for row, resident_id in good:
                copy.write_row(
                    (
                        job.campaign.id,
                        row.id_number,
                        f"{row.completed_at}+00",
                        resident_id,
                        row.place,
                        batch_id,
                    )
                )
        cursor.execute(
            "INSERT INTO completions "
            "(campaign_id, id_number, completed_at, resident_id, place, batch_id) "
            "SELECT campaign_id, id_number, completed_at, resident_id, place, batch_id "
            "FROM completion_load ON CONFLICT DO NOTHING"
        )
        return int(cursor.rowcount)


def _mark(job: _Import, resident_ids: set[str]) -> None:
    new = sorted(resident_ids - job.marked)
    if not new:
        return
    campaign_id = job.campaign.id
    rows: list[dict[str, Any]] = [
        {
            "id": mark_id(campaign_id, rid),
            "campaign_id": campaign_id,
            "resident_id": rid,
            "version": 1,
            "updated_at": job.now,
            "updated_by_user_id": job.user_id,
            "updated_by_device_id": None,
            "deleted": False,
            "clocks": {},
        }
        for rid in new
    ]
    dialect = postgresql if job.postgres else sqlite
    job.session.execute(dialect.insert(CompletionMark).on_conflict_do_nothing(), rows)
    job.marked.update(new)
    job.report.residents_completed += len(new)
    homes: dict[str, set[str]] = {}
    for start in range(0, len(new), _IN_BATCH):
        for rid, grid_id in job.session.execute(
            select(Binding.resident_id, House.grid_id)
            .join(House, House.id == Binding.house_id)
            .where(
                Binding.resident_id.in_(new[start : start + _IN_BATCH]),
                Binding.end_date.is_(None),
                Binding.deleted.is_(False),
            )
        ):
            homes.setdefault(rid, set()).add(grid_id)
    for rid in new:
        # Only the campaign's own grids: devices elsewhere do not hold the campaign.
        grids = homes.get(rid, set()) & job.leaves
        if grids:
            job.changes.add("completion", mark_id(campaign_id, rid), grids)
