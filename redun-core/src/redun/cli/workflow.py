"""Finding what ``redun run FILE TASK`` names: the workflow module and the task in it."""

from __future__ import annotations

import importlib
import os
import re
from types import ModuleType

from redun.cli.errors import CliError, UserCodeError, has_user_frames, last_line
from redun.task import Task, get_task_registry, import_path

USAGE_EXIT = 2
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def load_workflow(path: str) -> ModuleType:
    """Import the workflow file (or dotted module name) ``path``.

    A missing file or a failed import is a one-line :class:`CliError` (exit 2);
    any other exception raised by the user's module becomes a
    :class:`UserCodeError` showing the user's traceback.
    """
    is_file = os.path.exists(path)
    if not is_file and (path.endswith(".py") or not _MODULE_NAME.match(path)):
        raise CliError(f"cannot find workflow file {path!r}; check the path", USAGE_EXIT)
    if is_file and os.path.isdir(path):
        raise CliError(f"{path!r} is a directory; give the workflow's .py file", USAGE_EXIT)
    try:
        return import_path(path) if is_file else importlib.import_module(path)
    except ModuleNotFoundError as error:
        if not is_file and error.name == path.split(".")[0]:
            raise CliError(
                f"cannot find workflow file or module {path!r}; check the path", USAGE_EXIT
            ) from None
        raise CliError(f"cannot import {path}: {last_line(error)}", USAGE_EXIT) from None
    except (ImportError, SyntaxError) as error:
        raise CliError(f"cannot import {path}: {last_line(error)}", USAGE_EXIT) from None
    except Exception as error:
        if not has_user_frames(error):
            raise CliError(f"cannot import {path}: {last_line(error)}", USAGE_EXIT) from None
        raise UserCodeError(error) from None


def user_tasks() -> list[Task]:
    """Tasks defined outside redun itself, by full name."""
    tasks = [
        task
        for task in get_task_registry()
        if not task.is_scheduler_task and not (task.func.__module__ or "").split(".")[0] == "redun"
    ]
    return sorted(tasks, key=lambda task: task.fullname)


def module_tasks(module: ModuleType) -> list[Task]:
    """Tasks whose function is defined in ``module``."""
    return [task for task in user_tasks() if task.func.__module__ == module.__name__]


def find_task(module: ModuleType, name: str, path: str) -> Task:
    """The task ``name`` means in ``module``: ``<redun_namespace>.name``, then ``name`` as a
    full name, then the one task of ``module`` with that short name."""
    registry = get_task_registry()
    namespace = getattr(module, "redun_namespace", None)
    if namespace:
        found = registry.get(f"{namespace}.{name}")
        if found is not None:
            return found
    found = registry.get(name)
    if found is not None:
        return found
    matches = [task for task in module_tasks(module) if task.name == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(task.fullname for task in matches)
        raise CliError(f"task name {name!r} is ambiguous in {path}: use one of {names}", USAGE_EXIT)
    available = ", ".join(task.fullname for task in user_tasks()) or "none"
    raise CliError(f"unknown task {name!r} in {path}; available tasks: {available}", USAGE_EXIT)


def format_task_list() -> str:
    """The ``redun run FILE help`` listing."""
    tasks = user_tasks()
    if not tasks:
        return "No tasks found.\n"
    width = max(len(task.fullname) for task in tasks)
    lines = ["Tasks available:"]
    for task in tasks:
        doc = (task.func.__doc__ or "").strip().splitlines()
        summary = f"  {doc[0].strip()}" if doc else ""
        lines.append(f"   {task.fullname:<{width}}{summary}".rstrip())
    return "\n".join(lines) + "\n"
