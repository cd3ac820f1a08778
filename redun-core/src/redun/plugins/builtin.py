"""The built-in plugin: redun's own executor, commands and remote filesystems, registered
like any plugin's."""

from __future__ import annotations

from collections.abc import Callable

import click

from redun.plugins.hookspecs import hookimpl

# name -> ("module:attribute", one-line help). Imported only when the command runs.
BUILTIN_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("redun.cli.init:init", "Create a redun repository (.redun/) here."),
    "run": ("redun.cli.run:run", "Run a task from a workflow file."),
    "log": ("redun.cli.log:log", "Show executions, jobs, calls and values from the record."),
    "db": ("redun.cli.db:db", "Manage the redun database."),
    "plugins": ("redun.cli.plugins_cmd:plugins", "List the installed plugins."),
    "fs": ("redun.cli.fs:fs", "Copy files between local paths and URLs (s3://, gs://, ...)."),
    "diff": ("redun.cli.diff:diff", "Show what differs between two executions."),
    "tag": ("redun.cli.tag:tag", "List, add and remove tags on executions, jobs and values."),
    "repl": ("redun.cli.repl:repl", "An interactive Python console on the record."),
    "repo": ("redun.cli.repo:repo", "Add, remove and list repositories to push to and pull from."),
    "push": ("redun.cli.repo:push", "Send the records another repository lacks."),
    "pull": ("redun.cli.repo:pull", "Fetch the records this repository lacks from another."),
    "export": ("redun.cli.repo:export", "Write the record as JSON lines."),
    "import": ("redun.cli.repo:import_", "Add the records of a JSON-lines export."),
    "oneshot": ("redun.cli.oneshot:oneshot", "Run one task from a pickled input (remote jobs)."),
    "launch": ("redun.cli.launch:launch", "Run a whole `redun run` as one job on an executor."),
}


@hookimpl(tryfirst=True)
def register_executors(register: Callable[[str, type], None]) -> None:
    from redun.executors.local import LocalExecutor

    register("local", LocalExecutor)


@hookimpl(tryfirst=True)
def register_file_systems(register: Callable[[str, type], None]) -> None:
    from redun.filesystems.gcs import GcsSupport
    from redun.filesystems.generic import FsspecSupport
    from redun.filesystems.s3 import S3Support

    for protocol in ("s3", "s3a"):
        register(protocol, S3Support)
    for protocol in ("gs", "gcs"):
        register(protocol, GcsSupport)
    for protocol in ("http", "https", "memory"):
        register(protocol, FsspecSupport)


@hookimpl(tryfirst=True)
def register_commands(cli: click.Group) -> None:
    from redun.cli.group import add_lazy_command

    for name, (target, help_text) in BUILTIN_COMMANDS.items():
        if name not in cli.commands:  # a command run before plugins loaded is already there
            add_lazy_command(cli, name, target, help_text)
