"""`redun db`: the record's schema version: info, upgrade, versions."""

from __future__ import annotations

import click

from redun.backends.base import BackendError
from redun.backends.db.versions import CURRENT_VERSION, DB_VERSIONS, find_version
from redun.cli.errors import CliError
from redun.cli.log import get_backend


def _describe(revision: str | None) -> str:
    if revision is None:
        return "none (no redun schema yet)"
    version = find_version(revision)
    if version is None:
        return f"unknown revision {revision!r} (newer than this redun?)"
    return f"{version} {version.description!r} (revision {revision})"


@click.group("db")
def db() -> None:
    """Inspect and upgrade the redun database schema."""


@db.command("info")
@click.pass_context
def info(ctx: click.Context) -> None:
    """Show the database, its schema version and the newest version supported."""
    backend = get_backend(ctx, load=False)
    try:
        revision = backend.get_db_revision()
    except BackendError as error:
        raise CliError(str(error)) from None
    finally:
        backend.close()  # unloaded backends are this command's own
    click.echo(f"db uri: {backend.db_name}")
    click.echo(f"db version: {_describe(revision)}")
    click.echo(f"newest supported: {CURRENT_VERSION} {CURRENT_VERSION.description!r}")
    usable = revision is None or revision == CURRENT_VERSION.revision
    click.echo(f"compatible: {'yes' if usable else 'no'}")


@db.command("upgrade")
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Create the schema in a new database, or check that an existing one is current."""
    backend = get_backend(ctx, load=False)
    try:
        before, after = backend.upgrade()
    except BackendError as error:
        raise CliError(str(error)) from None
    finally:
        backend.close()
    click.echo(f"db uri: {backend.db_name}")
    if before == after:
        click.echo(f"db version: {_describe(after)}; no migration needed.")
    else:
        click.echo(f"db version: {_describe(before)} -> {_describe(after)}")


@db.command("versions")
def versions() -> None:
    """List every known schema version."""
    click.echo(f"{'Version':<8}{'Migration':<13}Description")
    click.echo("")
    for version in DB_VERSIONS:
        click.echo(f"{str(version):<8}{version.revision:<13}{version.description}")
