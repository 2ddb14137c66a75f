"""The `tempodesk` command: run the embedded stack or each production piece."""

from __future__ import annotations

import asyncio
import functools
import getpass
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from api.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from tempodesk.demo import DemoLogin

T = TypeVar("T")

app = typer.Typer(
    help="Tempodesk service desk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
sla_app = typer.Typer(
    help="The SLA configuration as a YAML file (calendars, policies, services, matrix).",
    no_args_is_help=True,
)
app.add_typer(sla_app, name="sla")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


# ---------------------------------------------------------------- production pieces


@app.command()
def api(
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the web UI and JSON API (TEMPODESK_HTTP_HOST/PORT)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "tempodesk.asgi:build_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=True,
    )


@app.command()
def worker() -> None:
    """Run the Temporal worker (scale by starting more)."""
    import uvloop

    from tempodesk.worker import run_worker

    settings = get_settings()
    _logging(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    # uvloop (installed with uvicorn[standard]) runs the pollers, activities and
    # gRPC plumbing; workflows run on Temporal's own deterministic loop either way.
    uvloop.run(main())


@app.command("mail-intake")
def mail_intake() -> None:
    """Receive mail over SMTP, or LMTP (TEMPODESK_MAIL_INTAKE_HOST/PORT/LMTP)."""
    from api.mail.intake import run_intake

    settings = get_settings()
    _logging(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_intake(settings, stop)

    asyncio.run(main())


@app.command()
def migrate() -> None:
    """Apply database migrations (idempotent)."""
    from models.migrate import upgrade

    upgrade(get_settings().resolved_database_url())
    typer.echo("database is up to date")


async def _with_db(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `fn` with a session on a short-lived engine of its own (one command, one job)."""
    from models.db import make_engine, make_session_factory

    engine = make_engine(get_settings().resolved_database_url(), pool_size=1, max_overflow=0)
    try:
        async with make_session_factory(engine)() as session:
            return await fn(session)
    finally:
        await engine.dispose()


@app.command()
def createuser(
    email: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt=True)],
    role: Annotated[str, typer.Option(help="customer, agent, manager or admin")] = "admin",
    organisation_id: Annotated[int | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option(help="Prompted when not given")] = None,
) -> None:
    """Create a user who can log in."""
    from pydantic import ValidationError

    from api.errors import ApiError
    from api.schemas import UserCreate
    from api.services import directory

    if password is None:
        password = getpass.getpass("Password: ")
    try:
        body = UserCreate(
            email=email, name=name, role=role, organisation_id=organisation_id, password=password
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        _fail(f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
        return
    try:
        user = asyncio.run(_with_db(lambda s: directory.create_user(s, body)))
    except ApiError as exc:
        _fail(exc.detail)
        return
    typer.echo(f"created {user.role.value} {user.email} (id {user.id})")


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="Owner of the token")],
    name: Annotated[str, typer.Option(help="What the token is for")],
) -> None:
    """Create a token and print its secret (shown once)."""
    from sqlalchemy import select

    from api.schemas import TokenCreated
    from api.services import directory
    from models import User

    async def run(session: AsyncSession) -> TokenCreated | None:
        user_id = await session.scalar(select(User.id).where(User.email == email.lower()))
        if user_id is None:
            return None
        return await directory.create_token(session, user_id, name)

    created = asyncio.run(_with_db(run))
    if created is None:
        _fail(f"no user with email {email}")
        return
    typer.echo(f"token {created.id} for {email}: {created.token}")


@token_app.command("list")
def token_list(email: Annotated[str, typer.Option()]) -> None:
    """List a user's tokens."""
    from sqlalchemy import select

    from models import ApiToken, User

    async def run(session: AsyncSession) -> list[ApiToken]:
        rows = await session.execute(
            select(ApiToken)
            .join(User, User.id == ApiToken.user_id)
            .where(User.email == email.lower())
        )
        return list(rows.scalars())

    for token in asyncio.run(_with_db(run)):
        state = "revoked" if token.revoked_at else "active"
        typer.echo(f"{token.id}\t{token.prefix}…\t{token.name}\t{state}")


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token by id; requests with it are refused from now on."""
    from datetime import UTC, datetime

    from models import ApiToken

    async def run(session: AsyncSession) -> bool:
        token = await session.get(ApiToken, token_id)
        if token is None:
            return False
        if token.revoked_at is None:
            token.revoked_at = datetime.now(UTC)
            await session.commit()
        return True

    if not asyncio.run(_with_db(run)):
        _fail(f"no token with id {token_id}")
    typer.echo(f"token {token_id} revoked")


@sla_app.command("export")
def sla_export() -> None:
    """Print the SLA configuration as YAML (redirect it to a file)."""
    from api.services import sla_io

    typer.echo(asyncio.run(_with_db(sla_io.export_yaml)), nl=False)


@sla_app.command("import")
def sla_import(
    file: Annotated[typer.FileText, typer.Argument(help="The YAML file ('-' reads stdin)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would change")] = False,
) -> None:
    """Make the desk match the file: all or nothing, every problem with its line."""
    from api.services import sla_io

    text = file.read()
    try:
        changes = asyncio.run(_with_db(lambda s: sla_io.import_text(s, text, dry_run=dry_run)))
    except sla_io.ImportRejected as exc:
        for line in exc.lines():
            typer.secho(f"{file.name}: {line}", fg=typer.colors.RED, err=True)
        typer.secho("nothing was changed", err=True)
        raise typer.Exit(1) from None
    verb = "would change" if dry_run else "changed"
    if not changes:
        typer.echo("nothing to change: the desk already matches the file")
    for change in changes:
        typer.echo(f"{verb}: {change}")


# ---------------------------------------------------------------- embedded stack


def _child_env(settings: Settings, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TEMPODESK_HOME=str(settings.home.absolute()),
        TEMPODESK_DATABASE_URL=database_url,
        TEMPODESK_TEMPORAL_ADDRESS=f"127.0.0.1:{settings.temporal_port}",
    )
    return env


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _spawn(name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # -P: never import from the current folder, whatever it contains.
    return subprocess.Popen(
        [sys.executable, "-P", "-m", "tempodesk", name], env=env, start_new_session=True
    )


def _stop(proc: subprocess.Popen[bytes], name: str, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        typer.echo(f"{name} did not stop in {timeout:.0f} s; killing it", err=True)
        proc.kill()
        proc.wait()


@app.command()
def up(
    demo: Annotated[bool, typer.Option("--demo", help="Seed demo people and tickets")] = False,
) -> None:
    """Start everything on the embedded default under TEMPODESK_HOME (Ctrl-C stops all).

    A process that dies is started again, with backoff; one that keeps dying
    stops everything with a one-line error and exit code 1.
    """
    from models.migrate import upgrade
    from tempodesk.embedded import (
        RESTARTS,
        STABLE_AFTER,
        Child,
        ChildDied,
        EmbeddedError,
        PostgresServer,
        Supervisor,
        TemporalDevServer,
        forget_children,
        pgserver_bin_dir,
        port_is_free,
        stop_leftovers,
        temporal_binary,
        wait_for_port,
    )

    settings = get_settings()
    home = settings.home.absolute()
    home.mkdir(parents=True, exist_ok=True)
    pg_bin = pgserver_bin_dir()
    if pg_bin is None:
        _fail("the PostgreSQL binaries are missing: pip install pgserver")
        return
    try:
        temporal_binary()
    except EmbeddedError as exc:
        _fail(str(exc))
    pg = PostgresServer(pg_bin, settings.pg_data_dir, settings.pg_port)
    for name in stop_leftovers(home):
        typer.echo(f"stopped the {name} a previous `tempodesk up` left running", err=True)
    if pg.initialised() and pg.running():
        # Started by hand, or by a `tempodesk up` that ran it through pg_ctl: it must
        # be our child for its death to reach us.
        pg.stop()
        typer.echo("stopped the PostgreSQL that was running on the data folder", err=True)
    ports = [
        (settings.http_port, "the web server", "TEMPODESK_HTTP_PORT"),
        (settings.temporal_port, "Temporal", "TEMPODESK_TEMPORAL_PORT"),
        (settings.temporal_ui_port, "the Temporal UI", "TEMPODESK_TEMPORAL_UI_PORT"),
        (settings.mail_intake_port, "the mail intake", "TEMPODESK_MAIL_INTAKE_PORT"),
        (settings.pg_port, "PostgreSQL", "TEMPODESK_PG_PORT"),
    ]
    for port, name, variable in ports:
        if not port_is_free(settings.http_host, port):
            _fail(f"port {port} for {name} is busy: stop what uses it or set {variable}")

    temporal = TemporalDevServer(
        db_file=home / "temporal.db",
        port=settings.temporal_port,
        ui_port=settings.temporal_ui_port,
        log_file=home / "temporal.log",
    )
    supervisor = Supervisor(home, say=lambda line: typer.echo(line, err=True))
    death: ChildDied | None = None
    # A supervisor's SIGTERM (systemd, `timeout`, docker) stops the stack like Ctrl-C does.
    # SIGINT gets the same handler explicitly: started as a background job of a shell
    # script, we inherit SIGINT ignored and Python would keep ignoring it. (The children
    # start with it at its default: a handled signal is reset on exec.)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        typer.echo(f"data folder     {home}")
        supervisor.start(Child("postgres", pg.start, lambda _: pg.stop()))
        typer.echo(f"PostgreSQL      127.0.0.1:{settings.pg_port} (log {pg.log_file})")
        database_url = pg.url()
        upgrade(database_url)
        supervisor.start(Child("temporal", temporal.start, lambda _: temporal.stop()))
        typer.echo(
            f"Temporal        127.0.0.1:{settings.temporal_port}, UI http://127.0.0.1:{settings.temporal_ui_port}"
        )
        env = _child_env(settings, database_url)
        procs = {
            name: supervisor.start(
                Child(
                    name, functools.partial(_spawn, name, env), functools.partial(_stop, name=name)
                )
            )
            for name in ("worker", "mail-intake", "api")
        }
        # Until the desk is up, a death is a failure to start; from here on, a restart.
        wait_for_port(settings.http_host, settings.http_port, 60, procs["api"])
        supervisor.watch()
        if demo:
            logins = asyncio.run(_seed_demo(database_url, settings))
            typer.echo("demo logins (password 'tempodesk-demo'):")
            for login in logins:
                typer.echo(f"  {login.role:9} {login.email}")
        typer.echo(
            f"Mail intake     smtp://{settings.mail_intake_host}:{settings.mail_intake_port}"
        )
        typer.secho(
            f"Tempodesk       http://{settings.http_host}:{settings.http_port}  (API at /docs)",
            fg=typer.colors.GREEN,
        )
        typer.echo("Ctrl-C stops everything.")
        death = supervisor.wait()
    except KeyboardInterrupt:
        typer.echo("stopping…")
    except EmbeddedError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    finally:
        # The children run in sessions of their own (so Ctrl-C reaches only us and
        # they stop in order): a second Ctrl-C or a SIGTERM now must not cut this
        # short, or they would outlive us.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop()
        forget_children(home)
    if death is not None:
        _fail(
            f"{death.name} keeps dying: {RESTARTS} restarts in a row lasted under "
            f"{STABLE_AFTER:.0f} s each, the last {death.reason}; stopped everything"
        )
    typer.echo("stopped")


async def _seed_demo(database_url: str, settings: Settings) -> list[DemoLogin]:
    from api.temporal import connect
    from models.db import make_engine, make_session_factory
    from tempodesk.demo import seed

    engine = make_engine(database_url, pool_size=2, max_overflow=0)
    try:
        client = await connect(f"127.0.0.1:{settings.temporal_port}", settings.temporal_namespace)
        return await seed(make_session_factory(engine), client)
    finally:
        await engine.dispose()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
