"""``redun launch``: run a whole ``redun run ...`` as one job on a remote executor."""

from __future__ import annotations

import sys
import threading
import uuid
from typing import Any

import click


def _parse_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise click.UsageError(f"-o {text!r}: expected key=value, e.g. -o image=my-image")
    return key.strip(), value.strip()


def build_remote_executor(config: Any, name: str, overrides: dict[str, str]) -> Any:
    """The executor ``[executors.NAME]`` describes, which must be a remote executor."""
    from redun.executors.base import ExecutorError
    from redun.executors.remote.base import RemoteExecutor
    from redun.plugins import get_executor_classes
    from redun.scheduler.config import SchedulerConfig

    sections = SchedulerConfig(config).executor_sections()
    if name not in sections:
        known = ", ".join(sorted(sections)) or "none"
        raise click.ClickException(
            f"executor {name!r} is not configured (configured: {known}); "
            f"add an [executors.{name}] section to redun.ini"
        )
    options = {**sections[name], **overrides}
    type_name = options.get("type", "local")
    cls = get_executor_classes().get(type_name)
    if cls is None or not issubclass(cls, RemoteExecutor):
        raise click.ClickException(
            f"executor {name!r} (type {type_name!r}) cannot launch workflows; "
            "use an executor that runs jobs remotely (e.g. type = docker)"
        )
    try:
        return cls(name, None, options)
    except ExecutorError as error:
        raise click.ClickException(str(error)) from None


def launch_command(executor: Any, redun_args: list[str], use_code: bool) -> list[str]:
    """The command line that runs ``redun REDUN_ARGS`` on the executor's side."""
    command = [executor.python, "-m", "redun.executors.remote.launcher"]
    if use_code:
        executor.use_code_package = True
        command += ["--code", executor.code_url()]
    return [*command, "--", *redun_args]


@click.command(
    "launch", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.option("--executor", "executor_name", required=True, help="Executor to run redun within.")
@click.option(
    "--code-package/--no-code-package", default=True, help="Ship the code (default: yes)."
)
@click.option("-o", "--option", "options", multiple=True, help="Executor option key=value.")
@click.option("--wait", is_flag=True, help="Wait for the workflow and exit with its status.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
@click.pass_context
def launch(
    ctx: click.Context,
    executor_name: str,
    code_package: bool,
    options: tuple[str, ...],
    wait: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND (e.g. `redun run workflow.py main`) as one job on an executor."""
    from redun.executors.remote.base import RemoteCommand

    args = list(command)
    if args[:1] == ["redun"]:
        args = args[1:]
    if not args:
        raise click.UsageError("give the redun command to launch, e.g. redun run workflow.py main")
    overrides = dict(_parse_option(text) for text in options)
    executor = build_remote_executor(ctx.obj["config"], executor_name, overrides)
    key = f"launch-{uuid.uuid4().hex[:12]}"
    finished = threading.Event()
    outcome: dict[str, Any] = {}

    def on_exit(status: int | None, logs: str) -> None:
        outcome.update(status=status, logs=logs)
        finished.set()

    remote = RemoteCommand(
        key=key,
        command=launch_command(executor, args, code_package),
        labels={"redun.executor": executor_name, "redun.launch": key},
        on_exit=on_exit,
    )
    executor.start()
    executor.launch(remote)
    click.echo(f"[redun] launched {key} on executor {executor_name}: redun {' '.join(args)}")
    if not wait:
        return
    try:
        finished.wait()
    except KeyboardInterrupt:
        executor.stop()
        raise
    if outcome.get("logs"):
        click.echo(outcome["logs"].rstrip())
    status = outcome.get("status")
    if status:
        sys.exit(status if isinstance(status, int) else 1)
