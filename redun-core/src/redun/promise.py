"""A small Promise whose callbacks run from a trampoline, never nested.

Resolving a promise queues its callbacks instead of calling them, and one
drain loop runs the queue. However long a chain of promises grows (a 10,000
deep workflow), the Python stack stays flat.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

_queue: deque[tuple[Callable[[Any], Any], Any]] = deque()
_draining = False


def defer(func: Callable[[Any], Any], arg: Any = None) -> None:
    """Run ``func(arg)`` from the trampoline (now, unless it is already running)."""
    _queue.append((func, arg))
    if not _draining:
        drain()


def drain() -> None:
    """Run queued callbacks until none are left."""
    global _draining
    if _draining:
        return
    _draining = True
    try:
        popleft = _queue.popleft
        while _queue:
            func, arg = popleft()
            func(arg)
    finally:
        _draining = False


_PENDING, _FULFILLED, _REJECTED = 0, 1, 2


class Promise:
    """A value that arrives later: ``then(on_value, on_error)`` chains work onto it."""

    __slots__ = ("_state", "_value", "_callbacks")

    def __init__(self, func: Callable[[Callable, Callable], None] | None = None) -> None:
        self._state = _PENDING
        self._value: Any = None
        self._callbacks: list[tuple[Promise | None, Callable | None, Callable | None]] = []
        if func is not None:
            try:
                func(self.do_resolve, self.do_reject)
            except Exception as error:
                self.do_reject(error)

    @property
    def is_pending(self) -> bool:
        return self._state == _PENDING

    @property
    def is_fulfilled(self) -> bool:
        return self._state == _FULFILLED

    @property
    def is_rejected(self) -> bool:
        return self._state == _REJECTED

    @property
    def value(self) -> Any:
        if self._state == _PENDING:
            raise RuntimeError("promise is still pending")
        return self._value

    @property
    def error(self) -> BaseException:
        return self._value

    def do_resolve(self, value: Any) -> None:
        """Fulfil with ``value`` (or adopt its outcome, if it is a promise)."""
        if self._state != _PENDING:
            return
        if isinstance(value, Promise):
            value.subscribe(self.do_resolve, self.do_reject)
            return
        self._settle(_FULFILLED, value)

    def do_reject(self, error: BaseException) -> None:
        """Reject with ``error``."""
        if self._state == _PENDING:
            self._settle(_REJECTED, error)

    def _settle(self, state: int, value: Any) -> None:
        self._state = state
        self._value = value
        callbacks, self._callbacks = self._callbacks, []
        for entry in callbacks:
            if entry[0] is None:  # a bare subscription: its handler gets the value as it is
                handler = entry[1] if state == _FULFILLED else entry[2]
                if handler is not None:
                    defer(handler, value)
            else:
                defer(self._run_callback, entry)

    def _run_callback(self, entry: tuple[Promise | None, Callable | None, Callable | None]) -> None:
        child, on_value, on_error = entry
        handler = on_value if self._state == _FULFILLED else on_error
        if child is None:  # a bare subscription: just call the handler
            if handler is not None:
                handler(self._value)
            return
        if handler is None:
            if self._state == _FULFILLED:
                child.do_resolve(self._value)
            else:
                child.do_reject(self._value)
            return
        try:
            result = handler(self._value)
        except Exception as error:
            child.do_reject(error)
            return
        child.do_resolve(result)

    def subscribe(
        self, on_value: Callable[[Any], Any], on_error: Callable[[BaseException], Any]
    ) -> None:
        """Call ``on_value`` or ``on_error`` once settled, without making a new promise.

        The handlers must not raise.
        """
        entry = (None, on_value, on_error)
        if self._state == _PENDING:
            self._callbacks.append(entry)
        else:
            defer(self._run_callback, entry)

    def then(
        self,
        on_value: Callable[[Any], Any] | None = None,
        on_error: Callable[[BaseException], Any] | None = None,
    ) -> Promise:
        """A new promise for what ``on_value``/``on_error`` return (or raise)."""
        child = Promise()
        entry = (child, on_value, on_error)
        if self._state == _PENDING:
            self._callbacks.append(entry)
        else:
            defer(self._run_callback, entry)
        return child

    def catch(self, on_error: Callable[[BaseException], Any]) -> Promise:
        return self.then(None, on_error)

    @classmethod
    def all(cls, promises: list[Promise]) -> Promise:
        """Fulfil with every value, in order, once all are fulfilled; reject on the first error."""
        result = Promise()
        if not promises:
            result.do_resolve([])
            return result
        values: list[Any] = [None] * len(promises)
        remaining = [len(promises)]

        def on_value_at(index: int) -> Callable[[Any], None]:
            def on_value(value: Any) -> None:
                values[index] = value
                remaining[0] -= 1
                if remaining[0] == 0:
                    result.do_resolve(values)

            return on_value

        for index, promise in enumerate(promises):
            promise.subscribe(on_value_at(index), result.do_reject)
        return result

    @classmethod
    def resolved(cls, value: Any) -> Promise:
        result = Promise()
        result.do_resolve(value)
        return result

    @classmethod
    def rejected(cls, error: BaseException) -> Promise:
        result = Promise()
        result.do_reject(error)
        return result
