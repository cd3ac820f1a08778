"""What the root command hands every subcommand on ``ctx.obj``.

``ctx.obj`` is a dict: ``config`` (a lazily read :class:`~redun.config.Config`),
``config_dir`` (its directory), ``config_option`` (the ``-c`` value or None),
``repo`` (the ``-r`` value or None) and ``get_backend(load=True)``, which opens
the record (creating the config dir on first use).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from redun.config import Config, find_config_dir, init_config_dir


def open_backend(config: Config, load: bool = True) -> Any:
    """A RedunBackend for ``config``'s database, loaded (schema created) unless ``load=False``.

    The config dir (with a default redun.ini) is created first if it is missing.
    Raises BackendError (or ConfigError) with a one-line message.
    """
    if config.config_dir is not None:
        init_config_dir(config.config_dir)
    from redun.backends.db.backend import RedunBackend

    backend = RedunBackend(config.db_uri, config=config.get_section("backend"))
    if load:
        backend.load()
    return backend


def make_obj(
    ctx: click.Context, obj: dict[str, Any], config_option: str | None, repo: str | None
) -> dict[str, Any]:
    """Fill ``ctx.obj`` for one invocation of ``redun`` (keys already there are kept)."""
    config_dir = find_config_dir(config_option)
    obj.setdefault("config_dir", Path(config_dir))
    obj.setdefault("config", Config(config_dir=config_dir))
    obj.setdefault("config_option", config_option)
    obj.setdefault("repo", repo)
    opened: list[Any] = []

    def get_backend(load: bool = True) -> Any:
        if not load:
            return open_backend(obj["config"], load=False)
        if not opened:
            opened.append(open_backend(obj["config"]))
            ctx.call_on_close(opened[0].close)
        return opened[0]

    getter: Callable[..., Any] = get_backend
    obj.setdefault("get_backend", getter)
    return obj
