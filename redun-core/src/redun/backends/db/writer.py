"""The background writer: one thread, one transaction per batch of queued records.

``put`` only enqueues. The thread blocks on the queue, drains everything that is
waiting, turns the records into row messages (batch.py) and has a RowWriter
(rows.py) write them with bulk inserts in foreign-key order. For a SQLite file
the messages go whole to a child process (sqlite_process.py), whose RowWriter
runs there: SQLite's work and the rows' Python run beside the scheduler instead
of sharing one GIL with it. ``flush`` waits on an event the thread sets once
everything queued before it is committed. The row of a job that may still be
running waits up to WAIT_FOR_END seconds for the job's end, so that a short job
costs one insert rather than an insert and an update; a flush writes the waiting
rows too.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from redun.backends.base import BackendError
from redun.backends.db.batch import Batch, Written
from redun.backends.db.database import Database
from redun.backends.db.errors import describe_error
from redun.backends.db.rows import RowWriter
from redun.backends.db.sqlite_process import SqliteProcess

_STOP = object()
_NOT_STARTED = object()
# Most records in one transaction: bounds the rows a batch holds in memory on huge runs.
# Commits are the dearest part of writing (random hash keys dirty index pages all over the
# file, and each commit writes them again): a 100k-task run commits 9 times instead of 25.
MAX_BATCH = 100_000
# A batch smaller than this waits up to LINGER seconds for more records before committing.
MIN_BATCH = 1_000
LINGER = 0.05
# How long a started job's row may wait for the job's end before it is written alone.
WAIT_FOR_END = 5.0


class _FlushMarker:
    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()


class BatchWriter:
    """Writes queued records to the database on its own thread."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._db_name = database.db_name
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._written = Written()
        self._error: BaseException | None = None
        self._rows = RowWriter(database.dialect)  # (when this thread writes the rows)
        self._process: SqliteProcess | None | object = _NOT_STARTED  # (at the first record)
        self._stopped = False
        self._dead = False  # the thread ended on an error outside a batch
        self._marking = threading.Lock()  # a flush marker is never queued after the thread died
        self.batches_written = 0
        self.rows_committed: Counter[str] = Counter()  # rows per table, once committed
        # Watchers (tests, diagnostics): called with the messages of each batch as it leaves
        # for the database, and with the rows per table of each batch once committed.
        self.on_batch: list[Callable[[list[tuple]], None]] = []
        self.on_commit: list[Callable[[dict[str, int]], None]] = []
        # Started by the first record: a command that only reads runs no thread (and may fork).
        self._thread: threading.Thread | None = None

    def put(self, record: Any) -> None:
        """Queue a record for the next batch."""
        if self._thread is None:
            self._start_thread()
        if self._dead:
            self.raise_error()
        if self._stopped:
            raise BackendError("the redun database is closed; records can no longer be written")
        self._queue.put(record)

    def _start_thread(self) -> None:
        with self._marking:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(
                    target=self._run, name="redun-db-writer", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        """Block until every record queued so far is committed; raise a stored write error."""
        marker = None
        with self._marking:
            if not (self._stopped or self._dead or self._thread is None):
                marker = _FlushMarker()
                self._queue.put(marker)
        if marker is not None:
            marker.event.wait()
        self.raise_error()

    def close(self) -> None:
        """Flush, then stop the thread. Raises a stored write error after stopping."""
        with self._marking:
            thread, stopping = self._thread, not self._stopped
            self._stopped = True
        if stopping and thread is not None:
            self._queue.put(_STOP)
            thread.join()
        self.raise_error()

    def raise_error(self) -> None:
        if self._error is not None:
            raise BackendError(
                f"writing to the redun record failed: {describe_error(self._error, self._db_name)}"
                "; the records of that batch were not saved"
            )

    # Writer thread ------------------------------------------------------------------
    def _gather(self, wake_at: float | None) -> list[Any]:
        """The next batch: block for one record (or until ``wake_at``), then take what follows.

        A small batch lingers up to LINGER seconds for more records (a busy machine
        hands them over a few at a time), so commits stay few; a flush or stop
        ends the wait at once.
        """
        try:
            timeout = None if wake_at is None else wake_at - time.monotonic()
            items = [self._queue.get(timeout=timeout)]
        except (queue.Empty, ValueError):  # (ValueError: the wake-up time has passed)
            return []
        if self._process is _NOT_STARTED and not (
            items[0] is _STOP or isinstance(items[0], _FlushMarker)
        ):  # the first record: the process starts while the batch gathers
            self._start_process()
        deadline = None
        while len(items) < MAX_BATCH:
            try:
                items.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            if len(items) >= MIN_BATCH or isinstance(items[-1], _FlushMarker):
                break
            if items[-1] is _STOP:
                break
            now = time.monotonic()
            deadline = deadline if deadline is not None else now + LINGER
            if now >= deadline:
                break
            try:
                items.append(self._queue.get(timeout=deadline - now))
            except queue.Empty:
                break
        return items

    def _run(self) -> None:
        try:
            self._write_batches()
            if isinstance(self._process, SqliteProcess):
                self._process.close()
        except BaseException as error:  # a bug here must not lose records silently
            if self._error is None:
                self._error = error
            with self._marking:
                self._dead = True
            while True:  # release every flush waiting on this thread
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _FlushMarker):
                    item.event.set()

    def _write_batches(self) -> None:
        stop = False
        # When rows held back for their job's end (by the RowWriter) are due to be written.
        due: deque[float] = deque()
        while not stop:
            items = self._gather(due[0] if due else None)
            markers = [item for item in items if isinstance(item, _FlushMarker)]
            stop = any(item is _STOP for item in items)
            flush = bool(markers) or stop
            batch = Batch(self._written)
            try:
                for item in items:
                    if item is not _STOP and not isinstance(item, _FlushMarker):
                        batch.add(item)
                now = time.monotonic()
                # (A write process commits what it holds when it gets a flush.)
                if (
                    batch
                    or (due and (flush or due[0] <= now))
                    or (flush and isinstance(self._process, SqliteProcess))
                ):
                    self._write(batch, flush, now)
                    self._written.update(batch)
                    self.batches_written += 1
                while due and (flush or due[0] <= now):
                    due.popleft()
                if batch.may_wait and not flush:
                    due.append(now + WAIT_FOR_END)
            except BaseException as error:  # kept for the next flush()/close()
                if self._error is None:
                    self._error = error
            finally:
                if markers:
                    self._sync()
                for marker in markers:
                    marker.event.set()

    def _sync(self) -> None:
        """Wait for the write process to commit what it was sent (keeping its error)."""
        if isinstance(self._process, SqliteProcess):
            try:
                self._process.sync()
            except BaseException as error:
                if self._error is None:
                    self._error = error

    def _start_process(self) -> None:
        """Start the write process (not at load: reading commands write nothing)."""
        try:
            self._process = self._database.start_process("write")
        except BackendError:  # (no interpreter to start, say): this thread writes
            self._process = None
        if isinstance(self._process, SqliteProcess):
            self._process.on_commit = self._committed

    def _write(self, batch: Batch, flush: bool, now: float) -> None:
        if self._process is _NOT_STARTED:
            self._start_process()
        if not isinstance(self._process, SqliteProcess):
            with self._database.transaction() as cursor:
                self._add_missing_reused_calls(cursor, batch)
                self._announce(batch)
                table_rows = self._rows.rows(batch.messages, flush, now, WAIT_FOR_END)
                counts = self._rows.execute(cursor, table_rows)
            self._committed(counts)
            return
        if batch.reused_calls:
            # Looked up on this process's own connection: one aggregated row a query (the
            # GIL stays free while SQLite works), never queued behind the write process's
            # commits. Committed rows suffice: the calls this writer sent are in _written.
            with self._database.read_cursor() as cursor:
                self._add_missing_reused_calls(cursor, batch)
        self._announce(batch)
        self._process.send((batch.messages, flush, now, WAIT_FOR_END))

    def _announce(self, batch: Batch) -> None:
        for watch in self.on_batch:
            watch(batch.messages)

    def _committed(self, counts: dict[str, int]) -> None:
        """Count the rows of a committed batch (called on the thread that learns of it)."""
        self.rows_committed.update(counts)
        for watch in self.on_commit:
            watch(counts)

    def _add_missing_reused_calls(self, cursor: Any, batch: Batch) -> None:
        # Calls reused from the cache are nearly always recorded already: look them up by
        # key and write rows only for the missing ones.
        if batch.reused_calls:
            batch.add_reused_calls(self._rows.raw.existing_calls(cursor, list(batch.reused_calls)))
