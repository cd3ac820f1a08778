"""redun, rebuilt: workflows as plain Python, evaluated lazily, memoized and recorded."""

__version__ = "0.1.0"

from redun.builtins import catch, catch_all, cond, throw  # noqa: E402
from redun.context import get_context  # noqa: E402
from redun.expression import (  # noqa: E402
    Expression,
    SchedulerExpression,
    SimpleExpression,
    TaskExpression,
    ValueExpression,
)
from redun.file import ContentFile, Dir, File, FileSet, IFile, StagingDir, StagingFile  # noqa: E402
from redun.functools import (  # noqa: E402
    apply_func,
    const,
    delay,
    eval_,
    flat_map,
    force,
    identity,
    map_,
    seq,
)
from redun.handle import Handle, merge_handles  # noqa: E402
from redun.plugins.hookspecs import hookimpl  # noqa: E402
from redun.promise import Promise  # noqa: E402
from redun.scheduler import (  # noqa: E402
    Job,
    JobInfo,
    Scheduler,
    get_current_scheduler,
    run,
    set_current_scheduler,
)
from redun.scripting import script  # noqa: E402
from redun.subrun import subrun  # noqa: E402
from redun.tags import apply_tags  # noqa: E402
from redun.task import (  # noqa: E402
    PartialTask,
    Task,
    get_current_namespace,
    get_task_registry,
    namespace,
    scheduler_task,
    task,
)
from redun.values import Value  # noqa: E402

__all__ = [
    "ContentFile",
    "Dir",
    "Expression",
    "File",
    "FileSet",
    "Handle",
    "IFile",
    "Job",
    "JobInfo",
    "PartialTask",
    "Promise",
    "Scheduler",
    "SchedulerExpression",
    "SimpleExpression",
    "StagingDir",
    "StagingFile",
    "Task",
    "TaskExpression",
    "Value",
    "ValueExpression",
    "__version__",
    "apply_func",
    "apply_tags",
    "catch",
    "catch_all",
    "cond",
    "const",
    "delay",
    "eval_",
    "flat_map",
    "force",
    "get_context",
    "get_current_namespace",
    "get_current_scheduler",
    "get_task_registry",
    "hookimpl",
    "identity",
    "map_",
    "merge_handles",
    "namespace",
    "run",
    "scheduler_task",
    "script",
    "seq",
    "set_current_scheduler",
    "subrun",
    "task",
    "throw",
]
