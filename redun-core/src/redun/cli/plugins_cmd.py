"""``redun plugins``: what is installed, with versions, and what failed to load."""

from __future__ import annotations

import click


@click.command("plugins")
def plugins() -> None:
    """List the loaded plugins (the built-in one included) and those that failed."""
    from redun.plugins import get_executor_classes, list_plugins

    infos = list_plugins()
    loaded = [p for p in infos if p.hooks or p.error is None]
    failed = [p for p in infos if p not in loaded]
    rows = [("PLUGIN", "PACKAGE", "VERSION", "HOOKS")]
    rows += [(p.name, p.package, p.version, ", ".join(p.hooks)) for p in loaded]
    for line in _table(rows):
        click.echo(line)
    for plugin in loaded:
        if plugin.error:
            click.echo(f"  {plugin.name}: {plugin.error}")
    click.echo(f"\nExecutor types: {', '.join(sorted(get_executor_classes())) or 'none'}")
    if failed:
        click.echo("\nFailed to load:")
        for line in _table([(p.name, p.package, p.version, p.error or "") for p in failed]):
            click.echo(line)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
        for row in rows
    ]
