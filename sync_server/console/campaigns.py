"""The console's view of campaigns: a small port over the campaign services.

The dashboard's progress bars and missed counts, the campaign pages and the missed-list export
ask this port, never the campaign modules directly. `_CampaignServices` adapts
`services.campaigns` (create, list, get), `queries.campaign_progress` (targets, completed,
settled and missed per node, the missed list), `services.imports` and `exports.missed`.
When `campaign_port()` returns None the console hides every campaign feature.

The counts and the missed list are those of the API and of the phones (one `sweep`), so a
supervisor's bar, the exported list and a worker's offline list cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal, Protocol

from pydantic import ValidationError
from sqlalchemy.orm import Session

from shared.campaigns import CampaignKind, NewCampaign
from shared.errors import ValidationFailed
from shared.schema import Role
from sync_server.errors import Invalid
from sync_server.exports.missed import missed_csv, missed_xlsx
from sync_server.models import Campaign, GridNode, User
from sync_server.queries.campaign_progress import missed_rows, sweep_under
from sync_server.queries.inspection_progress import inspection_under
from sync_server.services import campaigns as campaign_service
from sync_server.services.imports import Actor, import_completion_file


@dataclass(frozen=True)
class CampaignRef:
    id: str
    name: str
    kind: str
    start_date: date
    end_date: date
    grid_id: str
    grid_name: str
    grid_path: str

    def covers(self, node: GridNode) -> bool:
        """Whether the campaign and the node's subtree overlap."""
        return node.path.startswith(self.grid_path) or self.grid_path.startswith(node.path)

    def running_on(self, day: date) -> bool:
        return self.start_date <= day <= self.end_date


@dataclass(frozen=True)
class Progress:
    """A node's share of a campaign: targets, done (completed or settled), and still missed."""

    targets: int
    done: int
    missed: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.targets) if self.targets else 0


@dataclass(frozen=True)
class CompletionImport:
    """The outcome of one completion-file import, shown above the campaign's progress."""

    file_name: str
    rows_read: int
    imported: int
    duplicates: int
    rejected: int
    errors: list[str]
    warnings: list[str]  # rows imported all the same
    ignored_columns: list[str]


class CampaignPort(Protocol):
    def campaigns(self, *, session: Session, user: User) -> list[CampaignRef]: ...

    def get(self, *, session: Session, user: User, campaign_id: str) -> CampaignRef: ...

    def progress(
        self, *, session: Session, user: User, campaign_id: str, node: GridNode, now: datetime
    ) -> dict[str, Progress]:
        """Progress at `node` and every node below it that has targets (the caller checks scope).
        A business inspection's targets are businesses: done is checked."""
        ...

    def missed_file(
        self,
        *,
        session: Session,
        user: User,
        campaign_id: str,
        node: GridNode,
        fmt: Literal["xlsx", "csv"],
    ) -> bytes: ...

    def create(
        self,
        *,
        session: Session,
        user: User,
        name: str,
        kind: str,
        start_date: date,
        end_date: date,
        grid: GridNode,
        age_min: int | None,
        age_max: int | None,
        now: datetime,
        business_types: tuple[str, ...] = (),
    ) -> CampaignRef: ...

    def import_completions(
        self,
        *,
        session: Session,
        user: User,
        campaign_id: str,
        path: Path,
        file_name: str,
        now: datetime,
        ip: str = "",
    ) -> CompletionImport: ...


class _CampaignServices:
    """The port over this build's campaign modules."""

    def _ref(self, campaign: Campaign) -> CampaignRef:
        return CampaignRef(
            id=campaign.id,
            name=campaign.name,
            kind=campaign.kind,
            start_date=campaign.start_date,
            end_date=campaign.end_date,
            grid_id=campaign.grid_id,
            grid_name=campaign.grid.name,
            grid_path=campaign.grid.path,
        )

    def campaigns(self, *, session: Session, user: User) -> list[CampaignRef]:
        return [self._ref(c) for c in campaign_service.list_campaigns(session=session, user=user)]

    def get(self, *, session: Session, user: User, campaign_id: str) -> CampaignRef:
        found = campaign_service.get_campaign(session=session, user=user, campaign_id=campaign_id)
        return self._ref(found)

    def progress(
        self, *, session: Session, user: User, campaign_id: str, node: GridNode, now: datetime
    ) -> dict[str, Progress]:
        campaign = campaign_service.get_campaign(
            session=session, user=user, campaign_id=campaign_id
        )
        if campaign.kind == CampaignKind.BUSINESS_INSPECTION:
            # Its targets are businesses, not residents: the grid page's bars count businesses
            # checked of those to check (the inspection page has the problems and overdue).
            sweep = inspection_under(session=session, campaign=campaign, node=node, now=now)
            return {
                node_id: Progress(t.businesses, t.checked, t.businesses - t.checked)
                for node_id, t in sweep.tallies.items()
            }
        tallies = sweep_under(session=session, campaign=campaign, node=node).tallies()
        return {
            node_id: Progress(t.targets, t.completed + t.settled, t.missed)
            for node_id, t in tallies.items()
        }

    def missed_file(
        self,
        *,
        session: Session,
        user: User,
        campaign_id: str,
        node: GridNode,
        fmt: Literal["xlsx", "csv"],
    ) -> bytes:
        campaign = campaign_service.get_campaign(
            session=session, user=user, campaign_id=campaign_id
        )
        swept = sweep_under(session=session, campaign=campaign, node=node)
        # The same list and masking as the API: ID numbers whole for admins only; phones whole,
        # since calling the missed is what the list is for.
        rows = missed_rows(session=session, swept=swept, unmask=user.role == Role.ADMIN)
        if fmt == "csv":
            return missed_csv(rows)
        title = f"{campaign.name} · {node.name}（{node.code}）漏检名单，共 {len(rows)} 人"
        return missed_xlsx(rows, title=title)

    def create(
        self,
        *,
        session: Session,
        user: User,
        name: str,
        kind: str,
        start_date: date,
        end_date: date,
        grid: GridNode,
        age_min: int | None,
        age_max: int | None,
        now: datetime,
        business_types: tuple[str, ...] = (),
    ) -> CampaignRef:
        # The form has the stored shape (two dates, two ages), so it becomes a NewCampaign as
        # it is; its two cross-field rules are named as the form field to correct.
        try:
            body = NewCampaign.model_validate(
                {
                    "name": name,
                    "kind": kind,
                    "start_date": start_date,
                    "end_date": end_date,
                    "rule": {"grid_id": grid.id, "age_min": age_min, "age_max": age_max},
                    "business_types": business_types,
                }
            )
        except ValidationError as exc:
            reasons = "; ".join(str(e.get("msg", "")) for e in exc.errors())
            named = [
                error
                for e in exc.errors()
                if isinstance(failed := e.get("ctx", {}).get("error"), ValidationFailed)
                for error in failed.errors
            ]
            code = named[0].code if named else "invalid_campaign"
            fields = [{"field": e.field, "reason": e.message} for e in named]
            raise Invalid(reasons, code=code, errors=fields) from exc
        return self._ref(
            campaign_service.create_campaign(session=session, user=user, body=body, now=now)
        )

    def import_completions(
        self,
        *,
        session: Session,
        user: User,
        campaign_id: str,
        path: Path,
        file_name: str,
        now: datetime,
        ip: str = "",
    ) -> CompletionImport:
        campaign_service.require_admin(user, "import platform data")
        campaign = campaign_service.get_campaign(
            session=session, user=user, campaign_id=campaign_id
        )
        report = import_completion_file(
            session=session,
            campaign=campaign,
            path=path,
            file_name=file_name,
            actor=Actor(via="console", user=user, ip=ip),
            now=now,
        )
        return CompletionImport(
            file_name=report.file_name,
            rows_read=report.rows_read,
            imported=report.imported,
            duplicates=report.duplicates,
            rejected=report.rejected_rows,
            errors=[str(e) for e in report.errors],
            warnings=[str(w) for w in report.warnings],
            ignored_columns=report.ignored_columns,
        )


_SERVICES = _CampaignServices()


def campaign_port() -> CampaignPort | None:
    """The campaign services; None (a build without them) hides every campaign feature."""
    return _SERVICES
