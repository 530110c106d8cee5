"""The `gridsweep` command line: run the server, migrate, seed demo data, add users, import.

Every command works on the database named by DATABASE_URL (default: SQLite under ./data).
The field app has its own command, `gridsweep-app` (field_app/cli.py); `gridsweep demo` starts
it as a subprocess by module name when it is installed.

Importing this module loads typer and rich only: each command imports the server, the database
layer or the spreadsheet readers when it runs (`tests/sync_server/test_cli_imports.py`).
`--help` answers at once, and so does the re-import of this module that every `server
--workers N` child does (multiprocessing's spawn runs the parent's main module again), so a
child answers uvicorn's health check in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from sync_server.errors import DomainError

if TYPE_CHECKING:
    from rich.progress import Progress
    from sqlalchemy.orm import Session

    from sync_server.config import Settings
    from sync_server.importer.report import RowError
    from sync_server.seed.demo import DemoLogin, SeedReport

app = typer.Typer(
    help="GridSweep: offline-first field data for grid-based community governance (网格化管理).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
import_app = typer.Typer(help="Import base data and platform data.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations in the grid (入网单位).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
app.add_typer(import_app, name="import")

console = Console()
WORKER_HEALTHCHECK_SECONDS = 30
err = Console(stderr=True)
_SHOWN = 200  # an import's errors or warnings printed; more go to a CSV


def _settings() -> Settings:
    from sync_server.config import SettingsError, get_settings

    try:
        return get_settings()
    except SettingsError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except ValueError as exc:  # pydantic's ValidationError wraps SettingsError
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _migrate(settings: Settings) -> None:
    from sync_server.db import make_engine
    from sync_server.migrate import upgrade

    engine = make_engine(settings)
    try:
        upgrade(settings, engine)
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (creates the database on first run)."""
    settings = _settings()
    _migrate(settings)
    console.print(f"database is up to date: {_safe_url(settings)}")


def _cli_user() -> str:
    """Who runs a command on the server itself, for the audit trail: no account, so the OS user."""
    import getpass

    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a bare container)
        who = "?"
    return f"cli:{who}"


def _audit_cli(session: Session, action: str, **fields: Any) -> None:
    """An audit event for a command run on the server itself."""
    from sync_server.services import audit

    audit.record(session, action, username=_cli_user(), via="cli", **fields)


def _safe_url(settings: Settings) -> str:
    url = settings.sqlalchemy_url
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url


@app.command()
def server(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    workers: Annotated[int, typer.Option(help="server processes", min=1)] = 1,
    migrate: Annotated[bool, typer.Option(help="apply migrations first")] = True,
) -> None:
    """Run the sync server (API at /api/v1, docs at /api/v1/docs)."""
    import uvicorn

    settings = _settings()
    if migrate:
        _migrate(settings)
    uvicorn.run(
        "sync_server.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        # With several workers, uvicorn's parent pings each child and replaces one that does not
        # answer within this many seconds. A child answers once it has re-imported this module
        # (cheap: see the module's docstring) and started its ping thread; the app's own imports
        # come after. uvicorn's 5 s default left no margin on a busy two-core machine.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        log_level="info",
        # The app believes X-Forwarded-* only from GRIDSWEEP_TRUSTED_PROXIES (none by default);
        # uvicorn's own default would trust any process on this machine.
        proxy_headers=False,
        server_header=False,
    )


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@app.command("seed-demo")
def seed_demo(
    scale: Annotated[str, typer.Option(help="small (one community) or district")] = "small",
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same data")] = (
        20261128
    ),
) -> None:
    """Fill an empty database with a realistic demo grid, residents and accounts."""
    if scale not in ("small", "district"):
        err.print(f"[red]--scale must be small or district, not {scale!r}[/red]")
        raise typer.Exit(2)
    settings = _settings()
    _migrate(settings)
    report = _seed(settings, scale, seed)
    _print_logins(report.logins)


def _seed(settings: Settings, scale: str, seed: int) -> SeedReport:
    """Seed the (migrated) database and print what was written."""
    from sync_server.db import make_engine, make_sessionmaker, transaction
    from sync_server.seed.demo import seed_demo as run_seed

    engine = make_engine(settings)
    try:
        with _progress() as progress, transaction(make_sessionmaker(engine)) as session:
            task = progress.add_task(f"seeding {scale}", total=None)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = run_seed(
                session=session,
                scale=scale,  # type: ignore[arg-type]
                seed=seed,
                now=settings.clock().now(),
                progress=tick,
            )
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    console.print(
        f"seeded {report.grid_nodes} grid nodes, {report.buildings} buildings, "
        f"{report.units} units, {report.houses} houses, {report.residents} residents, "
        f"{report.bindings} bindings, {report.users} users"
    )
    return report


def _print_logins(logins: list[DemoLogin], others: int = 0) -> None:
    from rich.table import Table

    table = Table(title="Demo logins / 演示账号")
    for column in ("role", "username", "password", "grid"):
        table.add_column(column)
    for login in logins:
        grid = f"{login.grid_name} {login.grid_code}" if login.grid_code else "all / 全部网格"
        table.add_row(login.role, login.username, login.password, grid)
    console.print(table)
    if others:
        console.print(
            f"{others} other account(s) not listed (more of a role, or a password that is not "
            "the demo one): see the console's 用户 / Users page"
        )


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="worker, supervisor, admin or handler")],
    grid: Annotated[list[str] | None, typer.Option(help="grid code to assign (repeatable)")] = None,
    display_name: Annotated[str, typer.Option(help="name shown in the app")] = "",
    org: Annotated[
        str | None,
        typer.Option(help="a handler's organisation (入网单位), by name; it must exist"),
    ] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create a user account and assign grids."""
    from shared.schema import Role
    from sync_server.db import make_engine, make_sessionmaker, transaction
    from sync_server.services.audit import Action
    from sync_server.services.grid import get_node_by_code
    from sync_server.services.matters import org_by_name
    from sync_server.services.users import create_user

    if role not in {r.value for r in Role}:
        err.print(
            f"[red]--role must be one of worker, supervisor, admin, handler; got {role!r}[/red]"
        )
        raise typer.Exit(2)
    settings = _settings()
    engine = make_engine(settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            nodes = []
            for code in grid or []:
                node = get_node_by_code(session=session, code=code)
                if node is None:
                    err.print(f"[red]--grid {code}: no grid has this code[/red]")
                    raise typer.Exit(1)
                nodes.append(node)
            found = org_by_name(session=session, name=org) if org else None
            if org and found is None:
                err.print(f"[red]--org {org}: no organisation has this name[/red]")
                raise typer.Exit(1)
            user = create_user(
                session=session,
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                grids=nodes,
                org=found,
            )
            _audit_cli(
                session,
                Action.USER_ADDED,
                entity="user",
                record_id=user.id,
                of=user.username,
                role=user.role,
                grids=[n.code for n in nodes],
                org=found.name if found is not None else None,
            )
            console.print(f"created {user.role} {user.username} with {len(nodes)} grid(s)")
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


@org_app.command("add")
def org_add(
    name: str,
    kind: Annotated[
        str,
        typer.Option(
            help="police, municipal, water, telecom, enforcement, resident_unit or volunteers "
            "(or its Chinese label)"
        ),
    ],
    grid: Annotated[
        str | None, typer.Option(help="code of the community (level 4) it serves")
    ] = None,
) -> None:
    """Add an organisation whose staff sign in as handlers."""
    from sync_server.db import make_engine, make_sessionmaker, transaction
    from sync_server.services.grid import get_node_by_code
    from sync_server.services.matters import create_org

    settings = _settings()
    engine = make_engine(settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            node = get_node_by_code(session=session, code=grid) if grid else None
            if grid and node is None:
                err.print(f"[red]--grid {grid}: no grid has this code[/red]")
                raise typer.Exit(1)
            org = create_org(session=session, name=name, kind=kind, grid=node)
            console.print(f"created organisation {org.name} ({org.kind})")
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


@import_app.command("grid")
def import_grid(
    files: Annotated[list[Path] | None, typer.Argument(help=".xlsx file, or the CSV files")] = None,
    template: Annotated[
        Path | None, typer.Option(help="write an empty template to this path (.xlsx or .csv)")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="validate and report, write nothing")] = False,
) -> None:
    """Load grid base data (grids, buildings, houses, residents, bindings) from Excel or CSV."""
    from rich.table import Table

    from sync_server.db import make_engine, make_sessionmaker, transaction
    from sync_server.importer import write_template
    from sync_server.services.imports import Actor, import_base_data

    if template is not None:
        write_template(template)
        console.print(f"template written to {template}")
        return
    if not files:
        err.print("[red]name the file(s) to import, or use --template PATH[/red]")
        raise typer.Exit(2)
    for path in files:
        if not path.exists():
            err.print(f"[red]{path}: no such file[/red]")
            raise typer.Exit(2)
    settings = _settings()
    _migrate(settings)
    engine = make_engine(settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            report = import_base_data(
                session=session,
                paths=list(files),
                actor=Actor(via="cli", username=_cli_user()),
                now=settings.clock().now(),
                dry_run=dry_run,
            )
    finally:
        engine.dispose()
    table = Table(title="Import / 导入结果" + (" (dry run, nothing written)" if dry_run else ""))
    for column in ("entity", "created", "updated", "unchanged"):
        table.add_column(column)
    for entity, counts in report.counts.items():
        table.add_row(
            entity,
            str(counts.get("created", 0)),
            str(counts.get("updated", 0)),
            str(counts.get("unchanged", 0)),
        )
    console.print(table)
    _print_report(
        [*report.summary_lines(), *report.notes],
        (report.errors, len(report.errors)),
        (report.warnings, len(report.warnings)),
    )
    if len(report.errors) > _SHOWN or len(report.warnings) > _SHOWN:
        errors_csv = Path(f"{files[0].stem}-errors.csv")
        report.write_errors_csv(errors_csv)
        err.print(f"  ... more than {_SHOWN}; all errors and warnings written to {errors_csv}")
    if report.errors:
        raise typer.Exit(1)


def _print_report(
    lines: list[str],
    errors: tuple[Sequence[RowError], int],
    warnings: tuple[Sequence[RowError], int],
) -> None:
    """An import's summary, then its refused rows and its rows imported with a warning (each
    as the rows kept and their total). The file's own text is printed whole on one line each
    (soft_wrap) and never read as rich markup."""
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)
    for (rows, total), title in (
        (errors, "错误 / errors ({n}), 这些行未导入 / rows not imported:"),
        (warnings, "警告 / warnings ({n}), 这些行已导入 / rows imported:"),
    ):
        if total:
            err.print(title.format(n=total), markup=False)
        for row in rows[:_SHOWN]:
            err.print(f"  {row}", markup=False, soft_wrap=True)


@import_app.command("businesses")
def import_businesses(
    files: Annotated[list[Path], typer.Argument(help=".xlsx or .csv files of businesses (商户)")],
    dry_run: Annotated[bool, typer.Option(help="validate and report, write nothing")] = False,
) -> None:
    """Load businesses (商户) from Excel or CSV: grid code, name, type, licence, contact."""
    from sync_server.db import make_engine, make_sessionmaker, transaction
    from sync_server.services.imports import Actor, import_business_file

    for path in files:
        if not path.exists():
            err.print(f"[red]{path}: no such file[/red]")
            raise typer.Exit(2)
    settings = _settings()
    _migrate(settings)
    engine = make_engine(settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            report = import_business_file(
                session=session,
                paths=list(files),
                actor=Actor(via="cli", username=_cli_user()),
                now=settings.clock().now(),
                dry_run=dry_run,
            )
    finally:
        engine.dispose()
    summary = (
        f"商户 / businesses: 读取 {report.rows_read} 行, 新增 {report.created}, "
        f"更新 {report.updated}, 未变 {report.unchanged}, 未导入 {report.rejected}"
        + (" (dry run, nothing written)" if dry_run else "")
    )
    _print_report([summary, *report.notes], (report.errors, len(report.errors)), ([], 0))
    if report.errors:
        raise typer.Exit(1)


@import_app.command("completions")
def import_completions(
    campaign: Annotated[str, typer.Argument(help="campaign id, or its exact name")],
    file: Annotated[Path, typer.Argument(help="platform completions, .csv or .xlsx")],
    dry_run: Annotated[bool, typer.Option(help="validate and report, write nothing")] = False,
) -> None:
    """Load a campaign's platform completion data (ID number, time, place) from CSV or Excel."""
    from sqlalchemy import select

    from sync_server.db import make_engine, make_sessionmaker, transaction
    from sync_server.models import Campaign
    from sync_server.services.imports import Actor, import_completion_file

    if not file.exists():
        err.print(f"[red]{file}: no such file[/red]")
        raise typer.Exit(2)
    settings = _settings()
    _migrate(settings)
    engine = make_engine(settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            found = session.get(Campaign, campaign) or session.scalar(
                select(Campaign).where(Campaign.name == campaign, Campaign.deleted.is_(False))
            )
            if found is None or found.deleted:
                err.print(f"[red]no campaign has the id or name {campaign!r}[/red]")
                raise typer.Exit(1)
            with _progress() as progress:
                progress.add_task(f"importing into {found.name}", total=None)
                report = import_completion_file(
                    session=session,
                    campaign=found,
                    path=file,
                    file_name=file.name,
                    actor=Actor(via="cli", username=_cli_user()),
                    now=settings.clock().now(),
                    dry_run=dry_run,
                )
    finally:
        engine.dispose()
    suffix = " (dry run, nothing written)" if dry_run else ""
    _print_report(
        [line + suffix for line in report.summary_lines()] + report.notes,
        (report.errors, report.errors_total),
        (report.warnings, report.warnings_total),
    )
    if report.errors_total > _SHOWN or report.warnings_total > _SHOWN:
        errors_csv = Path(f"{file.stem}-errors.csv")
        report.write_errors_csv(errors_csv)
        err.print(
            f"  ... {report.errors_total} errors and {report.warnings_total} warnings in all; "
            f"the first {len(report.errors)} and {len(report.warnings)} are written to {errors_csv}"
        )
    if report.errors_total:
        raise typer.Exit(1)


@app.command()
def demo(
    port: Annotated[
        int | None, typer.Option(help="sync server port [default: GRIDSWEEP_PORT, 8000]")
    ] = None,
    app_port: Annotated[
        int | None,
        typer.Option(
            help="field app port, 0: do not start the app [default: GRIDSWEEP_APP_PORT, 8550]"
        ),
    ] = None,
) -> None:
    """Migrate, seed the small demo grid if empty, start the server and the field app beside it."""
    import importlib.util
    import subprocess
    import sys

    settings = _settings()
    port = settings.port if port is None else port
    app_port = settings.app_port if app_port is None else app_port
    _migrate(settings)
    if _has_grid(settings):
        console.print("database already holds a grid; not seeding again")
    else:
        _seed(settings, "small", 20261128)
    # Every start lists the accounts the database holds, whoever seeded it.
    _print_logins(*_demo_logins(settings))
    field = None
    if app_port and importlib.util.find_spec("field_app") is None:
        # The server installed alone: serve the API and the console without the app.
        err.print("the field app (gridsweep-app) is not installed: starting the server alone")
        app_port = 0
    if app_port:
        # The app is a separate process, as on a phone (one data directory is one device), run
        # by its module name: the server never imports the app.
        field = subprocess.Popen(
            [
                sys.executable, "-m", "field_app",
                "--port", str(app_port),
                "--server-url", f"http://127.0.0.1:{port}",
                "--data-dir", "data/device-1",
            ]
        )  # fmt: skip
    console.print(
        f"\nsync server:   http://127.0.0.1:{port}/api/v1/health\n"
        f"API docs:      http://127.0.0.1:{port}/api/v1/docs\n"
        f"console:       http://127.0.0.1:{port}/console/\n"
        + (
            f"field app:     http://127.0.0.1:{app_port}/  (a phone-sized window works best)\n"
            if app_port
            else ""
        )
    )
    try:
        server(host="127.0.0.1", port=port, workers=1, migrate=False)
    finally:
        if field is not None:
            field.terminate()
            field.wait(timeout=10)


def _has_grid(settings: Settings) -> bool:
    from sqlalchemy import func, select

    from sync_server.db import make_engine, make_sessionmaker
    from sync_server.models import GridNode

    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine)() as session:
            return bool(session.scalar(select(func.count()).select_from(GridNode)))
    finally:
        engine.dispose()


def _demo_logins(settings: Settings) -> tuple[list[DemoLogin], int]:
    from sync_server.db import make_engine, make_sessionmaker
    from sync_server.seed.demo import current_logins

    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine)() as session:
            return current_logins(session=session)
    finally:
        engine.dispose()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
