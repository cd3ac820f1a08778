"""RedunBackend: batched writes, cache reads and clear errors, on real SQLite files."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from redun.backends.base import BackendError, ExecutionRecord, JobEnd, JobStart, ValueRecord
from redun.backends.db import RedunBackend
from redun.backends.db.batch import Batch, Written
from redun.backends.db.rows import RowWriter
from redun.file import File
from redun.hashing import hash_eval
from redun.scheduler.errors import ErrorValue


def rows(path: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


def test_execution_is_recorded(backend: RedunBackend, db_path: Path, rec: SimpleNamespace) -> None:
    ids = rec.record_execution(backend, n=3)
    backend.flush()
    jobs = rows(db_path, "SELECT id, parent_id, end_time IS NOT NULL, cached, call_hash FROM job")
    assert len(jobs) == 4 and all(done and call for _, _, done, _, call in jobs)
    assert {parent for _, parent, *_ in jobs} == {None, ids.root_id}
    assert rows(db_path, "SELECT id, job_id, updated_time IS NOT NULL FROM execution") == [
        (ids.exec_id, ids.root_id, 1)
    ]
    root = ids.root_call.call_hash
    edges = rows(db_path, "SELECT child_id, call_order FROM call_edge WHERE parent_id = ?", root)
    assert [order for _, order in sorted(edges, key=lambda e: e[1])] == [0, 1, 2]
    assert rows(
        db_path, "SELECT arg_position, arg_key FROM argument WHERE call_hash = ?", root
    ) == [(None, "n")]
    assert rows(db_path, "SELECT task_hash FROM call_subtree_task WHERE call_hash = ?", root) == [
        (rec.main.hash,)
    ]
    tasks = rows(db_path, "SELECT name, namespace FROM task ORDER BY name")
    assert tasks == [("add", "backend_test"), ("main", "backend_test")]
    task_values = rows(db_path, "SELECT type, format FROM value WHERE value_hash = ?", rec.add.hash)
    assert task_values == [("redun.Task", "application/python-pickle")]
    # Recorded twice, the execution keeps one row per tag, JSON-encoded.
    assert rows(db_path, "SELECT entity_type, key, value, is_current FROM tag") == [
        ("Execution", "user", '"me"', 1)
    ]


def test_batch_drains_queue_into_one_transaction(
    backend: RedunBackend, db_path: Path, rec: SimpleNamespace, watch_writes
) -> None:
    written = watch_writes(backend)
    blocker = sqlite3.connect(db_path)
    blocker.execute("BEGIN IMMEDIATE")  # the writer's first batch waits for this lock
    rec.record_execution(backend, n=1)
    for _ in range(50):
        rec.record_execution(backend, n=10)
    blocker.rollback()
    blocker.close()
    backend.flush()
    assert backend._writer.batches_written <= 2  # one transaction each
    assert rows(db_path, "SELECT count(*) FROM job") == [(2 + 50 * 11,)]
    assert len(written) <= 2 * 14  # one bulk write per table per batch
    job_inserts = [size for table, size in written if table == "job"]
    assert len(job_inserts) <= 2 and sum(job_inserts) == 2 + 50 * 11


def test_job_start_and_end_in_one_batch_become_one_insert(rec: SimpleNamespace) -> None:
    batch = Batch(Written())
    start = rec.now()
    batch.add(JobStart("j1", "e1", None, rec.add.hash, start))
    batch.add(JobEnd("j1", start, "c" * 40, True))
    batch.add(JobEnd("j0", start, None, False))
    table_rows = dict(RowWriter("sqlite").rows(batch.messages, True, 0.0, 5.0))
    [job] = table_rows["job"]
    assert job[1] == "j1" and job[3] == start and job[5] is True and job[6] == "c" * 40
    assert [row[-1] for row in table_rows["job_update"]] == ["j0"]


def test_files_and_subvalues(backend: RedunBackend, db_path: Path, rec: SimpleNamespace) -> None:
    path = db_path.parent / "data.txt"
    path.write_text("hello")
    result = {"file": File(str(path)), "n": 1}
    backend.record_task(rec.add)
    backend.record_call(rec.call_record(rec.add, (1, 2), result))
    backend.flush()
    file_hash = result["file"].hash
    assert rows(db_path, "SELECT value_hash, path FROM file") == [(file_hash, str(path))]
    assert rows(db_path, "SELECT type FROM value WHERE value_hash = ?", file_hash) == [
        ("redun.File",)
    ]
    parent = rec.value_record(result).value_hash
    assert rows(db_path, "SELECT value_hash, parent_value_hash FROM subvalue") == [
        (file_hash, parent)
    ]


def test_evaluations_round_trip_and_upsert(backend: RedunBackend, rec: SimpleNamespace) -> None:
    backend.record_task(rec.add)
    eval_hashes = [hash_eval(rec.add.hash, f"{i:040d}") for i in range(1200)]
    for i, eval_hash in enumerate(eval_hashes[:1100]):
        backend.record_evaluation(eval_hash, rec.add.hash, f"{i:040d}", rec.value_record(i))
    backend.flush()
    statements: list[str] = []
    backend._db.reader_connection().set_trace_callback(statements.append)
    found = backend.get_evaluations(eval_hashes)
    assert len(found) == 1100
    assert found[eval_hashes[7]] == (rec.value_record(7).value_hash, 7, None)
    # Chunks of <= 500 ids: evaluations, then the calls a result without children would have.
    assert len([s for s in statements if s.startswith("SELECT")]) == 3 + 3
    backend.record_evaluation(eval_hashes[7], rec.add.hash, "7" * 40, rec.value_record("new"))
    backend.flush()
    assert backend.get_evaluations([eval_hashes[7]])[eval_hashes[7]][1] == "new"


def test_evaluations_name_the_leaf_call_the_record_holds(
    backend: RedunBackend, rec: SimpleNamespace
) -> None:
    """A reused value that was a call's result without children has that call's hash."""
    backend.record_task(rec.add)
    leaf = rec.call_record(rec.add, (1, 2), 3)
    parent = rec.call_record(rec.add, (3, 4), 7, children=[leaf.call_hash])
    unrecorded = rec.call_record(rec.add, (5, 6), 11)
    backend.record_call(leaf)
    backend.record_call(parent)
    evals = {}
    for call in (leaf, parent, unrecorded):
        evals[call.call_hash] = hash_eval(rec.add.hash, call.args_hash)
        backend.record_evaluation(evals[call.call_hash], rec.add.hash, call.args_hash, call.result)
    backend.flush()
    found = backend.get_evaluations(list(evals.values()))
    assert found[evals[leaf.call_hash]] == (leaf.result.value_hash, 3, leaf.call_hash)
    assert found[evals[parent.call_hash]][2] is None  # its call has a child
    assert found[evals[unrecorded.call_hash]][2] is None


def test_unreadable_evaluation_is_a_cache_miss(backend: RedunBackend, rec: SimpleNamespace) -> None:
    backend.record_task(rec.add)
    bad = ValueRecord("b" * 40, 5, data=b"not a pickle")
    backend.record_evaluation("e" * 40, rec.add.hash, "a" * 40, bad)
    backend.flush()
    assert backend.get_evaluations(["e" * 40]) == {}


def test_find_cached_call(backend: RedunBackend, rec: SimpleNamespace) -> None:
    backend.record_task(rec.add)
    old = rec.call_record(rec.add, (1, 2), 3)
    new = rec.call_record(rec.add, (1, 2), 4)
    failed = rec.call_record(rec.add, (1, 2), ErrorValue(ValueError("boom")))
    failed.timestamp = new.timestamp.replace(year=new.timestamp.year + 1)
    for call in (old, new, failed):
        backend.record_call(call)
    backend.flush()
    cached = backend.find_cached_call(rec.add.hash, new.args_hash)
    assert cached is not None
    assert (cached.call_hash, cached.value) == (new.call_hash, 4)
    assert cached.value_hash == new.result.value_hash
    assert cached.subtree_task_hashes == {rec.add.hash}
    assert backend.find_cached_call(rec.add.hash, "0" * 40) is None


def test_writer_error_is_raised_from_flush_and_close(db_path: Path, rec: SimpleNamespace) -> None:
    backend = RedunBackend(f"sqlite:///{db_path}")
    backend.load()
    rows(db_path, "DROP TABLE tag")  # e.g. a damaged database: this batch cannot be written
    backend.record_execution(
        ExecutionRecord(str(uuid.uuid4()), "[]", str(uuid.uuid4()), rec.now(), {"k": "v"})
    )
    with pytest.raises(BackendError, match="no such table: tag") as info:
        backend.flush()
    assert "\n" not in str(info.value)
    with pytest.raises(BackendError, match="no such table"):
        backend.close()
    with pytest.raises(BackendError, match="not open"):
        backend.record_task(rec.add)


def test_unpicklable_value_fails_on_flush(rec: SimpleNamespace) -> None:
    backend = RedunBackend()
    backend.load()
    backend.record_task(rec.add)
    lock = ValueRecord("c" * 40, threading.Lock())
    backend.record_evaluation("e" * 40, rec.add.hash, "a" * 40, lock)
    with pytest.raises(BackendError, match="writing to the redun record failed: .*pickle"):
        backend.flush()
    with pytest.raises(BackendError, match="pickle"):  # the error stays until closed
        backend.close()


def test_tag_values_must_be_json(backend: RedunBackend, rec: SimpleNamespace) -> None:
    record = ExecutionRecord("e", "[]", "j", rec.now(), {"when": object()})
    with pytest.raises(BackendError, match="execution tag 'when'.*JSON"):
        backend.record_execution(record)


def test_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "redun.db"
    path.write_bytes(b"this is not a sqlite database at all" * 200)
    with pytest.raises(BackendError, match="corrupt or not a SQLite database") as info:
        RedunBackend(f"sqlite:///{path}").load()
    assert "\n" not in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize(
    "relative, message",
    [
        ("missing/redun.db", "does not exist"),
        ("a_file/redun.db", "does not exist"),
        ("a_dir", "is a directory"),
    ],
)
def test_unusable_path(tmp_path: Path, relative: str, message: str) -> None:
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_dir").mkdir()
    with pytest.raises(BackendError, match=message):
        RedunBackend(f"sqlite:///{tmp_path / relative}").load()


def test_unwritable_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, where chmod does not stop writes: deny through os.access.
    import redun.backends.db.sqlite as sqlite_module

    monkeypatch.setattr(sqlite_module.os, "access", lambda path, mode: False)
    with pytest.raises(BackendError, match="directory .* is not writable"):
        RedunBackend(f"sqlite:///{tmp_path / 'redun.db'}").load()


def test_records_before_load_and_bad_uri() -> None:
    with pytest.raises(BackendError, match="not open"):
        RedunBackend().record_job_end(JobEnd("j", None, None, False))  # type: ignore[arg-type]
    with pytest.raises(BackendError, match="cannot parse db_uri"):
        RedunBackend("not a uri")
    with pytest.raises(BackendError, match="unsupported database"):
        RedunBackend("mysql://localhost/db").load()


def test_in_memory_backend_shared_by_threads(rec: SimpleNamespace) -> None:
    backend = RedunBackend()
    backend.load()
    backend.record_task(rec.add)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(offset, offset + 100):
                eval_hash = hash_eval(rec.add.hash, f"{i:040d}")
                backend.record_evaluation(eval_hash, rec.add.hash, f"{i:040d}", rec.value_record(i))
                backend.get_evaluations([eval_hash])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    backend.flush()
    hashes = [hash_eval(rec.add.hash, f"{i:040d}") for i in range(400)]
    assert not errors
    assert len(backend.get_evaluations(hashes)) == 400
    backend.close()


def test_reopen_and_write_to_reference_database(reference_db: Path, rec: SimpleNamespace) -> None:
    backend = RedunBackend(f"sqlite:///{reference_db}")
    backend.load()
    ids = rec.record_execution(backend, n=2)
    backend.close()
    again = RedunBackend(f"sqlite:///{reference_db}")
    again.load()
    cached = again.find_cached_call(rec.main.hash, ids.root_call.args_hash)
    assert cached is not None and cached.value == [2, 3]
    again.close()
    assert rows(reference_db, "SELECT count(*) FROM execution") == [(4,)]


def test_in_memory_record_through_sqlalchemy(rec: SimpleNamespace) -> None:
    # `connect()` shares the one in-memory connection the writer and cache reader use.
    from sqlalchemy import text

    backend = RedunBackend()
    backend.load()
    rec.record_execution(backend, n=2)
    backend.flush()
    with backend.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM job")).scalar() == 3
    rec.record_execution(backend, n=2)  # the writer still works after SQLAlchemy used it
    backend.flush()
    with backend.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM job")).scalar() == 6
    backend.close()


def test_reused_calls_are_written_only_when_missing(
    backend: RedunBackend, db_path: Path, rec: SimpleNamespace, watch_writes
) -> None:
    backend.record_task(rec.add)
    reused = rec.call_record(rec.add, (1, 2), 3)
    reused.reused = True
    backend.record_call(reused)  # not in the record yet: written in full
    backend.flush()
    assert rows(db_path, "SELECT count(*) FROM call_node") == [(1,)]
    assert rows(db_path, "SELECT count(*) FROM argument") == [(2,)]

    fresh = RedunBackend(f"sqlite:///{db_path}")  # a new process knows nothing written
    fresh.load()
    written = watch_writes(fresh)
    fresh.record_call(reused)
    fresh.flush()
    assert written == []  # found by key, skipped
    assert rows(db_path, "SELECT count(*) FROM argument") == [(2,)]
    fresh.close()
