"""Sharing records: `redun repo add|remove|list`, `redun push|pull REPO`,
`redun export|import -f FILE` (JSON lines).

A repository is a ``[repos.NAME] config_dir = PATH`` section of redun.ini; that
config dir's own redun.ini names the record (``[backend] db_uri``), SQLite or PostgreSQL.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from redun.backends.base import BackendError
from redun.backends.db.errors import describe_error, is_database_error
from redun.backends.db.uri import parse_db_uri
from redun.cli.errors import CliError
from redun.config import CONFIG_FILENAME, Config, ConfigError, init_config_dir

DEFAULT_REPO = "default"  # this repository, as `redun repo list` shows it
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]")


# Configuration ----------------------------------------------------------------------------
def _obj(ctx: click.Context) -> dict[str, Any]:
    return ctx.find_root().obj


def _ini_path(ctx: click.Context) -> Path:
    return Path(_obj(ctx)["config_dir"]) / CONFIG_FILENAME


def _repos(ctx: click.Context) -> dict[str, dict[str, str]]:
    return _obj(ctx)["config"].subsections("repos")


def _unknown(name: str) -> CliError:
    return CliError(
        f"repository {name!r} is not configured; see `redun repo list`, "
        f"or add it with `redun repo add {name} CONFIG_DIR`"
    )


def repo_config_dir(ctx: click.Context, name: str) -> Path:
    """The config dir of repository ``name``; a one-line error if it is not usable."""
    if name == DEFAULT_REPO:
        raise CliError(f"{DEFAULT_REPO!r} is this repository; name another one (`redun repo list`)")
    options = _repos(ctx).get(name)
    if options is None:
        raise _unknown(name)
    raw = options.get("config_dir", "").strip()
    if not raw:
        raise CliError(
            f"[repos.{name}] in {_ini_path(ctx)} has no config_dir; "
            f"`redun repo remove {name}` and add it again"
        )
    if "://" in raw:
        raise CliError(
            f"repository {name!r}: config dir {raw} is not a local directory; "
            "only local config dirs are supported"
        )
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path(_obj(ctx)["config_dir"]) / path
    if not (path / CONFIG_FILENAME).is_file():
        raise CliError(
            f"repository {name!r}: {path} has no {CONFIG_FILENAME}; "
            f"create it with `redun -c {path} init` or fix [repos.{name}] config_dir"
        )
    return path


def _escape(value: str) -> str:
    return value.replace("$", "$$")  # redun.ini expands ${...}


def remove_section(text: str, section: str) -> str | None:
    """``text`` without ``[section]`` and its options (None if there is no such section)."""
    lines = text.splitlines(keepends=True)
    start = next(
        (i for i, line in enumerate(lines) if (m := _SECTION.match(line)) and m["name"] == section),
        None,
    )
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if _SECTION.match(lines[i])), len(lines))
    while start > 0 and not lines[start - 1].strip():
        start -= 1  # the blank lines that set the section apart go with it
    kept = lines[:start] + lines[end:]
    return "".join(kept)


@click.group("repo")
def repo() -> None:
    """Add, remove and list the repositories to push to and pull from."""


@repo.command("add")
@click.argument("name")
@click.argument("config_dir", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def repo_add(ctx: click.Context, name: str, config_dir: Path) -> None:
    """Add repository NAME whose record is configured in CONFIG_DIR/redun.ini."""
    if not _NAME.match(name):
        raise CliError(
            f"repository name {name!r} is not valid; use letters, digits, '_', '-' and '.'"
        )
    if name == DEFAULT_REPO:
        raise CliError(f"the name {DEFAULT_REPO!r} means this repository; choose another name")
    if name in _repos(ctx):
        raise CliError(
            f"repository {name!r} is already configured; `redun repo remove {name}` first"
        )
    config_dir = config_dir.expanduser().absolute()
    if not (config_dir / CONFIG_FILENAME).is_file():
        raise CliError(
            f"{config_dir} has no {CONFIG_FILENAME}; create that repository first with "
            f"`redun -c {config_dir} init`"
        )
    db_uri = _describe_repo(config_dir)
    init_config_dir(_obj(ctx)["config_dir"])
    path = _ini_path(ctx)
    text = path.read_text()
    if text and not text.endswith("\n"):
        text += "\n"
    text += f"\n[repos.{name}]\nconfig_dir = {_escape(str(config_dir))}\n"
    path.write_text(text)
    click.echo(f"Added repository {name!r}: {db_uri}")


@repo.command("remove")
@click.argument("name")
@click.pass_context
def repo_remove(ctx: click.Context, name: str) -> None:
    """Remove repository NAME from redun.ini (its record is left alone)."""
    path = _ini_path(ctx)
    text = path.read_text() if path.is_file() else ""
    remaining = remove_section(text, f"repos.{name}") if name in _repos(ctx) else None
    if remaining is None:
        raise _unknown(name)
    path.write_text(remaining)
    click.echo(f"Removed repository {name!r}")


@repo.command("list")
@click.pass_context
def repo_list(ctx: click.Context) -> None:
    """List the repositories and their databases (passwords masked)."""
    obj = _obj(ctx)
    click.echo("Repositories:")
    own = obj["config"].db_uri
    click.echo(f"  {DEFAULT_REPO}: {_mask(own)} (this repository, {obj['config_dir']})")
    for name in sorted(_repos(ctx)):
        try:
            path = repo_config_dir(ctx, name)
            click.echo(f"  {name}: {_describe_repo(path)} ({path})")
        except click.ClickException as error:
            click.echo(f"  {name}: unusable: {error.message}")


def _mask(db_uri: str | None) -> str:
    if not db_uri:
        return "(no db_uri)"
    try:
        return parse_db_uri(db_uri).display
    except BackendError as error:
        return f"(bad db_uri: {error})"


def _describe_repo(config_dir: Path) -> str:
    try:
        return _mask(Config(config_dir=config_dir).db_uri)
    except ConfigError as error:
        raise CliError(str(error)) from None


# Moving records -----------------------------------------------------------------------------
@contextmanager
def _repo_backend(ctx: click.Context, name: str) -> Iterator[Any]:
    """The loaded backend of repository ``name`` (schema created if it has none)."""
    from redun.backends.db.backend import RedunBackend

    config = Config(config_dir=repo_config_dir(ctx, name))
    try:
        backend = RedunBackend(config=config.get_section("backend"))
        backend.load()
    except (BackendError, ConfigError) as error:
        raise CliError(f"repository {name!r}: {error}") from None
    try:
        yield backend
    finally:
        backend.close()


def _local_backend(ctx: click.Context) -> Any:
    try:
        return _obj(ctx)["get_backend"]()
    except BackendError as error:
        raise CliError(str(error)) from None


def _same_database(a: Any, b: Any) -> bool:
    if a.uri.is_sqlite and b.uri.is_sqlite and a.uri.path and b.uri.path:
        return os.path.realpath(a.uri.path) == os.path.realpath(b.uri.path)
    return a.uri.uri == b.uri.uri


@contextmanager
def _database_errors(action: str, db_name: str) -> Iterator[None]:
    """Database errors during ``action`` as one line."""
    try:
        yield
    except BackendError as error:
        raise CliError(f"{action} failed: {error}") from None
    except Exception as error:
        if not is_database_error(error):
            raise
        raise CliError(f"{action} failed: {describe_error(error, db_name)}") from None


def _sync(ctx: click.Context, name: str, pushing: bool) -> None:
    from redun.backends.db.sync import copy_records

    local = _local_backend(ctx)
    with _repo_backend(ctx, name) as remote:
        if _same_database(local, remote):
            raise CliError(
                f"repository {name!r} uses this repository's own database ({local.db_name})"
            )
        source, dest = (local, remote) if pushing else (remote, local)
        action = f"{'push to' if pushing else 'pull from'} repository {name!r}"
        with _database_errors(action, remote.db_name):
            counts = copy_records(source.engine, dest.engine)
    verb, prep = ("pushed", "to") if pushing else ("pulled", "from")
    if counts.total:
        click.echo(f"{verb} {counts.describe()} {prep} {name}")
    else:
        click.echo(f"{verb} nothing {prep} {name}: already up to date")


@click.command("push")
@click.argument("repo_name", metavar="REPO")
@click.pass_context
def push(ctx: click.Context, repo_name: str) -> None:
    """Send the records that repository REPO lacks (executions, call graphs, cache)."""
    _sync(ctx, repo_name, pushing=True)


@click.command("pull")
@click.argument("repo_name", metavar="REPO")
@click.pass_context
def pull(ctx: click.Context, repo_name: str) -> None:
    """Fetch the records this repository lacks from REPO; pulled work is reused as cache."""
    _sync(ctx, repo_name, pushing=False)


@click.command("export")
@click.option(
    "-f", "--file", "path", default="-", show_default=True, help="File to write ('-': stdout)."
)
@click.option(
    "--exec",
    "exec_ids",
    multiple=True,
    metavar="ID",
    help="Export only this execution (id, prefix or '-') and what it needs; repeatable.",
)
@click.pass_context
def export(ctx: click.Context, path: str, exec_ids: tuple[str, ...]) -> None:
    """Write the record as JSON lines, one row per line."""
    from redun.backends.db.sync import (
        execution_selection,
        export_records,
        resolve_executions,
        snapshot,
    )

    backend = _local_backend(ctx)
    with _database_errors("export", backend.db_name), snapshot(backend.engine) as conn:
        selection = None
        if exec_ids:
            try:
                ids = resolve_executions(conn, exec_ids)
            except LookupError as error:
                raise CliError(str(error.args[0])) from None
            selection = execution_selection(conn, ids)
        if path == "-":
            try:
                counts = export_records(conn, sys.stdout, selection)
            except BrokenPipeError:  # the reader stopped early (`redun export | head`)
                _silence_stdout()
                ctx.exit(1)
        else:
            counts = _export_file(conn, Path(path), selection)
    click.echo(f"exported {counts.describe()}", err=path == "-")


def _silence_stdout() -> None:
    """Send what is left of stdout nowhere, so exiting does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file descriptor (e.g. under a test runner)
        pass


def _export_file(conn: Any, path: Path, selection: Any) -> Any:
    """Export into ``path`` through a temporary file, so a failed export leaves no half file."""
    from redun.backends.db.sync import export_records

    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "w", encoding="utf-8") as out:
            counts = export_records(conn, out, selection)
        os.replace(partial, path)
    except OSError as error:
        raise CliError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return counts


@click.command("import")
@click.option(
    "-f", "--file", "path", default="-", show_default=True, help="File to read ('-': stdin)."
)
@click.pass_context
def import_(ctx: click.Context, path: str) -> None:
    """Add the records of a JSON-lines export; all of it or, on any error, nothing."""
    from redun.backends.db.sync import RecordFormatError, import_records, read_records

    source = "stdin" if path == "-" else path
    try:
        with click.open_file(path, "r", encoding="utf-8") as lines:
            records = read_records(lines)
    except RecordFormatError as error:
        raise CliError(f"{source}, {error}; nothing was imported") from None
    except UnicodeDecodeError:
        raise CliError(
            f"{source} is not UTF-8 text; expected JSON lines from `redun export`"
        ) from None
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from None
    backend = _local_backend(ctx)
    with _database_errors(f"import from {source} (nothing was imported)", backend.db_name):
        with backend.engine.begin() as conn:
            counts = import_records(conn, records)
    click.echo(f"imported {counts.describe()}")
