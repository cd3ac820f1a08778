"""redun, rebuilt: workflows as plain Python, evaluated lazily, memoized and recorded."""

from redun.expression import Expression, SimpleExpression, TaskExpression, ValueExpression
from redun.task import (
    PartialTask,
    Task,
    get_current_namespace,
    get_task_registry,
    namespace,
    scheduler_task,
    task,
)
from redun.values import Value

__version__ = "0.1.0"

__all__ = [
    "Expression",
    "PartialTask",
    "SimpleExpression",
    "Task",
    "TaskExpression",
    "Value",
    "ValueExpression",
    "__version__",
    "get_current_namespace",
    "get_task_registry",
    "namespace",
    "scheduler_task",
    "task",
]
