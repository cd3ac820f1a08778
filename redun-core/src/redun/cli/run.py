"""``redun run FILE TASK [--arg value ...]``: run one task of a workflow file."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import click

from redun.cli.errors import CliError, UserCodeError, has_user_frames, last_line
from redun.config import parse_text_value

logger = logging.getLogger("redun")


def parse_tag(text: str) -> tuple[str, Any]:
    """``key=value`` -> ``(key, value)``; the value is read as JSON when it is JSON."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{text!r} is not key=value (e.g. -t env=prod)")
    return key.strip(), parse_text_value(raw)


def _tags(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list:
    return [parse_tag(text) for text in values]


def _execution_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a UUID (e.g. {uuid.uuid4()})") from None


@click.command(
    "run",
    context_settings={
        "allow_interspersed_args": False,
        "help_option_names": ["-h", "--help"],
    },
)
@click.option("--no-cache", is_flag=True, help="Run every task again instead of reusing results.")
@click.option("--dryrun", is_flag=True, help="Show which jobs would run, without running them.")
@click.option(
    "-t", "--tag", "tags", multiple=True, metavar="KEY=VALUE", callback=_tags, help="Execution tag."
)
@click.option(
    "--execution-id", callback=_execution_id, metavar="UUID", help="Id for the new execution."
)
@click.option(
    "--context",
    "context_updates",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Set a context value (JSON or text) for this run; repeat for more.",
)
@click.option(
    "--context-file",
    type=click.Path(dir_okay=False),
    help="A JSON file whose object replaces the configured context for this run.",
)
@click.argument("file")
@click.argument("task_name", metavar="TASK")
@click.argument("task_args", nargs=-1, type=click.UNPROCESSED, metavar="[--ARG VALUE ...]")
@click.pass_context
def run(
    ctx: click.Context,
    no_cache: bool,
    dryrun: bool,
    tags: list,
    execution_id: str | None,
    context_updates: tuple[str, ...],
    context_file: str | None,
    file: str,
    task_name: str,
    task_args: tuple[str, ...],
) -> None:
    """Run TASK from the workflow FILE; `redun run FILE help` lists the tasks.

    The task's arguments are options named after its parameters; see
    `redun run FILE TASK --help`.
    """
    from redun.cli.params import TaskCommand
    from redun.cli.workflow import find_task, format_task_list, load_workflow
    from redun.context import ContextError, context_from_updates, load_context_file, merge_dicts

    try:
        context = merge_dicts(
            [
                load_context_file(context_file) if context_file else {},
                context_from_updates(context_updates),
            ]
        )
    except ContextError as error:
        raise click.UsageError(str(error)) from None

    module = load_workflow(file)
    if task_name == "help":
        click.echo(format_task_list(), nl=False)
        return
    task = find_task(module, task_name, file)
    command = TaskCommand(task_name, task.func, task.func.__doc__)
    argv = ["--help"] if list(task_args) == ["help"] else list(task_args)
    info_name = f"{ctx.command_path} {file} {task_name}"
    with command.make_context(info_name, argv) as task_ctx:
        args, kwargs = command.invoke(task_ctx)

    result = run_expression(
        ctx, task(*args, **kwargs), dryrun, not no_cache, tags, execution_id, context
    )
    if not dryrun or result is not None:
        click.echo(repr(result))


def run_expression(
    ctx: click.Context,
    expr: Any,
    dryrun: bool,
    cache: bool,
    tags: list,
    execution_id: str | None,
    context: dict | None = None,
) -> Any:
    """Evaluate ``expr`` with a scheduler on the configured record; errors become CLI errors."""
    from redun.backends.base import BackendError
    from redun.config import ConfigError
    from redun.filesystems import FileSystemUnavailableError
    from redun.scheduler import Scheduler, SchedulerError

    obj = ctx.find_root().obj
    config = obj["config"]
    argv = ctx.meta.get("redun.argv") or ["redun", "run"]
    logger.info("redun :: version %s", _version())
    logger.info("config dir: %s", obj["config_dir"])
    try:
        backend = obj["get_backend"]()
        scheduler = Scheduler(config=config, backend=backend)
        return scheduler.run(
            expr,
            exec_argv=argv,
            dryrun=dryrun,
            cache=cache,
            tags=tags,
            execution_id=execution_id,
            context=context,
        )
    except (BackendError, ConfigError, SchedulerError) as error:
        raise CliError(str(error)) from None
    except FileSystemUnavailableError as error:  # a missing package, not a bug: say which
        task = getattr(error, "__redun_task__", None)
        where = f"task {task}: " if task else ""
        raise CliError(f"{where}{error}") from None
    except KeyboardInterrupt:
        raise CliError("interrupted", exit_code=130) from None
    except Exception as error:
        if hasattr(error, "__redun_task__") or has_user_frames(error):
            raise UserCodeError(error) from None
        logger.debug("engine error", exc_info=error)
        raise CliError(
            f"{last_line(error)} (run with --log-level DEBUG for the traceback)"
        ) from None


def _version() -> str:
    from redun import __version__

    return __version__
