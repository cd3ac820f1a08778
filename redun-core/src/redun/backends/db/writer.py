"""The background writer: one thread, one transaction per batch of queued records.

``put`` only enqueues. The thread blocks on the queue, drains everything that is
waiting, and writes it with bulk inserts in foreign-key order. ``flush`` waits
on an event the thread sets once everything queued before it is committed.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.dialects import postgresql, sqlite

from redun.backends.base import BackendError
from redun.backends.db.batch import Batch, Written
from redun.backends.db.engine import describe_error
from redun.backends.db.models import TABLES
from redun.backends.db.rawsql import RawStatements

_STOP = object()


class _FlushMarker:
    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()


class BatchWriter:
    """Writes queued records to the database on its own thread."""

    def __init__(
        self,
        engine: Engine,
        db_name: str,
        lock: contextlib.AbstractContextManager | None = None,
    ) -> None:
        self._engine = engine
        self._db_name = db_name
        self._lock = lock if lock is not None else contextlib.nullcontext()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._written = Written()
        self._error: BaseException | None = None
        self._insert = _insert_function(engine.dialect.name)
        self._statements = _Statements(self._insert)
        self._raw = RawStatements(engine.dialect.name, engine.dialect.paramstyle)
        self._stopped = False
        self.batches_written = 0
        self._thread = threading.Thread(target=self._run, name="redun-db-writer", daemon=True)
        self._thread.start()

    def put(self, record: Any) -> None:
        """Queue a record for the next batch."""
        if self._stopped:
            raise BackendError("the redun database is closed; records can no longer be written")
        self._queue.put(record)

    def flush(self) -> None:
        """Block until every record queued so far is committed; raise a stored write error."""
        if not self._stopped and self._thread.is_alive():
            marker = _FlushMarker()
            self._queue.put(marker)
            marker.event.wait()
        self.raise_error()

    def close(self) -> None:
        """Flush, then stop the thread. Raises a stored write error after stopping."""
        if not self._stopped:
            self._stopped = True
            self._queue.put(_STOP)
            self._thread.join()
        self.raise_error()

    def raise_error(self) -> None:
        if self._error is not None:
            raise BackendError(
                f"writing to the redun record failed: {describe_error(self._error, self._db_name)}"
                "; the records of that batch were not saved"
            )

    # Writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        stop = False
        while not stop:
            items = [self._queue.get()]
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            markers = [item for item in items if isinstance(item, _FlushMarker)]
            stop = any(item is _STOP for item in items)
            batch = Batch(self._written)
            try:
                for item in items:
                    if item is not _STOP and not isinstance(item, _FlushMarker):
                        batch.add(item)
                if batch:
                    self._write(batch)
                    self._written.update(batch)
                    self.batches_written += 1
            except BaseException as error:  # kept for the next flush()/close()
                if self._error is None:
                    self._error = error
            finally:
                for marker in markers:
                    marker.event.set()

    def _write(self, batch: Batch) -> None:
        with self._lock, self._engine.begin() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                for statement, rows in self._statements.plan(batch):
                    if not rows:
                        continue
                    if isinstance(statement, str):
                        self._raw.execute(cursor, statement, rows)
                    else:
                        conn.execute(statement, rows)
            finally:
                cursor.close()


def _insert_function(dialect_name: str) -> Callable[[Table], Any]:
    if dialect_name == "postgresql":
        return postgresql.insert
    if dialect_name == "sqlite":
        return sqlite.insert
    raise BackendError(f"the redun record does not support {dialect_name} databases")


class _Statements:
    """The batch's SQL statements, built once per writer, in foreign-key order."""

    def __init__(self, insert: Callable[[Table], Any]) -> None:
        def ignore(name: str) -> Any:
            return insert(TABLES[name]).on_conflict_do_nothing()

        def upsert(name: str, key: str) -> Any:
            stmt = insert(TABLES[name])
            columns = [c.name for c in TABLES[name].columns if c.name != key]
            return stmt.on_conflict_do_update(
                index_elements=[key], set_={c: stmt.excluded[c] for c in columns}
            )

        self.ignore = {name: ignore(name) for name in ("task", "tag")}
        self.execution = upsert("execution", "id")

    def plan(self, batch: Batch) -> list[tuple[Any, list[dict]]]:
        """(statement, rows) in foreign-key order; a str statement names a raw-SQL table."""
        ignore = self.ignore
        return [
            (ignore["task"], list(batch.tasks.values())),
            ("value", list(batch.values.values())),
            ("file", list(batch.files.values())),
            ("subvalue", list(batch.subvalues.values())),
            ("call_node", list(batch.call_nodes.values())),
            ("call_edge", batch.call_edges),
            ("call_subtree_task", batch.subtree_tasks),
            ("argument", list(batch.arguments.values())),
            ("argument_result", batch.argument_results),
            ("evaluation", list(batch.evaluations.values())),
            ("job", list(batch.job_inserts.values())),
            (self.execution, list(batch.executions.values())),
            ("job_update", list(batch.job_updates.values())),
            (ignore["tag"], list(batch.tags.values())),
        ]
