"""Higher-order helpers of the redun language: map_, seq, delay/force, compose, ...

``map_`` and ``seq`` are scheduler tasks (they control how their arguments are
evaluated); the others are ordinary tasks in the ``redun`` namespace, or plain
functions that build expressions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from redun.expression import Expression, SchedulerExpression, has_expression
from redun.promise import Promise
from redun.task import PartialTask, Task, scheduler_task, task

if TYPE_CHECKING:
    from redun.scheduler import Job, Scheduler


@scheduler_task(namespace="redun")
def seq(
    scheduler: Scheduler, parent_job: Job | None, sexpr: SchedulerExpression, exprs: Any
) -> Promise:
    """Evaluate the expressions of ``exprs`` one after another; a list of their values.

    Each item starts only once the one before it has its value.
    """
    if isinstance(exprs, Expression):  # a lazy list: its items arrive already evaluated
        return scheduler.evaluate(exprs, parent_job).then(lambda items: list(_items("seq", items)))
    items = iter(_items("seq", exprs))
    results: list[Any] = []
    outcome = Promise()

    def start_next() -> None:
        try:
            for item in items:
                if not has_expression(item):
                    results.append(item)
                    continue
                scheduler.evaluate(item, parent_job).subscribe(on_value, outcome.do_reject)
                return
            outcome.do_resolve(results)
        except Exception as error:
            outcome.do_reject(error)

    def on_value(value: Any) -> None:
        results.append(value)
        start_next()  # runs from the promise trampoline: the stack stays flat

    start_next()
    return outcome


@scheduler_task(namespace="redun")
def map_(
    scheduler: Scheduler,
    parent_job: Job | None,
    sexpr: SchedulerExpression,
    a_task: Any,
    values: Any,
) -> Promise:
    """``map_(a_task, values)``: the list ``[a_task(v) for v in values]``, run in parallel."""

    def apply(args: tuple) -> Promise:
        func, items = args
        if not callable(func):
            raise TypeError(
                f"map_(): {func!r} is not a task; give a task, task.partial(...) or a function "
                "as the first argument"
            )
        return scheduler.evaluate([func(item) for item in _items("map_", items)], parent_job)

    return scheduler.evaluate((a_task, values), parent_job).then(apply)


@task(namespace="redun", version="1")
def flat_map(a_task: Callable[..., Any], values: Sequence[Any]) -> Any:
    """Apply ``a_task`` to each value and concatenate the lists it returns."""
    return flatten(map_(a_task, values))


@task(namespace="redun", version="1")
def flatten(list_of_lists: Sequence[Sequence[Any]]) -> list[Any]:
    """Concatenate a list of lists into one list."""
    return [
        item for sublist in _items("flatten", list_of_lists) for item in _items("flatten", sublist)
    ]


@task(namespace="redun", version="1")
def zip_(*lists: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The list of tuples ``zip(*lists)`` gives."""
    return list(zip(*lists))


@task(namespace="redun", version="1")
def identity(x: Any) -> Any:
    """Return ``x`` unchanged."""
    return x


@task(namespace="redun", version="1")
def const(x: Any, _: Any) -> Any:
    """Return ``x`` and drop the second argument (which is still evaluated first)."""
    return x


@task(namespace="redun", version="1")
def apply_func(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a plain (module-level) function on arguments that may be lazy."""
    return func(*args, **kwargs)


@task(namespace="redun", version="1")
def eval_(code: str, *args: Any, **kwargs: Any) -> Any:
    """Evaluate the Python expression ``code`` with ``kwargs`` as its variables.

    Positional arguments take the names listed in the keyword ``pos_args``:
    ``eval_("a + b", x, y, pos_args=["a", "b"])``.
    """
    pos_args = list(kwargs.pop("pos_args", None) or [])
    if len(args) != len(pos_args):
        raise TypeError(
            f"eval_(): got {len(args)} positional argument(s) but pos_args names "
            f"{len(pos_args)}; pass pos_args=[...] with one name per positional argument"
        )
    variables = dict(kwargs)
    variables.update(zip(pos_args, args))
    # The variables are the globals, so comprehensions inside ``code`` see them too.
    return eval(code, variables)


@task(namespace="redun", version="1")
def compose_apply(tasks: Sequence[Callable[..., Any]], *args: Any, **kwargs: Any) -> Any:
    """Apply the last task to the arguments, then each earlier one to the result."""
    result = tasks[-1](*args, **kwargs)
    for func in reversed(tasks[:-1]):
        result = func(result)
    return result


def compose(*tasks: Task | PartialTask | Callable[..., Any]) -> PartialTask:
    """``compose(f, g)(x)`` is ``f(g(x))``: a task (a PartialTask) chaining the tasks."""
    if not tasks:
        raise TypeError("compose(): give at least one task, as in compose(f, g)")
    for func in tasks:
        if not callable(func):
            raise TypeError(f"compose(): {func!r} is not a task; give tasks, as in compose(f, g)")
    return compose_apply.partial(tasks)


def starmap(a_task: Task | PartialTask, kwargs: Any = None) -> SchedulerExpression:
    """``[a_task(**kw) for kw in kwargs]``, run in parallel (``kwargs`` may be lazy)."""
    # Built from eval_ as redun 0.4x builds it, so each call's cache key is the same.
    apply_kwargs = eval_.partial("a_task(**x)", pos_args=["x"], a_task=a_task)
    return map_(apply_kwargs, [] if kwargs is None else kwargs)


def delay(x: Any) -> PartialTask:
    """A value (or expression) whose evaluation waits until :func:`force` is applied."""
    return identity.partial(x)


def force(x: Any) -> Any:
    """Evaluate a :func:`delay`-ed value (call a task that takes no more arguments)."""
    return x()


def _items(form: str, values: Any) -> Iterable[Any]:
    """``values`` as items to iterate, or a clear error if it is not a sequence."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise TypeError(
            f"{form}(): expected a list of values, got {type(values).__name__} {values!r:.80}"
        )
    return values
