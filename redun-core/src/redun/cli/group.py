"""The root group's machinery: plugin commands added on first use, built-in commands
imported only when they run, and one-line errors for configuration problems."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import click

from redun.backends.base import BackendError
from redun.cli.errors import CliError, last_line
from redun.config import ConfigError


class LazyCommand(click.Command):
    """Stands in for a command whose module is imported when the command is used."""

    def __init__(self, name: str, target: str, help_text: str) -> None:
        super().__init__(name, help=help_text, short_help=help_text)
        self.target = target

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


def add_lazy_command(group: click.Group, name: str, target: str, help_text: str) -> bool:
    """Add ``target`` ("module:attribute") as command ``name`` if its module exists.

    A :class:`RedunGroup` imports it on first use; another group imports it now.
    """
    module_name = target.partition(":")[0]
    try:
        if importlib.util.find_spec(module_name) is None:
            return False
    except ImportError:
        return False
    command = LazyCommand(name, target, help_text)
    group.add_command(command if isinstance(group, RedunGroup) else command.load(), name)
    return True


class RedunGroup(click.Group):
    """A click group whose commands come from plugins (the built-in one included)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugins_added = False

    def add_plugin_commands(self) -> None:
        """Ask every plugin for its commands (once)."""
        if not self._plugins_added:
            self._plugins_added = True
            from redun.plugins import add_plugin_commands

            add_plugin_commands(self)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        argv = [info_name or "redun", *args]
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta["redun.argv"] = argv
        return ctx

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.add_plugin_commands()
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from redun.plugins.builtin import BUILTIN_COMMANDS

        if cmd_name in BUILTIN_COMMANDS and cmd_name not in self.commands:
            # A built-in command needs no plugin discovery (it costs tens of milliseconds).
            add_lazy_command(self, cmd_name, *BUILTIN_COMMANDS[cmd_name])
        if cmd_name not in self.commands:
            self.add_plugin_commands()
        command = self.commands.get(cmd_name)
        if isinstance(command, LazyCommand):
            try:
                command = self.commands[cmd_name] = command.load()
            except Exception as error:
                raise CliError(
                    f"command {cmd_name!r} cannot be loaded: {last_line(error)}"
                ) from None
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            from redun.plugins import describe_failures

            hint = describe_failures()
            if hint and "No such command" in error.message:
                error.message = f"{error.message} Note: {hint}"
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands with their one-line help, without importing lazy ones."""
        commands = [
            (name, self.commands[name])
            for name in self.list_commands(ctx)
            if not self.commands[name].hidden
        ]
        if not commands:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in commands)
        rows = [(name, command.get_short_help_str(limit)) for name, command in commands]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, BackendError) as error:
            raise CliError(str(error)) from None
        except click.ClickException as error:
            if type(error) is not click.ClickException:
                raise  # usage errors keep click's usage text; CliErrors print themselves
            # Every command's errors read the same: "redun: error: ...".
            raise CliError(error.message, error.exit_code) from None
