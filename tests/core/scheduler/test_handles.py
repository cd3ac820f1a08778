"""Handles: the design document's database/ETL use case, with a SQLite file as the service."""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

import pytest

from redun import Handle, merge_handles, namespace, task
from redun.backends.base import HandleRecord
from redun.backends.db import RedunBackend
from redun.handle import HandleError
from redun.hashing import hash_struct
from redun.values import get_value_hash

ETL = '''
import sqlite3
import threading

from redun import Handle, merge_handles, task

redun_namespace = "tests.etl"
RUNS = []
CONNECTIONS = []


class Warehouse(Handle):
    """The warehouse: a SQLite file, connected to on first use (one connection per thread)."""

    def __init__(self, name, db_file):
        self.db_file = db_file
        self._local = threading.local()

    @property
    def conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = sqlite3.connect(self.db_file, timeout=30)
            CONNECTIONS.append(self.db_file)
        return conn


@task()
def create_schema(db: Warehouse) -> Warehouse:
    RUNS.append("create_schema")
    db.conn.execute("CREATE TABLE IF NOT EXISTS raw (id INTEGER, name TEXT, amount REAL)")
    db.conn.execute("CREATE TABLE IF NOT EXISTS clean (id INTEGER, name TEXT, amount REAL)")
    return db


@task()
def load_raw(db: Warehouse, rows: list) -> Warehouse:
    RUNS.append("load_raw")
    with db.conn as conn:
        conn.execute("DELETE FROM raw")
        conn.executemany("INSERT INTO raw VALUES (?, ?, ?)", rows)
    return db


@task()
def transform(db: Warehouse, factor: int) -> Warehouse:
    RUNS.append("transform")
    with db.conn as conn:
        conn.execute("DELETE FROM clean")
        conn.execute(
            "INSERT INTO clean SELECT id, upper(name), amount * ? FROM raw WHERE amount > 0",
            (factor,),
        )
    return db


@task()
def report(db: Warehouse) -> tuple:
    RUNS.append("report")
    return tuple(db.conn.execute("SELECT count(*), total(amount) FROM clean").fetchone())


@task()
def etl(db_file: str, rows: list, factor: int = 2):
    RUNS.append("etl")
    db = Warehouse("warehouse", db_file)
    db = create_schema(db)
    db = load_raw(db, rows)
    db = transform(db, factor)
    return report(db)


@task()
def load_table(db: Warehouse, table: str, rows: list) -> Warehouse:
    RUNS.append("load_table:" + table)
    with db.conn as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (name TEXT, amount REAL)")
        conn.execute(f"DELETE FROM {table}")
        conn.executemany(f"INSERT INTO {table} VALUES (?, ?)", rows)
    return db


@task()
def load_all(db: Warehouse, tables: dict):
    branches = [load_table(db.fork(name), name, rows) for name, rows in sorted(tables.items())]
    return merge_handles(branches)


@task()
def totals(db: Warehouse, names: list) -> dict:
    RUNS.append("totals")
    return {name: db.conn.execute(f"SELECT total(amount) FROM {name}").fetchone()[0]
            for name in names}


@task()
def fan_out(db_file: str, tables: dict):
    db = Warehouse("warehouse", db_file)
    return totals(load_all(db, tables), sorted(tables))
'''

ROWS = [(1, "apple", 1.5), (2, "pear", -1.0), (3, "fig", 4.0)]


def _etl(write_module):
    """A fresh import of the workflow, as a new `redun run` would see it."""
    return write_module("etl_workflow", ETL)


def _warehouse_rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def _init_hash(fullname: str, *args) -> str:
    return hash_struct(["Handle", fullname, "init", "", [get_value_hash(a) for a in args], {}])


def test_etl_reuses_the_cache_until_an_upstream_step_changes(
    make_scheduler, write_module, tmp_path
):
    warehouse = tmp_path / "warehouse.db"
    module = _etl(write_module)
    assert make_scheduler().run(module.etl(str(warehouse), ROWS)) == (2, 11.0)
    assert module.RUNS == ["etl", "create_schema", "load_raw", "transform", "report"]
    assert _warehouse_rows(warehouse, "SELECT name, amount FROM clean ORDER BY id") == [
        ("APPLE", 3.0),
        ("FIG", 8.0),
    ]

    # Nothing changed: every step is reused and the warehouse is not touched.
    module = _etl(write_module)
    assert make_scheduler().run(module.etl(str(warehouse), ROWS)) == (2, 11.0)
    assert module.RUNS == [] and module.CONNECTIONS == []

    # New input rows: loading and every step after it run again, the schema step does not.
    module = _etl(write_module)
    rows = [*ROWS, (4, "kiwi", 0.5)]
    assert make_scheduler().run(module.etl(str(warehouse), rows)) == (3, 12.0)
    assert module.RUNS == ["etl", "load_raw", "transform", "report"]

    # A new factor: only the transform and what follows it.
    module = _etl(write_module)
    assert make_scheduler().run(module.etl(str(warehouse), rows, 3)) == (3, 18.0)
    assert module.RUNS == ["etl", "transform", "report"]

    # Edited code upstream: its handle state is new, so the steps downstream run again.
    module = write_module("etl_workflow", ETL.replace("DELETE FROM raw", "DELETE FROM raw  -- v2"))
    assert make_scheduler().run(module.etl(str(warehouse), rows, 3)) == (3, 18.0)
    assert module.RUNS == ["load_raw", "transform", "report"]


def test_a_handle_state_marked_invalid_is_produced_again(
    make_scheduler, write_module, tmp_path, query
):
    warehouse = str(tmp_path / "warehouse.db")
    module = _etl(write_module)
    make_scheduler().run(module.etl(warehouse, ROWS))
    [(loaded,)] = query("SELECT value_hash FROM call_node WHERE task_name = 'tests.etl.load_raw'")
    with sqlite3.connect(tmp_path / "redun.db") as conn:  # as a rollback would
        conn.execute("UPDATE handle SET is_valid = 0 WHERE hash = ?", (loaded,))

    # The load runs again; it yields the same state, so the steps after it are reused.
    module = _etl(write_module)
    assert make_scheduler().run(module.etl(warehouse, ROWS)) == (2, 11.0)
    assert module.RUNS == ["load_raw"]
    assert query("SELECT is_valid FROM handle WHERE hash = ?", loaded) == [(1,)]

    module = _etl(write_module)
    make_scheduler().run(module.etl(warehouse, ROWS))
    assert module.RUNS == []


def test_the_record_holds_each_state_a_handle_passed_through(
    make_scheduler, write_module, tmp_path, query
):
    warehouse = str(tmp_path / "warehouse.db")
    module = _etl(write_module)
    make_scheduler().run(module.etl(warehouse, ROWS))

    fullname = "tests.etl.warehouse"
    start = _init_hash(fullname, warehouse)
    handles = {row[0]: row[1:] for row in query("SELECT * FROM handle")}
    edges = dict(query("SELECT parent_id, child_id FROM handle_edge"))
    assert len(edges) == len(query("SELECT * FROM handle_edge"))  # a chain: one child each

    # Each call forks the handle it gets (key "1": its first use in etl), and what the call
    # returns is the state after that call: hash(["Handle", name, "call_hash", "", eval_hash]).
    evals = dict(
        query("SELECT t.name, e.eval_hash FROM evaluation e JOIN task t ON t.hash = e.task_hash")
    )
    state = start
    for step in ("create_schema", "load_raw", "transform"):
        fork = edges[state]
        assert handles[fork] == (fullname, fork, "1", 1)
        assert fork == hash_struct(["Handle", fullname, "call_hash", "1", state])
        state = edges[fork]
        assert state == hash_struct(["Handle", fullname, "call_hash", "", evals[step]])
        assert handles[state] == (fullname, state, "", 1)
    assert edges[state] not in edges  # report's fork is the end: report returns a tuple
    assert query(
        "SELECT DISTINCT type FROM value WHERE value_hash IN (SELECT hash FROM handle)"
    ) == [("etl_workflow.Warehouse",)]


def test_forked_branches_run_in_parallel_and_merge(make_scheduler, write_module, tmp_path, query):
    warehouse = tmp_path / "warehouse.db"
    tables = {"sales": [("a", 1.0), ("b", 2.0)], "costs": [("c", 5.0)]}
    module = _etl(write_module)
    result = make_scheduler().run(module.fan_out(str(warehouse), tables))
    assert result == {"costs": 5.0, "sales": 3.0}
    assert sorted(module.RUNS) == ["load_table:costs", "load_table:sales", "totals"]
    assert _warehouse_rows(warehouse, "SELECT count(*) FROM sales") == [(2,)]

    # Branch keys are the fork names; the merged handle is the first branch, following the other.
    keys = {key for (key,) in query("SELECT key FROM handle")}
    assert {"costs", "sales"} <= keys
    branch_results = dict(
        query(
            "SELECT a.value_hash, c.value_hash FROM argument a "
            "JOIN call_node c ON c.call_hash = a.call_hash "
            "WHERE c.task_name = 'tests.etl.load_table' AND a.arg_position = 1"
        )
    )
    costs, sales = (branch_results[get_value_hash(name)] for name in ("costs", "sales"))
    assert (sales, costs) in query("SELECT parent_id, child_id FROM handle_edge")

    # One branch's data changes: that branch runs again, the other is reused.
    module = _etl(write_module)
    tables["costs"] = [("c", 7.0)]
    result = make_scheduler().run(module.fan_out(str(warehouse), tables))
    assert result == {"costs": 7.0, "sales": 3.0}
    assert module.RUNS == ["load_table:costs", "totals"]


def test_only_the_constructor_arguments_are_pickled(write_module, tmp_path):
    module = _etl(write_module)
    path = str(tmp_path / "warehouse.db")
    db = module.Warehouse("warehouse", path)
    assert db.conn.execute("SELECT 1").fetchone() == (1,)
    assert module.CONNECTIONS == [path]

    data = pickle.dumps(db, protocol=3)
    assert b"sqlite3" not in data and b"_local" not in data
    loaded = pickle.loads(data)
    assert type(loaded) is module.Warehouse and loaded.db_file == path
    assert loaded.get_hash() == db.get_hash() == _init_hash("tests.etl.warehouse", path)
    assert module.CONNECTIONS == [path]  # unpickling reconnects only when used
    assert loaded.conn.execute("SELECT 2").fetchone() == (2,)
    assert module.CONNECTIONS == [path, path]
    assert loaded.__getstate__() == {
        "name": "warehouse",
        "namespace": "tests.etl",
        "args": (path,),
        "kwargs": {},
        "class_name": "etl_workflow.Warehouse",
        "call_hash": "",
        "key": "",
        "hash": db.get_hash(),
    }


def test_a_worker_process_gets_the_arguments_and_reconnects(make_scheduler, write_module, tmp_path):
    module = _etl(write_module)
    warehouse = tmp_path / "warehouse.db"
    db = module.Warehouse("warehouse", str(warehouse))
    assert db.conn is not None  # connected here: the workers must open their own
    proc = {"proc": {"type": "local", "mode": "process", "max_workers": 1}}
    load_raw = module.load_raw.options(executor="proc")
    transform = module.transform.options(executor="proc")
    flow = module.report(transform(load_raw(module.create_schema(db), ROWS), 2))
    assert make_scheduler(executors=proc).run(flow) == (2, 11.0)
    assert module.RUNS == ["create_schema", "report"]  # the others ran in the worker
    assert _warehouse_rows(warehouse, "SELECT count(*) FROM raw") == [(3,)]


def test_handle_rows_on_a_postgresql_record(pg_uri):
    from sqlalchemy import text

    start = Service("db")
    fork = start.fork("1")
    after = fork.apply_call("e" * 40)
    backend = RedunBackend(pg_uri)
    backend.load()
    backend.record_handle(HandleRecord(fork, [start]))
    backend.record_handle(HandleRecord(after, [fork]))
    backend.flush()
    hashes = [h.get_hash() for h in (start, fork, after)]
    assert backend.get_valid_handles([*hashes, "x" * 40]) == set(hashes)
    with backend.connect() as conn:
        conn.execute(text("UPDATE handle SET is_valid = false WHERE key = ''"))
        conn.commit()
    assert backend.get_valid_handles(hashes) == {fork.get_hash()}

    backend.record_handle(HandleRecord(after, [fork]))  # produced again: valid again
    backend.flush()
    assert backend.get_valid_handles(hashes) == {fork.get_hash(), after.get_hash()}
    with backend.connect() as conn:
        edges = set(conn.execute(text("SELECT parent_id, child_id FROM handle_edge")))
        rows = set(conn.execute(text('SELECT fullname, "key", value_hash FROM handle')))
    assert edges == {(hashes[0], hashes[1]), (hashes[1], hashes[2])}
    assert rows == {("db", "", hashes[0]), ("db", "1", hashes[1]), ("db", "", hashes[2])}
    backend.close()


class Service(Handle):
    def __init__(self, name, *args, **kwargs):
        self.args = args


def test_causal_hashes():
    service = Service("api", "http://x", retries=3)
    info = service.__handle__
    assert info.fullname == "api" and info.args == ("http://x",) and info.kwargs == {"retries": 3}
    assert service.get_hash() == hash_struct(
        ["Handle", "api", "init", "", [get_value_hash("http://x")], {"retries": get_value_hash(3)}]
    )
    fork = service.fork("left")
    assert fork.get_hash() == hash_struct(
        ["Handle", "api", "call_hash", "left", service.get_hash()]
    )
    assert fork.args == ("http://x",)  # a fork shares the live state
    after = fork.apply_call("e" * 40)
    assert after.get_hash() == hash_struct(["Handle", "api", "call_hash", "", "e" * 40])
    # Passed to a call, a fresh handle is forked by call order; a fork keeps its key.
    assert service.preprocess({"call_order": 2}).__handle__.key == "2"
    assert fork.preprocess({"call_order": 2}).__handle__.key == "left"
    assert repr(service) == f"{__name__}.Service(fullname=api, hash={service.get_hash()[:8]})"


def test_namespaces_and_bad_input():
    assert Service("db", namespace="explicit").__handle__.fullname == "explicit.db"
    with namespace("outer"):
        assert Service("db").__handle__.fullname == "outer.db"
    with pytest.raises(HandleError, match="name must be a non-empty string"):
        Service(3)
    with pytest.raises(HandleError, match="key must be a non-empty string"):
        Service("db").fork("")
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        getattr(Service("db"), "missing")  # noqa: B009
    with pytest.raises(HandleError, match="while a scheduler runs"):
        Service("db").is_valid()


@task(namespace="tests.handles")
def passthrough(service: Service) -> Service:
    return service


def test_merge_handles_needs_branches_of_one_handle(scheduler):
    with pytest.raises(HandleError, match=r"got handles named \['a', 'b'\]"):
        scheduler.run(merge_handles([passthrough(Service("a")), Service("b")]))
    with pytest.raises(HandleError, match="non-empty list"):
        scheduler.run(merge_handles([]))
    first, second = Service("a").fork("1"), Service("a").fork("2")
    assert scheduler.run(merge_handles([first, second])).get_hash() == first.get_hash()


def test_a_dry_run_records_no_handle(make_scheduler, write_module, tmp_path, query):
    module = _etl(write_module)
    make_scheduler().run(module.etl(str(tmp_path / "w.db"), ROWS), dryrun=True)
    assert query("SELECT count(*) FROM handle") == [(0,)]
