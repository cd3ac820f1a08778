"""The record on PostgreSQL: schema by alembic, rows by the writer's raw statements.

The server comes from the ``postgres_server_uri`` fixture (tests/services/postgres.py);
each test gets a new database on it.
"""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import text

from redun.backends.db import CURRENT_VERSION, RedunBackend


def test_record_round_trip(pg_uri: str, rec: SimpleNamespace) -> None:
    backend = RedunBackend(pg_uri)
    assert backend.get_db_revision() is None
    backend.load()
    ids = rec.record_execution(backend, n=3)
    rec.record_execution(backend, n=3, cached=True)
    backend.record_evaluation("e" * 40, rec.add.hash, "a" * 40, rec.value_record(5))
    backend.flush()
    backend.record_evaluation("e" * 40, rec.add.hash, "a" * 40, rec.value_record(6))
    backend.flush()
    assert backend.get_evaluations(["e" * 40])["e" * 40][1] == 6
    cached = backend.find_cached_call(rec.main.hash, ids.root_call.args_hash)
    assert cached is not None and cached.value == [3, 4, 5]
    with backend.connect() as conn:
        tags = conn.execute(text("SELECT entity_type, value, is_current FROM tag")).fetchall()
        jobs = conn.execute(text("SELECT start_time, cached FROM job")).fetchall()
    assert set(tags) == {("Execution", "me", True)}
    assert len(jobs) == 8 and all(start.tzinfo is not None for start, _ in jobs)
    assert sorted(cached for _, cached in jobs) == [False] * 4 + [True] * 4
    backend.close()
    again = RedunBackend(pg_uri)
    assert again.get_db_revision() == CURRENT_VERSION.revision
    again.load()
    again.close()


def test_scheduler_runs_and_caches_on_postgres(pg_uri: str) -> None:
    from redun import Scheduler, task

    @task(namespace="pg_flow")
    def square(x: int) -> int:
        return x * x

    @task(namespace="pg_flow")
    def total(values: list) -> int:
        return sum(values)

    @task(namespace="pg_flow")
    def main(n: int = 5):
        return total([square(i) for i in range(n)])

    first = Scheduler(config={"backend": {"db_uri": pg_uri}})
    assert first.run(main(5)) == 30
    first.close()
    second = Scheduler(config={"backend": {"db_uri": pg_uri}})
    assert second.run(main(5)) == 30
    second.close()
    backend = RedunBackend(pg_uri)
    backend.load()
    with backend.connect() as conn:
        executions = conn.execute(text("SELECT count(*) FROM execution")).scalar()
        jobs = conn.execute(text("SELECT cached, count(*) FROM job GROUP BY cached")).fetchall()
        open_jobs = conn.execute(text("SELECT count(*) FROM job WHERE end_time IS NULL")).scalar()
    assert executions == 2 and open_jobs == 0
    assert dict(jobs) == {False: 7, True: 7}  # the second run reused every call
    backend.close()
