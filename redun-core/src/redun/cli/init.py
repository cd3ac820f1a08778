"""``redun init``: create a redun repository (config dir, redun.ini and database)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from redun.config import CONFIG_DIR_NAME, CONFIG_ENV, Config, init_config_dir


@click.command("init")
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create a redun repository: `.redun/` here (or the -c / $REDUN_CONFIG dir)."""
    from redun.cli.context import open_backend

    obj = ctx.find_root().obj
    option = obj.get("config_option") or os.environ.get(CONFIG_ENV)
    config_dir = Path(option).absolute() if option else Path.cwd() / CONFIG_DIR_NAME
    created = init_config_dir(config_dir)
    config = Config(config_dir=config_dir)
    db_path = _sqlite_path(config.db_uri or "")
    db_existed = db_path is None or db_path.exists()
    open_backend(config).close()
    for path in created:
        click.echo(f"Created {path}{os.sep if path.is_dir() else ''}")
    if not db_existed:
        click.echo(f"Created database {db_path}")
    click.echo(f"Initialized redun repository: {config_dir}")


def _sqlite_path(db_uri: str) -> Path | None:
    prefix = "sqlite:///"
    if not db_uri.startswith(prefix) or db_uri == prefix or ":memory:" in db_uri:
        return None
    return Path(db_uri[len(prefix) :].split("?", 1)[0])
