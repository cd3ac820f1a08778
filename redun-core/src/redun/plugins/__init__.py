"""redun's plugin system: the hook specs, the one plugin manager and the built-in plugin.

The manager's functions are imported on first use, so ``import redun`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from redun.plugins.hookspecs import hookimpl, hookspec

_MANAGER_NAMES = (
    "ENTRY_POINT_GROUP",
    "PLUGINS_ENV",
    "PluginError",
    "PluginInfo",
    "add_plugin_commands",
    "describe_failures",
    "failed_plugins",
    "get_executor_classes",
    "get_file_system_classes",
    "get_plugin_manager",
    "get_value_types",
    "list_plugins",
    "load_plugins",
    "reset_plugins",
)

__all__ = ["hookimpl", "hookspec", *_MANAGER_NAMES]


def __getattr__(name: str) -> Any:
    if name in _MANAGER_NAMES:
        return getattr(importlib.import_module("redun.plugins.manager"), name)
    raise AttributeError(f"module 'redun.plugins' has no attribute {name!r}")
