"""RedunBackend: the call-graph record in SQLite or PostgreSQL, through SQLAlchemy."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from redun.backends.base import (
    Backend,
    BackendError,
    CachedCall,
    CallRecord,
    ExecutionRecord,
    JobEnd,
    JobStart,
    ValueRecord,
)
from redun.backends.db import versions
from redun.backends.db.batch import EvaluationRecord, TaskRecord
from redun.backends.db.engine import (
    MEMORY_URI,
    create_db_engine,
    describe_error,
    display_uri,
    is_memory,
    parse_uri,
)
from redun.backends.db.reader import CacheReader
from redun.backends.db.writer import BatchWriter
from redun.values import deserialize_value


class RedunBackend(Backend):
    """The record of call graphs, jobs and executions, with cache lookups.

    ``db_uri`` (or ``config["db_uri"]``) names the database; None is an in-memory
    SQLite database shared by every thread of this process.
    """

    def __init__(self, db_uri: str | None = None, config: Mapping[str, str] | None = None) -> None:
        self.config = dict(config or {})
        self.db_uri = db_uri or self.config.get("db_uri") or MEMORY_URI
        self.url = parse_uri(self.db_uri)
        self.db_name = display_uri(self.url)
        self._engine: Engine | None = None
        self._writer: BatchWriter | None = None
        self._reader: CacheReader | None = None
        # One shared in-memory connection: readers and the writer take turns.
        self._lock: contextlib.AbstractContextManager = (
            threading.RLock() if is_memory(self.url) else contextlib.nullcontext()
        )

    # Lifecycle ----------------------------------------------------------------------
    @property
    def is_loaded(self) -> bool:
        return self._writer is not None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise BackendError("the redun database is not open; call load() first")
        return self._engine

    def load(self) -> None:
        """Open the database, creating the schema in a new one. Raises BackendError."""
        if self._writer is not None:
            return
        self.upgrade()
        self._writer = BatchWriter(self.engine, self.db_name, self._lock)

    def upgrade(self) -> tuple[str | None, str]:
        """Create or check the schema; returns the alembic revision (before, after)."""
        engine = self._open_engine()
        try:
            with self._lock, engine.begin() as conn:
                return versions.upgrade_schema(conn, self.db_name)
        except (SQLAlchemyError, OSError, BackendError) as error:
            raise BackendError(describe_error(error, self.db_name)) from None

    def get_db_revision(self) -> str | None:
        """The database's current alembic revision (None if it has no schema yet)."""
        if self.url.get_backend_name() == "sqlite" and not is_memory(self.url):
            if not os.path.exists(self.url.database or ""):
                return None
        engine = self._open_engine()
        try:
            with self._lock, engine.connect() as conn:
                return versions.get_revision(conn)
        except (SQLAlchemyError, OSError, BackendError) as error:
            raise BackendError(describe_error(error, self.db_name)) from None

    def _open_engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_db_engine(self.url)
        return self._engine

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        writer, self._writer = self._writer, None
        reader, self._reader = self._reader, None
        try:
            if reader is not None:
                reader.close()
            if writer is not None:
                writer.close()
        finally:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading the record (committed data only)."""
        with self._lock, self.engine.connect() as conn:
            yield conn

    # Writes -------------------------------------------------------------------------
    def _put(self, record: Any) -> None:
        if self._writer is None:
            raise BackendError("the redun database is not open; call load() first")
        self._writer.put(record)

    def record_task(self, task: Any) -> None:
        self._put(TaskRecord(task))

    def record_execution(self, execution: ExecutionRecord) -> None:
        for key, value in execution.tags.items():
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                raise BackendError(
                    f"execution tag {key!r} has a value of type {type(value).__name__} that "
                    "cannot be stored as JSON; use strings, numbers, lists or dicts"
                ) from None
        self._put(execution)

    def record_job_start(self, job: JobStart) -> None:
        self._put(job)

    def record_job_end(self, job: JobEnd) -> None:
        self._put(job)

    def record_call(self, call: CallRecord) -> None:
        self._put(call)

    def record_evaluation(
        self, eval_hash: str, task_hash: str, args_hash: str, result: ValueRecord
    ) -> None:
        self._put(EvaluationRecord(eval_hash, task_hash, args_hash, result))

    # Reads --------------------------------------------------------------------------
    def get_evaluations(self, eval_hashes: list[str]) -> dict[str, tuple[str, Any]]:
        found: dict[str, tuple[str, Any]] = {}
        try:
            rows = self._cache_reader().evaluations(list(dict.fromkeys(eval_hashes)))
        except Exception as error:  # the DBAPI's own error types differ per driver
            raise BackendError(describe_error(error, self.db_name)) from None
        for eval_hash, value_hash, type_name, data in rows:
            try:
                found[eval_hash] = (value_hash, deserialize_value(type_name, bytes(data)))
            except Exception:  # unreadable (e.g. class gone): a cache miss
                continue
        return found

    def find_cached_call(self, task_hash: str, args_hash: str) -> CachedCall | None:
        """The newest non-error call for this task and arguments; None if none or unreadable."""
        try:
            row = self._cache_reader().newest_call(task_hash, args_hash)
        except Exception as error:  # the DBAPI's own error types differ per driver
            raise BackendError(describe_error(error, self.db_name)) from None
        if row is None:
            return None
        call_hash, value_hash, type_name, data, task_hashes = row
        try:
            result = deserialize_value(type_name, data)
        except Exception:  # unreadable value: treat as a cache miss
            return None
        return CachedCall(call_hash, value_hash, result, task_hashes)

    def _cache_reader(self) -> CacheReader:
        if self._reader is None:
            self._reader = CacheReader(self.engine, self._lock if is_memory(self.url) else None)
        return self._reader
