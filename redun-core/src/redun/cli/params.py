"""Command-line options for a task's parameters, built from its type hints.

``int``, ``float``, ``str``, ``bool`` (``--flag``, ``--flag false``,
``--no-flag``), ``File``/``Dir`` (a path), ``Enum`` (a member's name),
``Literal[...]``, ``list[T]``/``tuple[T, ...]``/``set[T]`` (``--x 1 --x 2`` or
``--x 1 2``) and ``Optional[T]``; parameters without hints are strings.
Every parameter is passed to the task as a keyword (positional-only ones by
position), defaults included, as redun 0.4x does, so the call hashes alike.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import pathlib
import re
import types
import typing
from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource

_NUMBER = re.compile(r"^-\d|^-\.\d")
_CONTAINERS: dict[Any, type] = {
    list: list,
    tuple: tuple,
    set: set,
    frozenset: frozenset,
    collections.abc.Sequence: list,
    collections.abc.Iterable: list,
    collections.abc.Set: set,
}


class MappedChoice(click.Choice):
    """One of a fixed set of values, given by name (an Enum member's name, a Literal)."""

    def __init__(self, mapping: dict[str, Any], prefix: str = "") -> None:
        super().__init__(list(mapping), case_sensitive=True)
        self.mapping = mapping
        self.prefix = prefix

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str) and value in self.mapping.values():
            return value
        if self.prefix and isinstance(value, str) and value.startswith(self.prefix):
            value = value[len(self.prefix) :]
        return self.mapping[super().convert(value, param, ctx)]


class PathValue(click.ParamType):
    """A path turned into a value class such as ``File``, ``Dir`` or ``pathlib.Path``."""

    def __init__(self, value_class: type) -> None:
        self.value_class = value_class
        self.name = value_class.__name__.lower()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self.value_class):
            return value
        return self.value_class(value)


class TaskParam(typing.NamedTuple):
    """How one task parameter is read from the command line."""

    name: str
    parameter: inspect.Parameter
    option: click.Option
    container: type | None  # list/tuple/set for repeatable options


def get_hints(func: Callable) -> dict[str, Any]:
    """Resolved type hints of ``func`` (string annotations evaluated where possible)."""
    try:
        return typing.get_type_hints(func)
    except Exception:
        hints: dict[str, Any] = {}
        for name, annotation in getattr(func, "__annotations__", {}).items():
            if isinstance(annotation, str):
                try:
                    annotation = eval(annotation, getattr(func, "__globals__", {}))  # noqa: S307
                except Exception:
                    continue
            hints[name] = annotation
        return hints


def unwrap_optional(hint: Any) -> Any:
    """``Optional[T]`` / ``T | None`` -> ``T``; other hints unchanged."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def split_container(hint: Any) -> tuple[type | None, Any]:
    """``list[int]`` -> ``(list, int)``; a non-container hint -> ``(None, hint)``."""
    if hint in _CONTAINERS:
        return _CONTAINERS[hint], str
    origin = typing.get_origin(hint)
    if origin not in _CONTAINERS:
        return None, hint
    args = typing.get_args(hint)
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return (tuple, str) if not args else (None, hint)
    return _CONTAINERS[origin], unwrap_optional(args[0]) if args else str


def click_type(hint: Any) -> click.ParamType:
    """The click type that reads one value of ``hint`` from a string."""
    from redun.file import Dir, File

    if hint is bool:
        return click.BOOL
    if hint is int:
        return click.INT
    if hint is float:
        return click.FLOAT
    if typing.get_origin(hint) is typing.Literal:
        return MappedChoice({str(a): a for a in typing.get_args(hint)})
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            return MappedChoice({m.name: m for m in hint}, prefix=f"{hint.__name__}.")
        if issubclass(hint, (File, Dir, pathlib.PurePath)):
            return PathValue(hint)
    return click.STRING


def make_task_param(parameter: inspect.Parameter, hint: Any) -> TaskParam:
    """The click option for one task parameter."""
    container, item_hint = split_container(unwrap_optional(hint))
    param_type = click_type(item_hint)
    dashed = parameter.name.replace("_", "-")
    decls = [f"--{dashed}"] + ([f"--{parameter.name}"] if dashed != parameter.name else [])
    required = parameter.default is inspect.Parameter.empty
    extra: dict[str, Any] = {}
    if param_type is click.BOOL and container is None:
        extra = {"is_flag": False, "flag_value": "true", "metavar": "[true|false]"}
    notes = ["Repeat the option, or give several values, for a list."] if container else []
    if not required and parameter.default is not None:
        notes.append(f"[default: {_show_default(parameter.default)}]")
    option = click.Option(
        [*decls, parameter.name],
        type=param_type,
        multiple=container is not None,
        required=required,
        help=" ".join(notes) or None,
        **extra,
    )
    return TaskParam(parameter.name, parameter, option, container)


def _show_default(default: Any) -> str:
    if isinstance(default, enum.Enum):
        return default.name
    if isinstance(default, str):
        return default
    return str(getattr(default, "path", None) or repr(default))


def task_params(func: Callable) -> list[TaskParam]:
    """One :class:`TaskParam` per parameter of ``func`` (``*args``/``**kwargs`` skipped)."""
    hints = get_hints(func)
    params = []
    for parameter in inspect.signature(func).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        params.append(make_task_param(parameter, hints.get(parameter.name, str)))
    return params


def expand_argv(params: list[TaskParam], argv: list[str]) -> list[str]:
    """Rewrite ``--x 1 2`` as ``--x 1 --x 2`` for list options and ``--no-flag`` as
    ``--flag=false`` for bool options."""
    lists = {opt for p in params if p.container for opt in p.option.opts}
    negations = {
        f"--no-{opt[2:]}": opt
        for p in params
        if p.option.type is click.BOOL and not p.container
        for opt in p.option.opts
    }
    all_opts = {opt for p in params for opt in p.option.opts}
    out: list[str] = []
    current: str | None = None  # the list option whose values are being read
    seen_value = False
    for token in argv:
        if token == "--":
            current = None
            out.append(token)
            continue
        if token in negations and token not in all_opts:
            out.append(f"{negations[token]}=false")
            current = None
            continue
        name = token.split("=", 1)[0]
        if name in lists:
            current, seen_value = name, "=" in token
            out.append(token)
            continue
        if token.startswith("-") and not _NUMBER.match(token):
            current = None
        elif current is not None:
            if seen_value:
                out.append(current)
            seen_value = True
        out.append(token)
    return out


def bind_arguments(ctx: click.Context, params: list[TaskParam]) -> tuple[list, dict]:
    """The task call's ``(args, kwargs)`` from parsed options, signature defaults filled in."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in params:
        if ctx.get_parameter_source(param.name) == ParameterSource.DEFAULT:
            if param.parameter.default is inspect.Parameter.empty:
                continue
            value = param.parameter.default
        else:
            value = ctx.params[param.name]
            if param.container is not None:
                value = param.container(value)
        if param.parameter.kind is param.parameter.POSITIONAL_ONLY:
            args.append(value)
        else:
            kwargs[param.name] = value
    return args, kwargs


class TaskCommand(click.Command):
    """The options of one task, parsed as ``redun run FILE TASK [--arg value ...]``."""

    def __init__(self, name: str, func: Callable, help_text: str | None = None) -> None:
        self.task_params = task_params(func)
        super().__init__(
            name,
            params=[p.option for p in self.task_params],
            help=help_text,
            callback=self._bind,
            context_settings={"help_option_names": ["--help"]},
        )

    def _bind(self, **_: Any) -> tuple[list, dict]:
        return bind_arguments(click.get_current_context(), self.task_params)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_argv(self.task_params, args))
