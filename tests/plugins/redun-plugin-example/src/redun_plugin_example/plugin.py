"""The plugin module the ``redun`` entry point names: one function per hook."""

from __future__ import annotations

from collections.abc import Callable

import click

from redun import hookimpl


@hookimpl
def register_executors(register: Callable[[str, type], None]) -> None:
    from redun_plugin_example.executor import InlineExecutor

    register("inline", InlineExecutor)


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command("hello-plugin")
    @click.option("--name", default="redun", show_default=True, help="Who to greet.")
    def hello_plugin(name: str) -> None:
        """Print a greeting from redun-plugin-example."""
        click.echo(f"Hello, {name}, from redun-plugin-example!")


@hookimpl
def register_value_types(register: Callable[[type], type]) -> None:
    from redun_plugin_example.values import Greeting

    register(Greeting)


@hookimpl
def register_file_systems(register: Callable[[str, type], None]) -> None:
    from redun_plugin_example.filesystem import ExampleSupport

    register("example", ExampleSupport)
