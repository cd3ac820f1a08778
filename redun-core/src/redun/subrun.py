"""subrun: evaluate a sub-workflow with a child scheduler running inside one job.

``subrun(expr, executor="batch")`` hands the whole of ``expr`` to one job on
``executor``; there a new Scheduler evaluates it (with its own cache checks and
parallelism) and records its jobs into the same execution, below that job.
"""

from __future__ import annotations

import logging
import pickle
import sys
from typing import TYPE_CHECKING, Any

from redun.hashing import pickle_dumps
from redun.scheduler.job import JobInfo
from redun.task import import_module_or_file, scheduler_task, task

if TYPE_CHECKING:
    from redun.expression import SchedulerExpression
    from redun.promise import Promise

logger = logging.getLogger("redun")


def _workflow_modules() -> list[tuple[str, str | None]]:
    """(module, file) of every module that defines a user task, for the child to import."""
    from redun.task import get_task_registry

    modules: dict[str, str | None] = {}
    for user_task in get_task_registry():
        name = getattr(user_task.func, "__module__", "") or ""
        module = sys.modules.get(name)
        if module is None or name == "redun" or name.startswith("redun."):
            continue  # redun's own, or a module this process has let go of
        modules[name] = getattr(module, "__file__", None)
    return sorted(modules.items())


def _import_modules(modules: list) -> None:
    for entry in modules:
        name, path = (entry, None) if isinstance(entry, str) else entry
        if name not in sys.modules:
            import_module_or_file(name, path)


@task(namespace="redun", name="_subrun_root_task", version="1", cache_scope="CSE")
def subrun_root_task(
    expr: bytes,
    config: dict,
    config_dir: str | None,
    load_modules: list,
    run_config: dict,
    new_execution: bool = False,
    job_info: JobInfo = JobInfo(),  # noqa: B008 (filled in with this job's ids)
) -> dict:
    """Run a child scheduler on the pickled ``expr``; its result and its job report."""
    from redun.config import Config
    from redun.scheduler import Scheduler

    _import_modules(load_modules)
    child_config: Any = Config(config_dir=config_dir) if config_dir else config
    child = Scheduler(config=child_config)
    extend = {} if new_execution else {
        "execution_id": job_info.execution_id,
        "parent_job_id": job_info.job_id,
    }  # fmt: skip
    expression = pickle.loads(expr)
    try:
        result = child.run(
            expression,
            exec_argv=["redun", "subrun", repr(expression)],
            dryrun=run_config.get("dryrun", False),
            cache=run_config.get("cache", True),
            context=run_config.get("context") or {},
            **extend,
        )
        return {"result": result, "status": child.reporter.summary_lines()}
    finally:
        child.close()


@scheduler_task(namespace="redun")
def subrun(
    scheduler: Any,
    parent_job: Any,
    sexpr: SchedulerExpression,
    expr: Any,
    executor: str,
    config: dict | None = None,
    config_dir: str | None = None,
    new_execution: bool = False,
    load_modules: list | None = None,
    **task_options: Any,
) -> Promise:
    """Evaluate ``expr`` with a child scheduler inside one job on ``executor``.

    ``config`` (a redun.ini-shaped dict) or ``config_dir`` configure the child;
    by default it gets this scheduler's configuration, record included, and its
    jobs join this execution (``new_execution=True`` starts a new one).
    ``task_options`` (memory, vcpus, ...) go to the job that runs the child.
    """
    if config and config_dir:
        raise ValueError("subrun(): give config or config_dir, not both")
    if not config and not config_dir:
        config = scheduler.config.child_config()
    run_config = {
        "dryrun": scheduler._dryrun,
        "cache": scheduler._use_cache,
        "context": scheduler.job_context(parent_job),
    }
    root = subrun_root_task.options(executor=executor, **task_options)(
        pickle_dumps(expr),
        config or {},
        config_dir,
        load_modules if load_modules is not None else _workflow_modules(),
        run_config,
        new_execution,
    )

    def unwrap(outcome: dict) -> Any:
        logger.info("Sub-scheduler on executor %r:", executor)
        for line in outcome.get("status", []):
            logger.info("  %s", line)
        return outcome["result"]

    return scheduler.evaluate(root, parent_job).then(unwrap)
