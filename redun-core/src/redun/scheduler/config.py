"""What the scheduler needs from configuration: the record's URI and the executors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redun.executors.base import Executor, ExecutorError
from redun.scheduler.errors import SchedulerError

if TYPE_CHECKING:
    from redun.scheduler.core import Scheduler

IN_MEMORY_DB = "sqlite://"


def _sections(config: Any) -> dict[str, dict[str, str]]:
    """Flatten a Config or a redun.ini-shaped dict into {section: {key: value}}."""
    if config is None:
        return {}
    if hasattr(config, "as_dict"):
        config = config.as_dict()
    sections: dict[str, dict[str, str]] = {}
    for name, body in dict(config).items():
        if (
            name == "executors"
            and isinstance(body, dict)
            and all(isinstance(v, dict) for v in body.values())
        ):
            for executor_name, options in body.items():
                sections[f"executors.{executor_name}"] = {k: str(v) for k, v in options.items()}
        elif isinstance(body, dict):
            sections[name] = {k: str(v) for k, v in body.items()}
        else:
            sections[name] = dict(body)
    return sections


class SchedulerConfig:
    """Configuration as the scheduler reads it."""

    def __init__(self, config: Any = None) -> None:
        self.source = config
        self.sections = _sections(config)

    @property
    def backend_section(self) -> dict[str, str]:
        return self.sections.get("backend", {})

    @property
    def db_uri(self) -> str:
        resolved = getattr(self.source, "db_uri", None)  # a Config resolves relative paths
        if isinstance(resolved, str):
            return resolved
        return self.backend_section.get("db_uri", IN_MEMORY_DB)

    @property
    def context(self) -> dict:
        """The execution context: ``[scheduler] context`` (JSON) or ``context_file``."""
        from redun.context import ContextError, load_context_file, load_context_text

        raw = self.source.as_dict() if hasattr(self.source, "as_dict") else self.source
        given = (raw or {}).get("scheduler", {}).get("context") if isinstance(raw, dict) else None
        section = self.sections.get("scheduler", {})
        text, path = section.get("context"), section.get("context_file")
        try:
            if text and path:
                raise ContextError(
                    "[scheduler] has both context and context_file; keep one of them"
                )
            if isinstance(given, dict):  # Scheduler(config={"scheduler": {"context": {...}}})
                return given
            if path:
                return load_context_file(path)
            return load_context_text(text, "[scheduler] context") if text else {}
        except ContextError as error:
            raise SchedulerError(str(error)) from None

    @property
    def tags(self) -> dict[str, Any]:
        """``[tags]``: tags for every execution (values parsed as JSON when they are JSON)."""
        from redun.config import parse_text_value

        return {k: parse_text_value(v) for k, v in self.sections.get("tags", {}).items()}

    def child_config(self) -> dict[str, dict[str, str]]:
        """This configuration for a child scheduler (subrun): same record, by absolute URI."""
        sections = {name: dict(body) for name, body in self.sections.items()}
        sections.setdefault("backend", {})["db_uri"] = self.db_uri
        return sections

    def executor_sections(self) -> dict[str, dict[str, str]]:
        return {
            name.split(".", 1)[1]: body
            for name, body in self.sections.items()
            if name.startswith("executors.")
        }

    def build_executors(self, scheduler: Scheduler) -> dict[str, Executor]:
        """One executor per [executors.NAME] section, plus the default local one."""
        sections = self.executor_sections()
        sections.setdefault("default", {"type": "local"})
        if all(options.get("type", "local") == "local" for options in sections.values()):
            from redun.executors.local import LocalExecutor

            classes: dict[str, type] = {"local": LocalExecutor}  # no plugin discovery needed
        else:
            from redun.plugins import get_executor_classes

            classes = get_executor_classes()
        executors: dict[str, Executor] = {}
        for name, options in sections.items():
            type_name = options.get("type", "local")
            cls = classes.get(type_name)
            if cls is None:
                known = ", ".join(sorted(classes)) or "none"
                raise SchedulerError(
                    f"[executors.{name}] has unknown type {type_name!r} "
                    f"(installed types: {known}); install the plugin that provides it "
                    "or fix the type"
                )
            try:
                executors[name] = cls(name, scheduler=scheduler, config=options)
            except ExecutorError as error:
                raise SchedulerError(str(error)) from None
        return executors
