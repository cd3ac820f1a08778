"""Special forms of the redun language: cond, catch, catch_all and throw.

``cond``, ``catch`` and ``catch_all`` are scheduler tasks: they receive their
arguments unevaluated and decide what to evaluate, so only the branch taken runs
and a failed expression can be recovered from.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from redun import nested
from redun.expression import SchedulerExpression, is_expression
from redun.promise import Promise
from redun.task import scheduler_task, task

if TYPE_CHECKING:
    from redun.scheduler import Job, Scheduler


class CondError(ValueError):
    """No predicate of a ``cond`` was true and it has no else branch."""


@scheduler_task(namespace="redun")
def cond(
    scheduler: Scheduler,
    parent_job: Job | None,
    sexpr: SchedulerExpression,
    cond_expr: Any,
    then_expr: Any,
    *rest: Any,
) -> Promise:
    """``cond(pred, then, pred2, then2, ..., else_)``: evaluate only the branch taken.

    Predicates are evaluated in order until one is true; its branch is the result.
    With no true predicate the trailing else value (if given) is the result.
    """
    clauses = [(cond_expr, then_expr), *zip(rest[0:-1:2], rest[1::2])]
    has_else = len(rest) % 2 == 1

    def test(index: int) -> Promise:
        predicate, branch = clauses[index]

        def choose(value: Any) -> Any:
            if value:
                return scheduler.evaluate(branch, parent_job)
            if index + 1 < len(clauses):
                return test(index + 1)
            if has_else:
                return scheduler.evaluate(rest[-1], parent_job)
            raise CondError(
                f"cond(): none of its {len(clauses)} predicate(s) was true and it has no else "
                "branch; add a final else value: cond(pred, then_value, else_value)"
            )

        return scheduler.evaluate(predicate, parent_job).then(choose)

    return test(0)


@scheduler_task(namespace="redun")
def catch(
    scheduler: Scheduler,
    parent_job: Job | None,
    sexpr: SchedulerExpression,
    expr: Any,
    *catch_args: Any,
) -> Promise:
    """``catch(expr, ErrorClass, recover, ErrorClass2, recover2, ...)``: try/except.

    The value of ``expr``; if evaluating it raises, the first pair whose error class
    (a class or tuple of classes) matches calls ``recover(error)`` and its value is
    the result. Errors that match no pair, and errors of ``recover``, propagate.
    """
    if not catch_args or len(catch_args) % 2:
        raise TypeError(
            f"catch(): expected pairs of (error class, recover task) after the expression, "
            f"got {len(catch_args)} argument(s); write catch(expr, ValueError, recover_task)"
        )

    def run(handler_args: list) -> Promise:
        handlers = [
            (_check_error_class("catch", error_class), _check_recover("catch", recover))
            for error_class, recover in zip(handler_args[0::2], handler_args[1::2])
        ]

        def recover_from(error: BaseException) -> Any:
            for error_class, recover in handlers:
                if isinstance(error, error_class):
                    return scheduler.evaluate(recover(clean_error(error)), parent_job)
            return Promise.rejected(error)

        return scheduler.evaluate(expr, parent_job).then(None, recover_from)

    return scheduler.evaluate(list(catch_args), parent_job).then(run)


@scheduler_task(namespace="redun")
def catch_all(
    scheduler: Scheduler,
    parent_job: Job | None,
    sexpr: SchedulerExpression,
    exprs: Any,
    error_class: Any = None,
    recover: Any = None,
) -> Promise:
    """Evaluate every expression nested in ``exprs``, even after some of them fail.

    Without errors the result is ``exprs`` evaluated. If every error matches
    ``error_class`` and ``recover`` is given, the result is ``recover(exprs)`` with each
    failed expression replaced by its error; otherwise the first error propagates.
    """

    def run(options: tuple) -> Promise:
        classes = None if options[0] is None else _check_error_class("catch_all", options[0])
        handler = None if options[1] is None else _check_recover("catch_all", options[1])
        # iter_leaves walks right to left: reverse it so "first" means first in ``exprs``.
        leaves = list(nested.iter_leaves(exprs, is_expression))[::-1]
        settled = [
            scheduler.evaluate(leaf, parent_job).then(_succeeded, _failed) for leaf in leaves
        ]

        def finish(outcomes: list[tuple[bool, Any]]) -> Any:
            errors = [value for ok, value in outcomes if not ok]
            if errors:
                unmatched = [e for e in errors if classes is None or not isinstance(e, classes)]
                if unmatched or handler is None:
                    return Promise.rejected((unmatched or errors)[0])
            results = {
                id(leaf): value if ok else clean_error(value)
                for leaf, (ok, value) in zip(leaves, outcomes)
            }
            value = nested.map_nested(exprs, is_expression, lambda leaf: results[id(leaf)])
            if not errors:
                return value
            assert handler is not None
            return scheduler.evaluate(handler(value), parent_job)

        return Promise.all(settled).then(finish)

    return scheduler.evaluate((error_class, recover), parent_job).then(run)


@task(namespace="redun", version="1")
def throw(error: Any) -> None:
    """Raise ``error`` (an exception instance or class) when evaluated."""
    if isinstance(error, BaseException):
        # A copy: the scheduler annotates what it catches, and the argument is recorded.
        raise clean_error(error, always_copy=True)
    if _is_error_class(error):
        raise error
    raise TypeError(
        f"throw(): expected an exception, got {type(error).__name__} {error!r}; "
        "write throw(ValueError('message'))"
    )


def _succeeded(value: Any) -> tuple[bool, Any]:
    return True, value


def _failed(error: BaseException) -> tuple[bool, Any]:
    return False, error


def _is_error_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseException)


def _check_error_class(form: str, value: Any) -> type | tuple:
    if _is_error_class(value):
        return value
    if isinstance(value, tuple) and value and all(_is_error_class(v) for v in value):
        return value
    raise TypeError(
        f"{form}(): {value!r} is not an exception class; give a class such as ValueError "
        "or a tuple of classes such as (ValueError, KeyError)"
    )


def _check_recover(form: str, value: Any) -> Any:
    if callable(value):
        return value
    raise TypeError(
        f"{form}(): the recover value {value!r} is not a task; give a task (or "
        "task.partial(...)) that takes the error"
    )


# Attributes the scheduler puts on the errors it handles (the failing job, a remote
# traceback): they are not part of the error a user's task receives, hashes or stores.
_ENGINE_ATTRS = ("__redun_task__", "__redun_traceback__")


def clean_error(error: BaseException, always_copy: bool = False) -> BaseException:
    """``error`` without the scheduler's annotations (a copy: the original keeps them)."""
    state = getattr(error, "__dict__", {})
    if not always_copy and not any(name in state for name in _ENGINE_ATTRS):
        return error
    try:
        clone = copy.copy(error)
    except Exception:  # an exception that cannot be rebuilt from its args: clean it in place
        for name in _ENGINE_ATTRS:
            state.pop(name, None)
        return error
    for name in _ENGINE_ATTRS:
        clone.__dict__.pop(name, None)
    clone.__traceback__ = error.__traceback__
    clone.__cause__, clone.__context__ = error.__cause__, error.__context__
    return clone
