"""Loading the grid sheet: parents resolved in level order, existing nodes matched by code.

A level-N node's parent must be level N-1, so creating nodes level by level is a topological order
whatever order the rows come in. A row that fails takes its whole subtree with it, and every
descendant row is reported with a pointer to the failed ancestor, so nothing is silently dropped.
The import renames nodes but never re-parents or re-levels them: that moves whole subtrees of
houses and people between supervisors and belongs to the grid adjustment tool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.errors import FieldError
from sync_server.importer.feed import ChangeSink
from sync_server.importer.keys import stable_id
from sync_server.importer.report import ImportReport, Where
from sync_server.importer.rows import GridRow
from sync_server.models import GridNode
from sync_server.services.grid import create_grid_node


@dataclass(frozen=True)
class GridRef:
    id: str
    level: int


@dataclass
class GridIndex:
    """Grid codes the roster may refer to, and the codes whose grid rows were rejected."""

    nodes: dict[str, GridRef] = field(default_factory=dict)
    failed: dict[str, Where] = field(default_factory=dict)


def load_grid_rows(
    *,
    session: Session,
    rows: list[GridRow],
    user_id: str | None,
    report: ImportReport,
    changes: ChangeSink,
    now: datetime,
) -> GridIndex:
    all_nodes = session.scalars(select(GridNode)).all()
    live = {n.code: n for n in all_nodes if not n.deleted}
    deleted_codes = {n.code for n in all_nodes if n.deleted}
    code_of = {n.id: n.code for n in all_nodes}
    failed: dict[str, Where] = {}
    first_row: dict[str, GridRow] = {}
    unique_rows: list[GridRow] = []
    for row in rows:
        if row.code in first_row:
            report.add(row.where, _duplicate(row, first_row[row.code].where))
            continue
        first_row[row.code] = row
        unique_rows.append(row)

    for row in sorted(unique_rows, key=lambda r: r.level):
        problem = _check(row, live, deleted_codes, code_of, first_row, failed)
        if problem is not None:
            report.add(row.where, problem)
            failed[row.code] = row.where
            continue
        existing = live.get(row.code)
        if existing is None:
            parent = live[row.parent_code] if row.parent_code else None
            live[row.code] = create_grid_node(
                session=session,
                code=row.code,
                name=row.name,
                level=row.level,
                parent=parent,
                node_id=stable_id("grid_node", row.code),
                user_id=user_id,
            )
            code_of[live[row.code].id] = row.code
            changes.add("grid_node", live[row.code].id, [live[row.code].id])
            report.count("grid_nodes", "created")
        elif existing.name != row.name:
            existing.name = row.name
            existing.version += 1
            existing.updated_at = now
            existing.updated_by_user_id = user_id
            existing.updated_by_device_id = None
            changes.add("grid_node", existing.id, [existing.id])
            report.count("grid_nodes", "updated")
        else:
            report.count("grid_nodes", "unchanged")
    session.flush()
    return GridIndex(
        nodes={code: GridRef(n.id, n.level) for code, n in live.items()},
        failed=failed,
    )


def _check(
    row: GridRow,
    live: dict[str, GridNode],
    deleted_codes: set[str],
    code_of: dict[str, str],
    in_file: dict[str, GridRow],
    failed: dict[str, Where],
) -> FieldError | None:
    if row.code not in live and row.code in deleted_codes:
        return FieldError(
            "code",
            "grid_code_deleted",
            f"code {row.code!r} belongs to a deleted grid and cannot be reused",
            {"value": row.code},
        )
    if row.parent_code:
        parent_problem = _check_parent(row, live, in_file, failed)
        if parent_problem is not None:
            return parent_problem
    existing = live.get(row.code)
    if existing is not None:
        old_parent = code_of.get(existing.parent_id or "", "")
        if existing.level != row.level or old_parent != row.parent_code:
            return FieldError(
                "parent_code",
                "grid_moved",
                f"grid {row.code!r} exists under {old_parent or '(none)'!r} at level "
                f"{existing.level}; the import does not move or re-level existing grids",
                {"value": row.code, "old_parent": old_parent or "无", "old_level": existing.level},
            )
    return None


def _check_parent(
    row: GridRow,
    live: dict[str, GridNode],
    in_file: dict[str, GridRow],
    failed: dict[str, Where],
) -> FieldError | None:
    code = row.parent_code
    if code in failed and code not in live:  # a rejected row of an existing grid: use the grid
        return FieldError(
            "parent_code",
            "grid_parent_failed",
            f"parent grid {code!r} ({failed[code].describe_zh()}) was rejected, so this row is too",
            {"value": code, "where": failed[code].describe_zh()},
        )
    parent_level: int | None = None
    if code in live:
        parent_level = live[code].level
    elif code in in_file:
        parent_level = in_file[code].level  # not created yet, so it is not one level up
    if parent_level is None:
        return FieldError(
            "parent_code",
            "unknown_reference",
            f"parent grid {code!r} is neither in this file nor in the system",
            {"value": code},
        )
    if parent_level != row.level - 1:
        return FieldError(
            "parent_code",
            "grid_parent_level",
            f"parent grid {code!r} is level {parent_level}; a level-{row.level} grid needs a "
            f"level-{row.level - 1} parent",
            {
                "value": code,
                "parent_level": parent_level,
                "level": row.level,
                "expected": row.level - 1,
            },
        )
    return None


def _duplicate(row: GridRow, first: Where) -> FieldError:
    return FieldError(
        "code",
        "duplicate_in_file",
        f"code {row.code!r} repeats the grid at {first.describe_zh()}; this row was skipped",
        {"value": row.code, "where": first.describe_zh()},
    )
