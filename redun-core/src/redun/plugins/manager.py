"""The one plugin manager: built-ins plus the packages of the ``redun`` entry-point group.

Plugins load once, on the first call of :func:`load_plugins` (every getter
calls it). Each installed plugin is imported and validated in its own
``try``: one that fails is recorded with its error, shown by ``redun
plugins``, and the others still load. ``REDUN_PLUGINS`` (comma-separated
names; empty for none) limits which installed plugins load.

Each hook implementation is also called on its own, so a plugin whose hook
raises is recorded against that plugin rather than breaking redun. When two
plugins register the same executor type, protocol or command, the first one wins; the
built-ins are called first, so no plugin can replace them.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import pluggy

from redun.plugins import hookspecs

if TYPE_CHECKING:
    from importlib import metadata

    import click

ENTRY_POINT_GROUP = "redun"
PLUGINS_ENV = "REDUN_PLUGINS"
BUILTIN_NAME = "redun"

logger = logging.getLogger("redun")

_TYPE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_PROTOCOL = re.compile(r"^[a-z][a-z0-9+.-]*$")  # a URL scheme (RFC 3986), lower case


class PluginError(Exception):
    """A plugin broke the contract (bad registration, unknown hook)."""


class PluginInfo(NamedTuple):
    """One plugin as ``redun plugins`` shows it; ``error`` is set when it failed."""

    name: str
    version: str
    hooks: list[str]
    error: str | None = None
    package: str = ""


class _State:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.loaded = False
        self.origins: dict[str, tuple[str, str]] = {}  # plugin name -> (package, version)
        self.failed: dict[str, PluginInfo] = {}
        self.hook_errors: dict[str, str] = {}
        self.executor_classes: dict[str, type] | None = None
        self.value_types: dict[str, type] | None = None
        self.file_system_classes: dict[str, type] | None = None


_lock = threading.RLock()
_state = _State()


def get_plugin_manager() -> pluggy.PluginManager:
    """The loaded plugin manager."""
    return load_plugins()


def load_plugins() -> pluggy.PluginManager:
    """Register the built-ins and the installed plugins (once; later calls do nothing)."""
    with _lock:
        if _state.loaded:
            return _state.pm
        _state.loaded = True
        from redun import __version__
        from redun.plugins import builtin

        _state.pm.register(builtin, name=BUILTIN_NAME)
        _state.pm.check_pending()
        _state.origins[BUILTIN_NAME] = ("redun-core", __version__)
        for entry_point in _selected_entry_points():
            _load_entry_point(entry_point)
        return _state.pm


def reset_plugins() -> None:
    """Forget every loaded plugin, so the next call loads them again (for tests)."""
    global _state
    with _lock:
        _state = _State()
        filesystems = sys.modules.get("redun.filesystems")
        if filesystems is not None:
            filesystems.clear_supports()  # built from the classes just forgotten


def _selected_entry_points() -> list[metadata.EntryPoint]:
    from importlib import metadata

    entry_points = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    wanted = os.environ.get(PLUGINS_ENV)
    if wanted is None:
        return entry_points
    names = {_normalize(name) for name in wanted.split(",") if name.strip()}
    chosen = [
        ep
        for ep in entry_points
        if _normalize(ep.name) in names or _normalize(_package(ep)) in names
    ]
    found = {_normalize(ep.name) for ep in chosen} | {_normalize(_package(ep)) for ep in chosen}
    for name in sorted(names - found):
        _state.failed[name] = PluginInfo(
            name, "", [], f"not installed (named in ${PLUGINS_ENV}); pip install it or unset it"
        )
    return chosen


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _package(entry_point: metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return dist.metadata["Name"] if dist is not None else ""


def _version(entry_point: metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return dist.version if dist is not None else ""


def _load_entry_point(entry_point: metadata.EntryPoint) -> None:
    name, pm = entry_point.name, _state.pm
    package, version = _package(entry_point), _version(entry_point)
    try:
        if pm.has_plugin(name):
            raise PluginError(f"another plugin is already registered as {name!r}")
        plugin = entry_point.load()
        pm.register(plugin, name=name)
        unknown = _unknown_hooks(pm, plugin)
        if unknown:
            pm.unregister(name=name)
            known = ", ".join(_known_hooks(pm))
            raise PluginError(f"unknown hook(s) {', '.join(unknown)} (redun's hooks: {known})")
    except Exception as error:
        message = _one_line(error)
        _state.failed[name] = PluginInfo(name, version, [], message, package)
        logger.debug("plugin %s (%s) failed to load: %s", name, entry_point.value, message)
        return
    _state.origins[name] = (package, version)


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """Hooks ``plugin`` implements that redun does not define (likely misspelled)."""
    return sorted(
        caller.name
        for caller in pm.get_hookcallers(plugin) or []
        if not caller.has_spec()
        and any(impl.plugin is plugin and not impl.optionalhook for impl in caller.get_hookimpls())
    )


def _known_hooks(pm: pluggy.PluginManager) -> list[str]:
    return sorted(n for n, c in vars(pm.hook).items() if not n.startswith("_") and c.has_spec())


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _call_each(hook_name: str, make_kwargs: Callable[[str], dict[str, Any]]) -> None:
    """Call every implementation of a hook on its own, recording failures per plugin."""
    caller = getattr(load_plugins().hook, hook_name)
    for impl in reversed(caller.get_hookimpls()):
        _call_impl(impl, hook_name, make_kwargs)


def _named_classes(
    attr: str, hook_name: str, what: str, check: Callable[[str, type], None]
) -> dict[str, type]:
    """``{name: class}`` from every plugin's ``hook_name(register)``, collected once into
    ``_state.<attr>``; ``check(name, cls)`` raises PluginError for a bad registration."""
    with _lock:
        if getattr(_state, attr) is None:
            classes: dict[str, type] = {}

            def make_kwargs(plugin_name: str) -> dict[str, Any]:
                def register(name: str, cls: type) -> None:
                    check(name, cls)
                    _register_once(classes, name, cls, plugin_name, what)

                return {"register": register}

            _call_each(hook_name, make_kwargs)
            setattr(_state, attr, classes)
        return dict(getattr(_state, attr))


def _check_executor(type_name: str, executor_class: type) -> None:
    from redun.executors.base import Executor

    if not isinstance(type_name, str) or not _TYPE_NAME.match(type_name):
        raise PluginError(f"executor type name {type_name!r} is not a valid name")
    if not (isinstance(executor_class, type) and issubclass(executor_class, Executor)):
        raise PluginError(
            f"executor type {type_name!r}: {executor_class!r} must be a subclass "
            "of redun.executors.base.Executor"
        )


def get_executor_classes() -> dict[str, type]:
    """``{type_name: executor class}`` from every plugin's ``register_executors``."""
    return _named_classes(
        "executor_classes", "register_executors", "executor type", _check_executor
    )


def get_value_types() -> dict[str, type]:
    """``{type_name: class}`` of the value types plugins register."""
    with _lock:
        if _state.value_types is None:
            from redun.values import Value

            types: dict[str, type] = {}

            def make_kwargs(plugin_name: str) -> dict[str, Any]:
                def register(value_class: type) -> type:
                    if not (isinstance(value_class, type) and issubclass(value_class, Value)):
                        raise PluginError(f"{value_class!r} must be a subclass of redun.Value")
                    if not value_class.type_name:
                        raise PluginError(f"{value_class.__name__} must set a type_name")
                    _register_once(types, value_class.type_name, value_class, plugin_name, "type")
                    return value_class

                return {"register": register}

            _call_each("register_value_types", make_kwargs)
            _state.value_types = types
        return dict(_state.value_types)


def _check_file_system(protocol: str, support_class: type) -> None:
    from redun.filesystems.base import FileSystemSupport

    if not isinstance(protocol, str) or not _PROTOCOL.match(protocol):
        raise PluginError(f"file system protocol {protocol!r} is not a URL scheme")
    if protocol in ("file", "local"):
        raise PluginError(f"protocol {protocol!r} is redun's own (local files)")
    if not (isinstance(support_class, type) and issubclass(support_class, FileSystemSupport)):
        raise PluginError(
            f"protocol {protocol!r}: {support_class!r} must be a subclass of "
            "redun.filesystems.base.FileSystemSupport"
        )


def get_file_system_classes() -> dict[str, type]:
    """``{protocol: FileSystemSupport class}`` from every plugin's ``register_file_systems``."""
    return _named_classes(
        "file_system_classes", "register_file_systems", "protocol", _check_file_system
    )


def add_plugin_commands(cli: click.Group) -> None:
    """Let every plugin add its commands to ``cli`` (a command already there is kept)."""

    def make_kwargs(plugin_name: str) -> dict[str, Any]:
        return {"cli": cli}

    with _lock:
        pm = load_plugins()
        for impl in reversed(pm.hook.register_commands.get_hookimpls()):
            before = dict(cli.commands)
            _call_impl(impl, "register_commands", make_kwargs)
            for name, command in before.items():
                if cli.commands.get(name) is not command:
                    logger.warning(
                        "plugin %s tried to replace the command %r; keeping the first one",
                        impl.plugin_name,
                        name,
                    )
                    cli.commands[name] = command


def _call_impl(impl: Any, hook_name: str, make_kwargs: Callable[[str], dict]) -> None:
    if impl.hookwrapper or impl.wrapper:
        return
    kwargs = make_kwargs(impl.plugin_name)
    try:
        impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
    except Exception as error:
        if impl.plugin_name == BUILTIN_NAME:
            raise
        message = f"{hook_name} failed: {_one_line(error)}"
        _state.hook_errors[impl.plugin_name] = message
        logger.debug("plugin %s: %s", impl.plugin_name, message)


def _register_once(
    registry: dict[str, type], key: str, value: type, plugin_name: str, kind: str
) -> None:
    existing = registry.get(key)
    if existing is None:
        registry[key] = value
    elif existing is not value:
        logger.warning(
            "plugin %s: %s %r is already provided by %s.%s; keeping that one",
            plugin_name,
            kind,
            key,
            existing.__module__,
            existing.__qualname__,
        )


def list_plugins() -> list[PluginInfo]:
    """Loaded plugins (the built-in first), then the ones that failed, with their errors."""
    pm = load_plugins()
    get_executor_classes()
    get_value_types()
    get_file_system_classes()
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        package, version = _state.origins.get(name, ("", ""))
        infos.append(PluginInfo(name, version, hooks, _state.hook_errors.get(name), package))
    return infos + list(_state.failed.values())


def failed_plugins() -> list[PluginInfo]:
    """The installed plugins that could not be loaded, with their errors."""
    load_plugins()
    return list(_state.failed.values())


def describe_failures(names: Iterable[str] | None = None) -> str:
    """A hint naming the failed plugins (all, or those in ``names``), or ``""``."""
    failed = failed_plugins()
    if names is not None:
        wanted = {_normalize(n) for n in names}
        failed = [p for p in failed if _normalize(p.name) in wanted]
    if not failed:
        return ""
    listed = "; ".join(f"{p.name}: {p.error}" for p in failed)
    return f"plugin(s) that failed to load: {listed} (see `redun plugins`)"
