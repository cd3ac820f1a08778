"""redun, rebuilt: workflows as plain Python, evaluated lazily, memoized and recorded."""

__version__ = "0.1.0"

from redun.expression import (  # noqa: E402
    Expression,
    SchedulerExpression,
    SimpleExpression,
    TaskExpression,
    ValueExpression,
)
from redun.file import ContentFile, Dir, File, FileSet, IFile, StagingDir, StagingFile  # noqa: E402
from redun.plugins.hookspecs import hookimpl  # noqa: E402
from redun.promise import Promise  # noqa: E402
from redun.scheduler import (  # noqa: E402
    Job,
    Scheduler,
    get_current_scheduler,
    run,
    set_current_scheduler,
)
from redun.scripting import script  # noqa: E402
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
    "IFile",
    "Job",
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
    "get_current_namespace",
    "get_current_scheduler",
    "get_task_registry",
    "hookimpl",
    "namespace",
    "run",
    "scheduler_task",
    "script",
    "set_current_scheduler",
    "task",
]
