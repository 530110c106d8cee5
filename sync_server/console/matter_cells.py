"""A matter as export cells: the columns and the values of one row, written once for every
export that lists matters (the matters board's, a business inspection's problem list).

Personal data is masked by the reader's formatter (the resident's phone whole for admins only,
ID numbers in free text masked for supervisors); the timeline is one cell, a line per step.
"""

from __future__ import annotations

from datetime import datetime

from sync_server.console.render import Formatter
from sync_server.models import Matter
from sync_server.queries.matter_board import OPEN, ExportRow, TimelineStep

COLUMNS = (
    "matters.grid_code",
    "matters.grid",
    "matters.category",
    "matters.description",
    "matters.place",
    "matters.source",
    "matters.urgency",
    "matters.state",
    "matters.reported_at",
    "matters.due_at",
    "matters.overdue",
    "matters.assignee",
    "matters.resident",
    "matters.resident_phone",
    "matters.on_behalf_of",
    "matters.closed_at",
    "matters.rating",
    "matters.timeline",
)


def cells(fmt: Formatter, r: ExportRow, now: datetime) -> list[object]:
    """The row of `COLUMNS` for one matter."""
    return [
        r.grid_code,
        r.grid_name,
        r.category,
        fmt.text(r.matter.description),
        r.matter.place,
        fmt.enum("matter_source", r.matter.source),
        fmt.enum("urgency", r.matter.urgency),
        fmt.enum("matter_state", r.matter.state),
        fmt.dt(r.matter.reported_at),
        fmt.dt(r.matter.due_at),
        fmt.t("matters.overdue") if is_overdue_now(r.matter, now) else "",
        r.assignee,
        r.matter.resident_name or "",
        fmt.phone(r.resident_phone) if r.resident_phone else r.matter.resident_phone_masked,
        fmt.text(r.matter.on_behalf_of),
        fmt.dt(r.matter.closed_at) if r.matter.closed_at else "",
        r.matter.rating,
        "\n".join(step_line(fmt, s) for s in r.steps),
    ]


def step_line(fmt: Formatter, step: TimelineStep) -> str:
    """One step of the timeline cell: when, what, who, to whom, why."""
    parts = [fmt.dt(step.at), fmt.enum("matter_action", step.action), step.by]
    if step.org or step.user:
        parts.append(fmt.t("matters.step_to", target=step.org or step.user))
    if step.reason:
        parts.append(fmt.text(step.reason))
    if step.rating:
        parts.append(f"{step.rating}/5 {fmt.text(step.comment)}".strip())
    return " ".join(parts)


def is_overdue_now(matter: Matter, now: datetime) -> bool:
    return matter.due_at is not None and matter.due_at < now and matter.state in OPEN
