"""Importing platform completion data (平台数据) into a campaign: who completed, when and where.

The platform exports one row per completion — an ID number, a time and a place — and a testing
round brings millions of them. The file (.xlsx or CSV, see docs/campaigns.md) is streamed with
the grid importer's reader (`Sheet.cells`: no dict per row), and:

1. every row is checked on its own: the ID number (GB 11643), the time (inside the campaign's
   window, not in the future), the place. A bad row is reported with its row number, column and
   reason, in Chinese too, and the other rows go on. Distinct texts are checked once (a round
   names the same people again and again); an ISO time inside the window takes a short path;
2. good rows go, as they are read, into a temporary load table: one COPY on PostgreSQL, in
   COPY's text form written here; executemany on SQLite;
3. then set-based: the file's distinct ID numbers are matched to residents by one join; rows
   naming nobody are reported (`unknown_person`), in row order among the other errors;
   completions are inserted by one INSERT ... SELECT skipping those already there — the key
   (campaign, ID number, time) makes importing a file again add nothing;
4. residents completing for the first time get their `completion` mark, the compact record
   devices receive, announced to the change log for the grids of the campaign they live in.

Everything happens in the caller's transaction; nothing commits here.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.clock import CHINA_TIME
from shared.errors import FieldError
from shared.validation import normalize_id_number, parse_id_number
from sync_server.importer import cells
from sync_server.importer.feed import ChangeSink, NoChanges
from sync_server.importer.layout import Column, SheetLayout
from sync_server.importer.reader import Sheet, open_sheets
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
    GridNode,
    House,
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
Progress = Callable[[float], None]  # the share of the file done, 0 to 1


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


_KEYS = ("id_number", "completed_at", "place")


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
    good_ids: set[str] = field(default_factory=set)  # of the rows that passed their checks
    places: dict[str, tuple[str, FieldError | None]] = field(default_factory=dict)
    batch: CompletionBatch | None = None


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
    progress: Progress | None = None,
) -> CompletionReport:
    """Import a completion file (.xlsx or .csv) into `campaign`; never commits.

    Bad rows are reported and skipped, good rows imported; importing the same file again adds
    nothing. New `completion` marks are announced to `changes` (a ChangeSet: the caller passes
    it to `commit_changes` as the transaction's last write). `progress`, if given, is called
    with the share of the file read (0 to 1) as the rows stream, then 1.0 once written.
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
    with ExitStack() as stack:
        if not job.postgres:
            stack.enter_context(_sqlite_cache(session))
        sheets = open_sheets([path], stack, report, LAYOUTS)
        load: _Load = _CopyLoad(job) if job.postgres else _SqliteLoad(job)
        try:
            meter = _Meter(path, progress)
            for index, sheet in enumerate(sheets):
                _stream(job, sheet, index, load, chunk_rows, meter)
            load.close()
            _settle(job, load, sheets)
        finally:
            load.drop()
    if progress is not None:
        progress(1.0)
    if job.batch is not None:
        job.batch.rows_read = report.rows_read
        job.batch.imported = report.imported
        job.batch.duplicates = report.duplicates
        job.batch.rejected = report.rejected_rows
        report.batch_id = job.batch.id
    return report


class _Meter:
    """How far through the file the rows are: rows read times the bytes a row takes in the
    file's first 64 KiB, over the file's size (a CSV's rows are much alike). An .xlsx is
    compressed, so there the share is only a guess; the bar never reaches 100% before the end."""

    def __init__(self, path: Path, progress: Progress | None) -> None:
        self.progress = progress
        self.size = 1
        self.row_bytes = 40.0
        if progress is None:
            return
        self.size = max(path.stat().st_size, 1)
        with path.open("rb") as f:
            sample = f.read(1 << 16)
        lines = sample.count(b"\n")
        if lines and path.suffix.lower() == ".csv":
            self.row_bytes = len(sample) / lines
        else:  # deflate stores a row of this sheet in about 12 bytes
            self.row_bytes = 12.0

    def tell(self, rows: int) -> None:
        if self.progress is not None:
            self.progress(min(0.99, rows * self.row_bytes / self.size))


# --- the rows, streamed ------------------------------------------------------------------------


def _stream(
    job: _Import, sheet: Sheet, index: int, load: _Load, chunk_rows: int, meter: _Meter
) -> None:
    """Check every row of one sheet on its own and hand the good ones to `load`.

    The common cells — an ID number seen before, an ISO time inside the window, a known place —
    take the inline path; anything else the general one (`_id_number`, `_completed_at`)."""
    report = job.report
    ids = job.ids
    places = job.places
    names = sheet.column_names()
    postgres = job.postgres
    start, end = (d.isoformat() for d in job.window)
    latest_local = f"{job.latest + _CHINA_OFFSET:%Y-%m-%d %H:%M:%S}"
    buffer: list[tuple[int, int, str, str, str]] = []
    rows = rejected = 0
    fromiso = datetime.fromisoformat
    seen = job.good_ids.add
    for number, (raw_id, raw_time, raw_place) in sheet.cells(_KEYS):
        rows += 1
        id_number = ids.get(raw_id) if raw_id.__class__ is str else None
        if id_number is None:
            id_number = _id_number(job, raw_id)
        text: str | None = None
        if (
            raw_time.__class__ is str
            and len(raw_time) == 19
            and raw_time[10] == " "
            and raw_time[13] == ":"
            and start <= raw_time[:10] <= end
            and raw_time <= latest_local
        ):
            try:
                local = fromiso(raw_time)
            except ValueError:
                pass
            else:  # China time to the database's form: PostgreSQL converts it itself
                text = f"{raw_time}+08" if postgres else f"{local - _CHINA_OFFSET}.000000"
        moment: datetime | FieldError | None = None
        if text is None:
            moment = _completed_at(job, raw_time)
            if moment.__class__ is datetime:
                text = f"{moment}+00" if postgres else _sqlite_text(moment)
        got = places.get(raw_place) if raw_place.__class__ is str else None
        if got is None:
            got = _place(job, raw_place)
        if id_number.__class__ is not str or text is None:
            where = Where(sheet.name, number, names)
            if id_number.__class__ is not str:
                report.add(where, id_number)  # type: ignore[arg-type]
            if text is None:
                report.add(where, moment)  # type: ignore[arg-type]
            rejected += 1
            continue
        place, too_long = got
        if too_long is not None:
            # The place is a detail: the completion counts without it.
            report.warn(Where(sheet.name, number, names), too_long, kept_aside=True)
            place = ""
        if raw_id != id_number:
            _tell_conversion(job, Where(sheet.name, number, names), raw_id, id_number)
        seen(id_number)
        buffer.append((index, number, id_number, text, place))
        if len(buffer) >= chunk_rows:
            load.write(buffer)
            buffer = []
            meter.tell(rows)
    if buffer:
        load.write(buffer)
    report.rows_read += rows
    report.rejected_rows += rejected


def _place(job: _Import, raw: object) -> tuple[str, FieldError | None]:
    place = cells.text(raw)
    too_long = cells.too_long("place", place, _PLACE_MAX)
    if job.postgres and place and _COPY_SPECIAL.search(place):
        place = _COPY_SPECIAL.sub(lambda m: _COPY_ESCAPES[m.group()], place)
    got = (place, too_long)
    if isinstance(raw, str) and len(job.places) < 100_000:
        job.places[raw] = got  # the same few sites repeat all through a file
    return got


_SORT_MEMORY = "256MB"
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


# --- the load table and what is decided over it -----------------------------------------------


class _Load:
    """A temporary table of the good rows (sheet, row, ID number, time, place), written as the
    file streams and matched to residents once, set-based, at the end."""

    def __init__(self, job: _Import) -> None:
        self.job = job
        self.rows = 0
        self.connection = job.session.connection()
        self.connection.exec_driver_sql("DROP TABLE IF EXISTS completion_load")
        self.connection.exec_driver_sql("DROP TABLE IF EXISTS completion_people")
        self.connection.exec_driver_sql(
            f"CREATE TEMP TABLE completion_load (sheet integer, row_no integer, "
            f"id_number varchar(18), completed_at {self.time_type}, place varchar(200))"
        )
        self.connection.exec_driver_sql(
            "CREATE TEMP TABLE completion_people "
            "(id_number varchar(18) PRIMARY KEY, resident_id varchar(36))"
        )

    time_type = "text"

    def write(self, rows: list[tuple[int, int, str, str, str]]) -> None:
        raise NotImplementedError

    def write_ids(self, ids: list[str]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """No more rows."""

    def drop(self) -> None:
        self.connection.exec_driver_sql("DROP TABLE IF EXISTS completion_load")
        self.connection.exec_driver_sql("DROP TABLE IF EXISTS completion_people")

    def insert_completions(self, campaign_id: str, batch_id: int) -> int:
        raise NotImplementedError


class _CopyLoad(_Load):
    """PostgreSQL: one COPY for the whole file, in text form written by hand (psycopg's
    per-row `write_row` costs more than the parse)."""

    time_type = "timestamptz"

    def __init__(self, job: _Import) -> None:
        super().__init__(job)
        raw = self.connection.connection.driver_connection
        assert raw is not None
        self.cursor = raw.cursor()
        self.copy_context = self.cursor.copy(
            "COPY completion_load (sheet, row_no, id_number, completed_at, place) FROM STDIN"
        )
        self.copy: Any = self.copy_context.__enter__()

    def write(self, rows: list[tuple[int, int, str, str, str]]) -> None:
        self.rows += len(rows)
        self.copy.write("".join([f"{s}\t{n}\t{i}\t{t}\t{p}\n" for s, n, i, t, p in rows]))

    def close(self) -> None:
        if self.copy is not None:
            self.copy_context.__exit__(None, None, None)
            self.copy = None
            self.cursor.close()

    def drop(self) -> None:
        if self.copy is not None:  # an error mid-file: end the COPY before anything else
            try:
                self.copy_context.__exit__(None, None, None)
            finally:
                self.copy = None
                self.cursor.close()
        super().drop()

    def write_ids(self, ids: list[str]) -> None:
        raw = self.connection.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy("COPY completion_people (id_number) FROM STDIN") as copy,
        ):
            copy.write("".join([f"{i}\n" for i in ids]))
        self.connection.exec_driver_sql("ANALYZE completion_people")

    def insert_completions(self, campaign_id: str, batch_id: int) -> int:
        # Imports into one campaign take turns (the campaign's row is locked), so the rows
        # already there are found by one anti-join and the rest inserted plainly, sorted by the
        # key: cheaper than ON CONFLICT's speculative insertion of every row.
        self.connection.exec_driver_sql(
            "SELECT id FROM campaigns WHERE id = %(campaign)s FOR UPDATE", {"campaign": campaign_id}
        )
        # The sort of a whole file's rows in memory rather than in temporary files.
        self.connection.exec_driver_sql(f"SET LOCAL work_mem = '{_SORT_MEMORY}'")
        result = self.connection.exec_driver_sql(
            "INSERT INTO completions "
            "(campaign_id, id_number, completed_at, resident_id, place, batch_id) "
            "SELECT DISTINCT ON (l.id_number, l.completed_at) %(campaign)s::varchar, l.id_number, "
            "l.completed_at, p.resident_id, l.place, %(batch)s::integer FROM completion_load l "
            "JOIN completion_people p ON p.id_number = l.id_number "
            "WHERE p.resident_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM completions c "
            "WHERE c.campaign_id = %(campaign)s::varchar AND c.id_number = l.id_number "
            "AND c.completed_at = l.completed_at) "
            "ORDER BY l.id_number, l.completed_at, l.sheet, l.row_no",
            {"campaign": campaign_id, "batch": batch_id},
        )
        return int(result.rowcount)


class _SqliteLoad(_Load):
    """SQLite: executemany into the temporary table as the chunks come."""

    def write(self, rows: list[tuple[int, int, str, str, str]]) -> None:
        self.rows += len(rows)
        self.connection.exec_driver_sql(
            "INSERT INTO completion_load (sheet, row_no, id_number, completed_at, place) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )

    def write_ids(self, ids: list[str]) -> None:
        self.connection.exec_driver_sql(
            "INSERT INTO completion_people (id_number) VALUES (?)",
            [(i,) for i in ids],
        )

    def insert_completions(self, campaign_id: str, batch_id: int) -> int:
        # The DB-API directly: SQLAlchemy's per-row type processing would cost more than
        # SQLite's insert. The time's text form is the one SQLAlchemy's SQLite DateTime writes.
        before = _total_changes(self.connection)
        self.connection.exec_driver_sql(
            "INSERT OR IGNORE INTO completions "
            "(campaign_id, id_number, completed_at, resident_id, place, batch_id) "
            "SELECT ?, l.id_number, l.completed_at, p.resident_id, l.place, ? "
            "FROM completion_load l JOIN completion_people p ON p.id_number = l.id_number "
            "WHERE p.resident_id IS NOT NULL ORDER BY l.id_number, l.completed_at",
            (campaign_id, batch_id),
        )
        return _total_changes(self.connection) - before


def _settle(job: _Import, load: _Load, sheets: list[Sheet]) -> None:
    """Match the file's ID numbers to residents once, report the rows naming nobody, insert the
    rest skipping those already there, and mark the residents completing for the first time."""
    if not load.rows:
        return
    connection = load.connection
    load.write_ids(sorted(job.good_ids))
    live = "false" if job.postgres else "0"
    connection.exec_driver_sql(
        "UPDATE completion_people SET resident_id = r.id FROM residents r "
        f"WHERE r.id_number = completion_people.id_number AND r.deleted = {live}"
    )
    unknown_rows = 0
    if connection.exec_driver_sql(
        "SELECT 1 FROM completion_people WHERE resident_id IS NULL LIMIT 1"
    ).first():
        unknown_rows = _report_unknown(job, load, sheets)
    batch = _batch(job)
    inserted = load.insert_completions(job.campaign.id, batch.id)
    job.report.imported += inserted
    job.report.duplicates += load.rows - unknown_rows - inserted
    new = list(
        connection.exec_driver_sql(
            "SELECT p.resident_id FROM completion_people p WHERE p.resident_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM completion_marks m "
            f"WHERE m.campaign_id = {_param(job)} AND m.resident_id = p.resident_id)",
            _args(job, job.campaign.id),
        ).scalars()
    )
    _mark(job, sorted(new))


def _param(job: _Import, name: str = "campaign") -> str:
    return f"%({name})s" if job.postgres else "?"


def _args(job: _Import, value: str) -> Any:
    return {"campaign": value} if job.postgres else (value,)


def _report_unknown(job: _Import, load: _Load, sheets: list[Sheet]) -> int:
    """Report the rows whose ID number names nobody on the roster, in the file's order among
    the errors found while reading (the first MAX_ERRORS_KEPT are kept); returns their count."""
    report = job.report
    found = load.connection.exec_driver_sql(
        "SELECT l.sheet, l.row_no, l.id_number FROM completion_load l "
        "JOIN completion_people p ON p.id_number = l.id_number "
        "WHERE p.resident_id IS NULL ORDER BY l.sheet, l.row_no"
    ).all()
    order = {sheet.name: index for index, sheet in enumerate(sheets)}
    before = list(report.errors)
    report.errors.clear()
    names = [sheet.column_names() for sheet in sheets]
    for index, row, number in found:
        report.add(
            Where(sheets[index].name, row, names[index]),
            FieldError(
                "id_number",
                "unknown_person",
                "nobody on the roster has this ID number",
                {"value": number[-4:]},
            ),
        )
    merged = sorted([*before, *report.errors], key=lambda e: (order.get(e.sheet, -1), e.row))
    report.errors[:] = merged[:MAX_ERRORS_KEPT]
    report.rejected_rows += len(found)
    return len(found)


# --- one cell ----------------------------------------------------------------------------------


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


# --- marks -------------------------------------------------------------------------------------


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


def _mark(job: _Import, new: list[str]) -> None:
    """Marks for the residents completing the campaign for the first time, announced to the
    grids of the campaign they live in."""
    if not new:
        return
    campaign_id = job.campaign.id
    # One statement for thousands of marks: arrays on PostgreSQL, the DB-API on SQLite.
    connection = job.session.connection()
    ids = [mark_id(campaign_id, rid) for rid in new]
    if job.postgres:
        connection.exec_driver_sql(
            "INSERT INTO completion_marks (id, campaign_id, resident_id, version, updated_at, "
            "updated_by_user_id, updated_by_device_id, deleted, clocks) "
            "SELECT m.id, %(campaign)s::varchar, m.resident_id, 1, %(now)s::timestamptz, "
            "%(user)s::varchar, NULL, false, '{}' "
            "FROM unnest(%(ids)s::varchar[], %(residents)s::varchar[]) AS m(id, resident_id) "
            "ON CONFLICT DO NOTHING",
            {
                "campaign": campaign_id,
                "now": job.now,
                "user": job.user_id,
                "ids": ids,
                "residents": new,
            },
        )
    else:
        moment = _sqlite_text(job.now.astimezone(UTC).replace(tzinfo=None))
        connection.exec_driver_sql(
            "INSERT OR IGNORE INTO completion_marks (id, campaign_id, resident_id, version, "
            "updated_at, updated_by_user_id, updated_by_device_id, deleted, clocks) "
            "VALUES (?, ?, ?, 1, ?, ?, NULL, 0, '{}')",
            [(i, campaign_id, rid, moment, job.user_id) for i, rid in zip(ids, new, strict=True)],
        )
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
