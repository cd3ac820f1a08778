"""The hooks a redun plugin implements.

A plugin is a module (found through the ``redun`` entry-point group) with
functions decorated by ``redun.hookimpl`` and named after the specs below.
Every argument is optional in an implementation: declare only what you use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

PROJECT_NAME = "redun"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_executors(register: Callable[[str, type], None]) -> None:
    """Offer executor classes.

    Called the first time redun needs the executor types (building the
    scheduler's executors, ``redun plugins``). Call ``register(type_name,
    executor_class)`` once per type; ``[executors.NAME] type = type_name`` in
    redun.ini then selects it. The class subclasses
    ``redun.executors.base.Executor``.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``redun`` command line.

    Called once, before the command line is parsed; ``cli`` is the root click
    group, so ``cli.add_command(cmd)`` or ``@cli.command()`` both work. A
    plugin cannot replace a command that is already registered.
    """


@hookspec
def register_value_types(register: Callable[[type], Any]) -> None:
    """Offer custom value types (subclasses of ``redun.values.Value``).

    Called before redun reads recorded values it may need to rebuild, so the
    classes are imported and known by their ``type_name``. Call
    ``register(value_class)`` once per class.
    """


@hookspec
def register_file_systems(register: Callable[[str, type], None]) -> None:
    """Offer support for URL protocols (``s3``, ``gs``, ...).

    Called the first time redun meets a non-local URL (never in a run that uses
    only local files). Call ``register(protocol, support_class)`` once per
    protocol; the class subclasses ``redun.filesystems.base.FileSystemSupport``
    and is built as ``support_class(protocol)``. Import the filesystem's own
    packages inside its methods, so that registering imports nothing heavy. A
    protocol nobody registers falls back to plain fsspec.
    """
