"""RedunBackend: the call-graph record in SQLite or PostgreSQL.

SQLite records are opened, written and read through Python's sqlite3 module;
SQLAlchemy is imported only for :attr:`RedunBackend.engine` and
:meth:`RedunBackend.connect` (``redun log``, queries) and for PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from redun.backends.base import (
    Backend,
    BackendError,
    CachedCall,
    CallRecord,
    ExecutionRecord,
    HandleRecord,
    JobEnd,
    JobStart,
    TagRecord,
    ValueRecord,
)
from redun.backends.db.batch import EvaluationRecord, TaskRecord
from redun.backends.db.database import Database, open_database
from redun.backends.db.errors import describe_error, is_database_error
from redun.backends.db.reader import CacheReader
from redun.backends.db.uri import MEMORY_URI, parse_db_uri
from redun.backends.db.writer import BatchWriter
from redun.values import deserialize_value

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


class RedunBackend(Backend):
    """The record of call graphs, jobs and executions, with cache lookups.

    ``db_uri`` (or ``config["db_uri"]``) names the database; None is an in-memory
    SQLite database shared by every thread of this process.
    """

    def __init__(self, db_uri: str | None = None, config: Mapping[str, str] | None = None) -> None:
        self.config = dict(config or {})
        self.db_uri = db_uri or self.config.get("db_uri") or MEMORY_URI
        self.uri = parse_db_uri(self.db_uri)
        self.db_name = self.uri.display
        self._db: Database | None = None
        self._writer: BatchWriter | None = None
        self._reader: CacheReader | None = None

    # Lifecycle ----------------------------------------------------------------------
    @property
    def is_loaded(self) -> bool:
        return self._writer is not None

    def _database(self) -> Database:
        if self._db is None:
            self._db = open_database(self.uri, self.config)
        return self._db

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn database errors into one-line BackendErrors."""
        try:
            yield
        except BackendError:
            raise
        except Exception as error:
            if not is_database_error(error):
                raise
            raise BackendError(describe_error(error, self.db_name)) from None

    def load(self) -> None:
        """Open the database, creating the schema in a new one. Raises BackendError."""
        if self._writer is not None:
            return
        self.upgrade()
        self._writer = BatchWriter(self._database())

    def upgrade(self) -> tuple[str | None, str]:
        """Create or check the schema; returns the alembic revision (before, after)."""
        with self._errors():
            return self._database().open()

    def get_db_revision(self) -> str | None:
        """The database's current alembic revision (None if it has no schema yet)."""
        with self._errors():
            return self._database().revision()

    @property
    def engine(self) -> Engine:
        """A SQLAlchemy engine on the record (imports SQLAlchemy on first use)."""
        if self._writer is None or self._db is None:
            raise BackendError("the redun database is not open; call load() first")
        with self._errors():
            return self._db.engine()

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A SQLAlchemy connection for reading the record (committed data only)."""
        engine = self.engine
        lock = self._db.lock if self._db is not None else None
        with lock or contextlib.nullcontext(), engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def read_cursor(self) -> Iterator[Any]:
        """A DBAPI cursor for reading the record in plain SQL (committed data only)."""
        if self._writer is None or self._db is None:
            raise BackendError("the redun database is not open; call load() first")
        with self._errors(), self._db.read_cursor() as cursor:
            yield cursor

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
            if self._db is not None:
                self._db.close()
                self._db = None

    # Writes -------------------------------------------------------------------------
    def _put(self, record: Any) -> None:
        if self._writer is None:
            raise BackendError("the redun database is not open; call load() first")
        self._writer.put(record)

    def record_task(self, task: Any) -> None:
        self._put(TaskRecord(task))

    def record_execution(self, execution: ExecutionRecord) -> None:
        _check_json_tags("execution", execution.tags.items())
        self._put(execution)

    def record_tags(self, tags: TagRecord) -> None:
        _check_json_tags(tags.entity_type.lower(), tags.tags)
        self._put(tags)

    def record_handle(self, record: HandleRecord) -> None:
        self._put(record)

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
    def prefetch_evaluations(self, eval_hashes: list[str]) -> None:
        with self._errors():
            self._cache_reader().prefetch_evaluations(list(dict.fromkeys(eval_hashes)))

    def get_evaluations(self, eval_hashes: list[str]) -> dict[str, tuple[str, Any, str | None]]:
        found: dict[str, tuple[str, Any, str | None]] = {}
        with self._errors():
            rows = self._cache_reader().evaluations(list(dict.fromkeys(eval_hashes)))
        for eval_hash, value_hash, type_name, data, leaf_call in rows:
            try:
                value = deserialize_value(type_name, bytes(data))
                found[eval_hash] = (value_hash, value, leaf_call)
            except Exception:  # unreadable (e.g. class gone): a cache miss
                continue
        return found

    def find_cached_call(self, task_hash: str, args_hash: str) -> CachedCall | None:
        """The newest non-error call for this task and arguments; None if none or unreadable."""
        with self._errors():
            row = self._cache_reader().newest_call(task_hash, args_hash)
        if row is None:
            return None
        call_hash, value_hash, type_name, data, task_hashes = row
        try:
            result = deserialize_value(type_name, data)
        except Exception:  # unreadable value: treat as a cache miss
            return None
        return CachedCall(call_hash, value_hash, result, task_hashes)

    def get_valid_handles(self, handle_hashes: list[str]) -> set[str]:
        with self._errors():
            return self._cache_reader().valid_handles(list(dict.fromkeys(handle_hashes)))

    def _cache_reader(self) -> CacheReader:
        if self._reader is None:
            if self._writer is None or self._db is None:
                raise BackendError("the redun database is not open; call load() first")
            self._reader = CacheReader(self._db)
        return self._reader


def _check_json_tags(entity: str, tags: Iterable[tuple[str, Any]]) -> None:
    for key, value in tags:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise BackendError(
                f"{entity} tag {key!r} has a value of type {type(value).__name__} that "
                "cannot be stored as JSON; use strings, numbers, lists or dicts"
            ) from None
