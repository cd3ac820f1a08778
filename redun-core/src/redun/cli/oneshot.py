"""``redun oneshot``: run one task from a pickled input (the remote side of executors)."""

from __future__ import annotations

import sys

import click


@click.command("oneshot")
@click.argument("script")
@click.argument("task_name", metavar="TASK")
@click.option("--no-cache", is_flag=True, help="Run even when a valid output already exists.")
@click.option("-c", "--code", metavar="URL", help="Code package (tar.gz) containing SCRIPT.")
@click.option("-i", "--input", "input_path", required=True, help="Input file (task arguments).")
@click.option("-o", "--output", "output_path", required=True, help="Output file (task result).")
@click.option("-e", "--error", "error_path", required=True, help="Error file (task error).")
@click.option("-p", "--import-path", multiple=True, help="Additional Python import path.")
def oneshot(
    script: str,
    task_name: str,
    no_cache: bool,
    code: str | None,
    input_path: str,
    output_path: str,
    error_path: str,
    import_path: tuple[str, ...],
) -> None:
    """Run TASK (defined by SCRIPT, a .py file or a module) once and write its result."""
    from redun.executors.remote.oneshot import run_oneshot

    status = run_oneshot(
        script,
        task_name,
        input_path,
        output_path,
        error_path,
        code=code,
        import_paths=import_path,
        use_cache=not no_cache,
    )
    if status:
        click.echo(f"[redun] task {task_name} failed; its error is in {error_path}", err=True)
        sys.exit(status)
