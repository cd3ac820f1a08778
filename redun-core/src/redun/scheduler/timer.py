"""One background thread that calls functions at their due times (retry backoffs, deadlines).

A ``threading.Timer`` per job would start a thread per job; here every pending call
waits in one heap, and the thread sleeps on a condition until the earliest is due.
Callbacks run on the timer thread: they must be quick (post an event, reject a job).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable


class Alarm:
    """A pending call; ``cancel()`` stops it if it has not started."""

    __slots__ = ("due", "callback", "cancelled", "_timer")

    def __init__(self, timer: Timer, due: float, callback: Callable[[], None]) -> None:
        self.due = due
        self.callback = callback
        self.cancelled = False
        self._timer = timer

    def cancel(self) -> bool:
        """True if the call was stopped, False if it had started (or was cancelled)."""
        return self._timer.cancel(self)


class Timer:
    """Calls each scheduled function once, ``delay`` seconds after it was scheduled."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._cancelled = 0
        self._condition = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None

    def call_later(self, delay: float, callback: Callable[[], None]) -> Alarm:
        """Call ``callback()`` on the timer thread in ``delay`` seconds."""
        alarm = Alarm(self, time.monotonic() + max(0.0, delay), callback)
        with self._condition:
            heapq.heappush(self._heap, (alarm.due, next(self._order), alarm))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="redun-timer", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is alarm:
                self._condition.notify()  # the new alarm is the earliest: wake up sooner
        return alarm

    def cancel(self, alarm: Alarm) -> bool:
        """Forget ``alarm``; False if its callback has started already (or it was cancelled)."""
        with self._condition:
            if alarm.cancelled:
                return False
            alarm.cancelled = True
            self._cancelled += 1
            if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
                # Mostly cancelled deadlines of jobs that finished in time: drop them.
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0
        return True

    def _run(self) -> None:
        condition = self._condition
        while True:
            with condition:
                heap = self._heap
                while not heap or heap[0][0] > time.monotonic():
                    condition.wait(heap[0][0] - time.monotonic() if heap else None)
                    heap = self._heap
                _, _, alarm = heapq.heappop(heap)
                if alarm.cancelled:
                    self._cancelled -= 1
                    continue
                alarm.cancelled = True  # started: too late to cancel
            try:
                alarm.callback()
            except Exception:  # a callback's bug must not stop every later alarm
                logging.getLogger("redun").exception("timer callback failed")


timer = Timer()
