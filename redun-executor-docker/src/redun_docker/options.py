"""Reading the ``[executors.NAME]`` options of a docker executor into Docker SDK arguments."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from redun.executors.base import ExecutorError


def parse_volumes(name: str, value: Any) -> dict[str, dict[str, str]]:
    """``volumes`` as the SDK takes them: ``{host_path: {"bind": path, "mode": mode}}``.

    Accepts ``HOST:CONTAINER[:MODE]`` items (whitespace- or comma-separated in redun.ini),
    a JSON list of such items or of ``[HOST, CONTAINER]`` pairs, or the same from Python.
    """
    items = _items(value)
    mounts: dict[str, dict[str, str]] = {}
    for item in items:
        parts = list(item) if isinstance(item, (list, tuple)) else str(item).split(":")
        if len(parts) == 1:
            parts = [parts[0], parts[0]]
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise ExecutorError(
                f"executor {name}: volume {item!r} is not HOST:CONTAINER[:MODE], "
                "e.g. volumes = /data:/data:ro"
            )
        mode = parts[2] if len(parts) == 3 else "rw"
        mounts[os.path.abspath(os.path.expanduser(parts[0]))] = {"bind": parts[1], "mode": mode}
    return mounts


def parse_env(name: str, value: Any) -> dict[str, str]:
    """``env``: ``KEY=VALUE`` items, a JSON object, or a mapping."""
    if isinstance(value, str) and value.strip().startswith("{"):
        value = _json(name, "env", value)
    if isinstance(value, Mapping):
        return {str(key): str(val) for key, val in value.items()}
    env = {}
    for item in _items(value):
        key, sep, val = str(item).partition("=")
        if not sep or not key:
            raise ExecutorError(f"executor {name}: env item {item!r} is not KEY=VALUE")
        env[key] = val
    return env


def parse_memory(name: str, value: Any) -> str | None:
    """``memory``: a number of gigabytes (``4``, ``0.5``) or a Docker size (``512m``)."""
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    try:
        return f"{int(float(text) * 1024)}m"
    except ValueError:
        pass
    if text[:-1].replace(".", "", 1).isdigit() and text[-1] in "bkmg":
        return text
    raise ExecutorError(
        f"executor {name}: memory {value!r} is not a size; use gigabytes (memory = 4) or 512m"
    )


def parse_number(name: str, key: str, value: Any, kind: type = float) -> Any:
    """A numeric option (``vcpus``, ``gpus``), or None when unset."""
    if value is None or value == "":
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ExecutorError(f"executor {name}: {key} must be a number, not {value!r}") from None
    if number < 0:
        raise ExecutorError(f"executor {name}: {key} must not be negative")
    return number


def _items(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return list(_json("", "volumes", text))
        return text.replace(",", " ").split()
    return list(value)


def _json(name: str, key: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ExecutorError(f"executor {name}: {key} is not valid JSON ({error.msg})") from None
