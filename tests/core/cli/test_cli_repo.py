"""Sharing records: `redun repo add|remove|list`, `redun push|pull`, `redun export|import`.

Every record is a real SQLite file; after a pull or an import, `redun run` of the same
workflow in the receiving repository must be served entirely from the cache.
"""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from redun.backends.db import RedunBackend
from redun.backends.db.sync import copy_records, transfer, writes
from redun.backends.db.sync.tables import sort_jobs

WORKFLOW = """
from redun import File, Handle, task

redun_namespace = "sync_flow"


class Store(Handle):
    def __init__(self, name, path):
        self.path = path


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def write(path: str, n: int) -> File:
    with open(path, "w") as out:
        out.write(str(n))
    return File(path)


@task
def fill(store: Store, n: int) -> Store:
    return store


@task
def main(x: int = 1, out: str = "out.txt") -> list:
    return [add(add(x, 2), 3), [write(out, x)], fill(Store("store", out), x)]
"""
TABLES = (
    "task", "value", "file", "subvalue", "handle", "handle_edge", "call_node", "call_edge",
    "call_subtree_task", "argument", "argument_result", "evaluation", "job", "execution",
    "tag", "tag_edit",
)  # fmt: skip
JOBS_PER_RUN = 5
REFERENCE_DB_GZ = Path(__file__).resolve().parents[2] / "data" / "redun_0_44_1.db.gz"


@pytest.fixture
def flow(write_workflow, tmp_path: Path) -> Path:
    return write_workflow(WORKFLOW)


@pytest.fixture
def make_repo(invoke, tmp_path: Path):
    """A new repository (config dir with redun.ini and an empty record)."""

    def make(name: str) -> Path:
        config = tmp_path / name / ".redun"
        assert invoke("-c", str(config), "init").exit_code == 0
        return config

    return make


@pytest.fixture
def run_flow(invoke, flow: Path, tmp_path: Path):
    """Run the workflow's main(x) in a repository; returns the new execution's id."""

    def run(config: Path, x: int = 5) -> str:
        before = execution_ids(config)
        result = invoke("-c", str(config), "run", str(flow), "main", "--x", str(x),
                        "--out", str(tmp_path / f"out{x}.txt"))  # fmt: skip
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"[{x + 5}, [File(")
        (new,) = execution_ids(config) - before
        return new

    return run


def db_file(config: Path) -> Path:
    return config / "redun.db"


def execution_ids(config: Path) -> set[str]:
    if not db_file(config).exists():
        return set()
    with sqlite3.connect(db_file(config)) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM execution")}


def cached_flags(config: Path, exec_id: str) -> list[int]:
    with sqlite3.connect(db_file(config)) as conn:
        rows = conn.execute("SELECT cached FROM job WHERE execution_id = ?", (exec_id,))
        return sorted(row[0] for row in rows)


def dump(config: Path) -> dict[str, set[tuple]]:
    """Every row of every record table, as stored."""
    with sqlite3.connect(db_file(config)) as conn:
        return {table: set(conn.execute(f"SELECT * FROM {table}")) for table in TABLES}


def assert_consistent(config: Path) -> None:
    """Every foreign key of the record points at a stored row."""
    with sqlite3.connect(db_file(config)) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def one_error_line(result) -> str:
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("redun: error: ")
    assert "Traceback" not in result.output
    return lines[0]


# Configuration -------------------------------------------------------------------------------
def test_repo_add_list_remove(invoke, make_repo, tmp_path: Path) -> None:
    here, other = make_repo("here"), make_repo("other")
    shared = tmp_path / "shared" / ".redun"
    shared.mkdir(parents=True)
    (shared / "redun.ini").write_text(
        "[backend]\ndb_uri = postgresql://alice:s3cret@db.example:5432/redun\n"
    )
    result = invoke("-c", str(here), "repo", "add", "other", str(other))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Added repository 'other': sqlite:///{other}/redun.db\n"
    assert invoke("-c", str(here), "repo", "add", "shared", str(shared)).exit_code == 0
    # The section redun 0.44.1 writes and reads.
    ini = (here / "redun.ini").read_text()
    assert f"\n[repos.other]\nconfig_dir = {other}\n" in ini
    assert ini.startswith("# redun configuration.")  # the rest of the file is kept

    listing = invoke("-c", str(here), "repo", "list").stdout
    assert listing.splitlines() == [
        "Repositories:",
        f"  default: sqlite:///{here}/redun.db (this repository, {here})",
        f"  other: sqlite:///{other}/redun.db ({other})",
        f"  shared: postgresql://alice:***@db.example:5432/redun ({shared})",
    ]
    assert "s3cret" not in listing

    result = invoke("-c", str(here), "repo", "remove", "other")
    assert result.exit_code == 0 and result.stdout == "Removed repository 'other'\n"
    ini = (here / "redun.ini").read_text()
    assert "[repos.other]" not in ini and "[repos.shared]" in ini and "[backend]" in ini
    assert "other:" not in invoke("-c", str(here), "repo", "list").stdout


def test_repo_add_refuses_bad_input(invoke, make_repo, tmp_path: Path) -> None:
    here, other = make_repo("here"), make_repo("other")
    assert invoke("-c", str(here), "repo", "add", "other", str(other)).exit_code == 0
    line = one_error_line(invoke("-c", str(here), "repo", "add", "other", str(other)))
    assert "'other' is already configured" in line and "redun repo remove other" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    line = one_error_line(invoke("-c", str(here), "repo", "add", "x", str(empty)))
    assert f"{empty} has no redun.ini" in line and f"redun -c {empty} init" in line
    line = one_error_line(invoke("-c", str(here), "repo", "add", "default", str(other)))
    assert "'default' means this repository" in line
    line = one_error_line(invoke("-c", str(here), "repo", "add", "a b", str(other)))
    assert "'a b' is not valid" in line


@pytest.mark.parametrize(
    "command", [("push", "nosuch"), ("pull", "nosuch"), ("repo", "remove", "nosuch")]
)
def test_unknown_repository_is_one_line(invoke, make_repo, command) -> None:
    here = make_repo("here")
    line = one_error_line(invoke("-c", str(here), *command))
    assert line == (
        "redun: error: repository 'nosuch' is not configured; see `redun repo list`, "
        "or add it with `redun repo add nosuch CONFIG_DIR`"
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("where", ["postgres", "missing_dir", "own"])
def test_unusable_remote_is_one_line(invoke, make_repo, tmp_path: Path, where: str) -> None:
    here = make_repo("here")
    remote = tmp_path / "remote" / ".redun"
    remote.mkdir(parents=True)
    db_uri = {
        "postgres": f"postgresql://bob:pw@127.0.0.1:{_closed_port()}/redun",
        "missing_dir": f"sqlite:///{tmp_path}/no/such/dir/redun.db",
        "own": f"sqlite:///{here}/redun.db",
    }[where]
    (remote / "redun.ini").write_text(f"[backend]\ndb_uri = {db_uri}\n")
    assert invoke("-c", str(here), "repo", "add", "remote", str(remote)).exit_code == 0
    line = one_error_line(invoke("-c", str(here), "push", "remote"))
    assert "repository 'remote'" in line and "pw@" not in line
    expected = {"postgres": "127.0.0.1", "missing_dir": "does not exist", "own": "own database"}
    assert expected[where] in line


def test_repo_whose_config_dir_is_gone(invoke, make_repo, tmp_path: Path) -> None:
    here, other = make_repo("here"), make_repo("other")
    assert invoke("-c", str(here), "repo", "add", "other", str(other)).exit_code == 0
    (other / "redun.ini").unlink()
    line = one_error_line(invoke("-c", str(here), "pull", "other"))
    assert f"{other} has no redun.ini" in line
    assert "other: unusable:" in invoke("-c", str(here), "repo", "list").stdout


# Push and pull ---------------------------------------------------------------------------------
def test_push_sends_what_is_new_and_is_reused_as_cache(invoke, make_repo, run_flow) -> None:
    here, there = make_repo("here"), make_repo("there")
    first = run_flow(here)
    assert invoke("-c", str(here), "repo", "add", "there", str(there)).exit_code == 0
    result = invoke("-c", str(here), "push", "there")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "pushed 1 execution, 5 jobs, 5 call nodes, 4 call edges, 8 call subtree tasks, "
        "10 arguments, 1 argument result, 20 values, 1 file, 7 subvalues, 4 tasks, "
        "5 evaluations, 3 tags, 3 handles, 2 handle edges to there\n"
    )
    assert dump(there) == dump(here)  # byte for byte, times and blobs included
    assert_consistent(there)
    again = invoke("-c", str(here), "push", "there")
    assert again.stdout == "pushed nothing to there: already up to date\n"

    # The pushed work is the receiving repository's cache.
    reused = run_flow(there)
    assert cached_flags(there, reused) == [1] * JOBS_PER_RUN

    # A new execution sends only its own rows (its calls and values are already there).
    second = run_flow(here)
    assert cached_flags(here, second) == [1] * JOBS_PER_RUN
    result = invoke("-c", str(here), "push", "there")
    assert result.stdout == "pushed 1 execution, 5 jobs, 3 tags to there\n"
    assert execution_ids(there) == {first, second, reused}


def test_pull_is_reused_as_cache(invoke, make_repo, run_flow) -> None:
    origin, mine = make_repo("origin"), make_repo("mine")
    run_flow(origin, x=1)
    run_flow(origin, x=2)
    assert invoke("-c", str(mine), "repo", "add", "origin", str(origin)).exit_code == 0
    result = invoke("-c", str(mine), "pull", "origin")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.startswith("pulled 2 executions, 10 jobs, ")
        and "from origin" in result.stdout
    )
    assert dump(mine) == dump(origin)
    for x in (1, 2):
        assert cached_flags(mine, run_flow(mine, x=x)) == [1] * JOBS_PER_RUN
    assert invoke("-c", str(mine), "pull", "origin").stdout == (
        "pulled nothing from origin: already up to date\n"
    )


def test_push_updates_rows_that_changed_at_the_source(invoke, make_repo, run_flow) -> None:
    here, there = make_repo("here"), make_repo("there")
    exec_id = run_flow(here)
    assert invoke("-c", str(here), "repo", "add", "there", str(there)).exit_code == 0
    with sqlite3.connect(db_file(here)) as conn:  # pushed while the root job still ran
        (root,) = conn.execute("SELECT job_id FROM execution").fetchone()
        ended = conn.execute("SELECT end_time, call_hash FROM job WHERE id = ?", (root,)).fetchone()
        conn.execute("UPDATE job SET end_time = NULL, call_hash = NULL WHERE id = ?", (root,))
    invoke("-c", str(here), "push", "there")
    with sqlite3.connect(db_file(here)) as conn:  # the job ends; a tag is superseded
        conn.execute("UPDATE job SET end_time = ?, call_hash = ? WHERE id = ?", (*ended, root))
        conn.execute("UPDATE tag SET is_current = 0 WHERE key = 'user'")
    result = invoke("-c", str(here), "push", "there")
    assert result.stdout == "pushed nothing new (updated 1 job, 1 tag) to there\n"
    assert dump(there) == dump(here)
    assert cached_flags(there, exec_id) == [0] * JOBS_PER_RUN


def test_pull_from_a_redun_0_44_record(invoke, make_repo, tmp_path: Path) -> None:
    """A record written by redun 0.44.1 (3 executions) arrives whole and unchanged."""
    mine = make_repo("mine")
    theirs = tmp_path / "theirs" / ".redun"
    theirs.mkdir(parents=True)
    (theirs / "redun.ini").write_text("[backend]\ndb_uri = sqlite:///redun.db\n")
    with gzip.open(REFERENCE_DB_GZ, "rb") as src, open(db_file(theirs), "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert invoke("-c", str(mine), "repo", "add", "theirs", str(theirs)).exit_code == 0
    result = invoke("-c", str(mine), "pull", "theirs")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("pulled 3 executions, ")
    assert dump(mine) == dump(theirs)
    assert_consistent(mine)
    exported = invoke("-c", str(theirs), "export").stdout
    assert invoke("-c", str(mine), "import", input=exported).stdout == "imported nothing new\n"


def test_copy_in_small_batches_keeps_parents_first(
    make_repo, run_flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there = make_repo("here"), make_repo("there")
    for x in range(3):
        run_flow(here, x=x)
    with sqlite3.connect(db_file(here)) as conn:  # a skewed clock: roots "start" last
        conn.execute(
            "UPDATE job SET start_time = '2999-01-01 00:00:00.000000' WHERE parent_id IS NULL"
        )
    monkeypatch.setattr(transfer, "EXECUTIONS_PER_BATCH", 2)
    source = RedunBackend(f"sqlite:///{db_file(here)}")
    dest = RedunBackend(f"sqlite:///{db_file(there)}")
    source.load()
    dest.load()
    try:
        # The destination checks foreign keys as PostgreSQL does.
        event.listen(dest.engine, "checkout", _foreign_keys_on)
        counts = copy_records(source.engine, dest.engine, batch_size=2)
        with dest.engine.connect() as conn, pytest.raises(IntegrityError):
            conn.exec_driver_sql("INSERT INTO file VALUES ('no such value', 'x')")
    finally:
        source.close()
        dest.close()
    assert counts.inserted["execution"] == 3 and counts.inserted["job"] == 3 * JOBS_PER_RUN
    assert dump(there) == dump(here)
    assert_consistent(there)


def _foreign_keys_on(dbapi_connection, _record, _proxy) -> None:
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


def test_sort_jobs_places_parents_first() -> None:
    rows = [
        {"id": "c", "parent_id": "b"},
        {"id": "d", "parent_id": "elsewhere"},
        {"id": "b", "parent_id": "a"},
        {"id": "a", "parent_id": None},
    ]
    ordered, waiting = sort_jobs(rows, present=lambda job_id: False)
    assert [row["id"] for row in ordered] == ["a", "b", "c"]
    assert [row["id"] for row in waiting] == ["d"]
    ordered, waiting = sort_jobs(rows)  # parents outside the rows are stored already
    assert len(ordered) == 4 and not waiting
    positions = {row["id"]: i for i, row in enumerate(ordered)}
    assert positions["a"] < positions["b"] < positions["c"]


# Export and import ------------------------------------------------------------------------------
def test_export_import_round_trip_is_reused_as_cache(invoke, make_repo, run_flow) -> None:
    here, other = make_repo("here"), make_repo("other")
    run_flow(here, x=1)
    run_flow(here, x=1)
    exported = invoke("-c", str(here), "export", "-f", "-")
    assert exported.exit_code == 0, exported.output
    assert exported.stderr.startswith("exported 2 executions, 10 jobs, ")
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert {line["table"] for line in lines} == set(TABLES) - {"tag_edit"}
    value = next(line["row"] for line in lines if line["table"] == "value")
    assert set(value) == {"value_hash", "type", "format", "value"}  # blob as base64 text

    result = invoke("-c", str(other), "import", "-f", "-", input=exported.stdout)
    assert result.exit_code == 0, result.output
    assert result.stdout == "imported " + exported.stderr.removeprefix("exported ")
    assert dump(other) == dump(here)
    assert_consistent(other)
    assert cached_flags(other, run_flow(other, x=1)) == [1] * JOBS_PER_RUN
    again = invoke("-c", str(other), "import", "-f", "-", input=exported.stdout)
    assert again.stdout == "imported nothing new\n"


def test_export_one_execution_to_a_file(invoke, make_repo, run_flow, tmp_path: Path) -> None:
    here, other = make_repo("here"), make_repo("other")
    wanted = run_flow(here, x=3)
    run_flow(here, x=4)
    path = tmp_path / "one.jsonl"
    result = invoke("-c", str(here), "export", "-f", str(path), "--exec", wanted[:8])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("exported 1 execution, 5 jobs, 5 call nodes, ")
    assert invoke("-c", str(other), "import", "-f", str(path)).exit_code == 0
    assert execution_ids(other) == {wanted}
    assert_consistent(other)  # everything the execution refers to came along
    assert cached_flags(other, run_flow(other, x=3)) == [1] * JOBS_PER_RUN

    line = one_error_line(invoke("-c", str(here), "export", "--exec", "nosuch"))
    assert line == "redun: error: no execution has id 'nosuch'; see `redun log`"


def _good_lines(invoke, here: Path) -> list[str]:
    return invoke("-c", str(here), "export").stdout.splitlines()


def _with(line: str, **changes) -> str:
    record = json.loads(line)
    record["row"].update(changes)
    return json.dumps(record)


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda line: line + "}", "not JSON (Extra data)"),
        (lambda line: line.replace('"table": "', '"table": "x'), "unknown table 'xvalue'"),
        (lambda line: _with(line, value="%%%"), "table value: column 'value' is not valid base64"),
        (lambda line: _with(line, format=None), "table value: column 'format' must not be null"),
        (lambda line: _with(line, extra=1), "table value has no column 'extra'"),
    ],
)
def test_corrupt_import_line_imports_nothing(invoke, make_repo, run_flow, corrupt, message) -> None:
    here, other = make_repo("here"), make_repo("other")
    run_flow(here)
    lines = _good_lines(invoke, here)
    bad = next(i for i, line in enumerate(lines) if json.loads(line)["table"] == "value")
    lines[bad] = corrupt(lines[bad])
    result = invoke("-c", str(other), "import", "-f", "-", input="\n".join(lines) + "\n")
    line = one_error_line(result)
    assert line == f"redun: error: stdin, line {bad + 1}: {message}; nothing was imported"
    assert all(not rows for rows in dump(other).values())


def test_import_failing_in_the_database_imports_nothing(
    invoke, make_repo, run_flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, other = make_repo("here"), make_repo("other")
    run_flow(here)
    exported = invoke("-c", str(here), "export").stdout
    real_insert = writes.insert_rows

    def insert_rows(conn, spec, rows):
        if spec.name == "job":  # values, calls and more are written by now
            raise sqlite3.OperationalError("disk I/O error")
        return real_insert(conn, spec, rows)

    monkeypatch.setattr(writes, "insert_rows", insert_rows)
    line = one_error_line(invoke("-c", str(other), "import", input=exported))
    assert line == (
        "redun: error: import from stdin (nothing was imported) failed: "
        f"database sqlite:///{other}/redun.db: disk I/O error"
    )
    assert all(not rows for rows in dump(other).values())
