"""`redun log PATH`: the job that made a file, its arguments, code and upstream dataflow;
records written by redun 0.44.1; and no per-row queries."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from log_record import LogRecord, build_record

from redun.backends.db import RedunBackend
from redun.cli.log import LogOptions, _parse
from redun.cli.log import log as log_command
from redun.cli.log_render import render
from redun.cli.main import make_cli
from redun.plugins import reset_plugins

DATA = Path(__file__).resolve().parents[2] / "data"

# A file written from another task's output, handed back through a passthrough task and
# returned inside a dict: the producer is still `produce`.
PIPE = """
from redun import task, File

redun_namespace = "pipe"


@task()
def measure(word: str) -> int:
    return len(word)


@task()
def produce(path: str, word: str, size: int) -> File:
    f = File(path)
    f.write(word * size)
    return f


@task()
def passthrough(f: File) -> File:
    return f


@task()
def consume(f: File) -> int:
    return len(f.read())


@task()
def main(word: str = "ab") -> dict:
    made = produce("data/report.txt", word, measure(word))
    return {"report": passthrough(made), "size": measure(word)}
"""


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> LogRecord:
    return build_record(tmp_path_factory.mktemp("log-path-record"))


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> LogRecord:
    home = tmp_path_factory.mktemp("log-pipe")
    (home / "pipe_wf.py").write_text(PIPE)
    (home / "data").mkdir()
    record = LogRecord(home, home / ".redun")
    cwd = os.getcwd()
    os.chdir(home)
    reset_plugins()
    try:
        result = record.redun("run", "pipe_wf.py", "main")
        assert result.exit_code == 0, result.output
        (home / "data" / "input.txt").write_text("abc")
        result = record.redun("run", "pipe_wf.py", "consume", "--f", "data/input.txt")
        assert result.exit_code == 0, result.output
    finally:
        os.chdir(cwd)
        reset_plugins()
    return record


def log_lines(record: LogRecord, *args: str) -> list[str]:
    result = record.redun("log", *args)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_log_path_shows_the_job_that_made_the_file(
    record: LogRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(record.home)
    # The newest run that wrote out.txt is `main --n 4` (the run after it was cached).
    (job_id, file_hash) = record.query(
        "SELECT job.id, call_node.value_hash FROM job "
        "JOIN call_node ON call_node.call_hash = job.call_hash "
        "WHERE call_node.task_name = 'flow.write' AND job.execution_id = ?",
        record.exec_ids[2],
    )[0]
    lines = log_lines(record, "out.txt")
    assert lines[:3] == [f"File {file_hash[:8]} out.txt", f"Produced by Job {job_id[:8]}", ""]
    assert lines[3].startswith(f"  Job {job_id} [ DONE ] ")
    assert lines[3].endswith(":  flow.write('out.txt', 'xxxx', 4)")
    assert "      Args:   'out.txt', 'xxxx', 4" in lines
    assert "      def write(path: str, text: str, size: int) -> File:" in lines
    text = "\n".join(lines)
    flow = text[text.index("    Upstream dataflow:") :].splitlines()
    assert flow[2].startswith("      result = File('out.txt', hash=")
    assert flow[4].startswith("      result <-- <") and flow[4].endswith(
        "> write(path, text, size)"
    )
    assert flow[5:8] == [
        "        path = <30e22f03> 'out.txt'",
        "        text = <0e483229> 'xxxx'",
        "        size = <6f3255df> 4",
    ]
    steps = [line.strip() for line in flow if "<--" in line]
    assert steps[1].startswith("path <-- argument out of <") and steps[1].endswith("main(n, out)")
    assert steps[2] == "<-- origin"
    assert steps[3].startswith("text <-- <ed4ce49c> make_text(n)")
    assert steps[4].startswith("size <-- <5a567431> count(text_2)")
    assert any(s.startswith("text_2 <-- <ed4ce49c> make_text(n) (see above)") for s in steps)
    # Any spelling of the same path finds it.
    assert log_lines(record, "./out.txt") == lines
    assert log_lines(record, str(record.home / "out.txt")) == lines


def test_log_path_as_json(record: LogRecord, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(record.home)
    (found,) = [json.loads(line) for line in log_lines(record, "out.txt", "--format", "json")]
    assert found["_type"] == "File" and found["path"] == "out.txt"
    job = found["job"]
    assert job["task_name"] == "flow.write" and job["status"] == "DONE"
    assert job["call_node"]["value_hash"] == found["value_hash"]
    assert "f.write(" in job["task"]["source"]
    variables = [step["var"] for step in job["call_node"]["dataflow"]["steps"]]
    assert variables[:4] == ["result", "path", "text", "size"]


def test_log_path_through_containers_and_passthrough(
    pipe: LogRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(pipe.home)
    lines = log_lines(pipe, "data/report.txt")
    assert lines[0].startswith("File ") and lines[0].endswith(" data/report.txt")
    assert lines[3].endswith(":  pipe.produce('data/report.txt', 'ab', 2)")
    steps = [line.strip() for line in lines if "<--" in line]
    assert steps[0].endswith("> produce(path, word, size)")
    assert steps[1].startswith("path <-- origin")  # a literal in main's body
    assert steps[2].startswith("word <-- argument word of <") and steps[2].endswith("main(word)")
    assert steps[4].startswith("size <-- <") and steps[4].endswith("> measure(word_2)")
    # The dict main returned holds the same file: --file lists it once (and the input).
    files = log_lines(pipe, "--file", "--file-path", "data/report.txt")
    assert files == [lines[0]]
    assert len(log_lines(pipe, "--file")) == 2


def test_log_path_of_an_input_file(pipe: LogRecord, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(pipe.home)
    lines = log_lines(pipe, "data/input.txt")
    assert lines[0].startswith("File ") and lines[0].endswith(" data/input.txt")
    assert lines[1:] == ["No recorded job produced this file."]
    (found,) = [json.loads(line) for line in log_lines(pipe, "data/input.txt", "--format", "json")]
    assert found["path"] == "data/input.txt" and found["job"] is None


def test_unknown_path_is_one_line(record: LogRecord, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(record.home)
    result = record.redun("log", "nowhere/out.txt")
    assert result.exit_code == 1
    assert result.output == (
        "redun: error: no record has the id 'nowhere/out.txt' and no recorded File has that path; "
        "`redun log --file` lists the recorded files\n"
    )


# Records written by redun 0.44.1 -----------------------------------------------------------
def reference_record(tmp_path: Path, name: str) -> LogRecord:
    config = tmp_path / ".redun"
    config.mkdir()
    with gzip.open(DATA / name) as src:
        (config / "redun.db").write_bytes(src.read())
    return LogRecord(tmp_path, config)


def test_hello_world_record_of_redun_0_44(tmp_path: Path) -> None:
    hello = reference_record(tmp_path, "redun_0_44_1_hello_world.db.gz")
    execs = log_lines(hello, "--exec")
    assert len(execs) == 2
    command = "run hello_world.py main --greet Hi"
    assert execs[0].endswith(f":  {command} (project=hello_world, redun.version=0.44.1, user=root)")
    latest = log_lines(hello, "-")
    assert "Jobs: 3 (DONE: 2, CACHED: 1, FAILED: 0)" in latest
    assert latest[-1].endswith(":  hello_world.greeter('Hi', 'World')")
    assert log_lines(hello, "~2")[0].startswith(f"Exec {execs[1].split()[1]}")
    job = log_lines(hello, "4e29f918")
    assert job[1] == "Traceback: Exec d2c079fd > Job c79b426c main > Job 4e29f918 greeter"
    assert "    thing <-- <ecae447c> get_planet()" in job
    assert job[job.index("    thing <-- <ecae447c> get_planet()") + 1] == "          <-- origin"
    assert "    greet <-- argument greet of <53903e25> main(greet)" in job
    jobs = [json.loads(line) for line in log_lines(hello, "--job", "--format", "json")]
    assert [j["status"] for j in jobs].count("CACHED") == 1 and len(jobs) == 6
    assert log_lines(hello, "--task", "--count") == ["       3 Task"]


def test_file_in_a_redun_0_44_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # main(n) returned [add(0, n), add(1, n), {"file": write(n)}]; run, then cached.
    ref = reference_record(tmp_path, "redun_0_44_1.db.gz")
    monkeypatch.chdir(tmp_path)
    lines = log_lines(ref, "out.txt")
    assert lines[1] == "Produced by Job 93747943"
    assert lines[3].endswith(":  demo.write(2)")
    assert any(line.strip() == "n <-- argument n of <85f1d363> main(n)" for line in lines)


# No per-row queries ----------------------------------------------------------------------------
def statements(db: Path, *argv: str) -> tuple[int, list[str]]:
    """How many SQL statements `redun log ARGV` runs, and its output lines."""
    options: LogOptions = _parse(*_split(argv))
    backend = RedunBackend(f"sqlite:///{db}")
    backend.load()
    seen: list[str] = []
    try:
        with backend.connect() as conn:
            conn.connection.driver_connection.set_trace_callback(seen.append)
            lines = render(conn, options)
            conn.connection.driver_connection.set_trace_callback(None)
    finally:
        backend.close()
    return len(seen), lines


def _split(argv: tuple[str, ...]) -> tuple[str | None, dict]:
    """(record_id, params) as the click command would hand them to `_parse`."""
    context = log_command.make_context("log", list(argv))
    params = dict(context.params)
    return params.pop("record_id"), params


def test_listings_do_not_query_per_row(record: LogRecord, tmp_path: Path) -> None:
    big = tmp_path / "big.db"
    with sqlite3.connect(record.db) as src, sqlite3.connect(big) as dst:
        src.backup(dst)
    with sqlite3.connect(big) as conn:  # 40 more jobs: copies of the write jobs
        writes = "SELECT hash FROM task WHERE name = 'write'"
        rows = conn.execute(f"SELECT * FROM job WHERE task_hash IN ({writes})").fetchall()
        for i in range(40):
            row = rows[i % len(rows)]
            conn.execute(
                "INSERT INTO job VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (f"copy-{i:04d}", *row[1:]),
            )
    for argv in (("--job",), ("--job", "--task-name", "write"), ("--call-node",), ("~2",)):
        small_count, small_lines = statements(record.db, *argv)
        big_count, big_lines = statements(big, *argv)
        assert len(big_lines) > len(small_lines) or argv == ("--call-node",)
        assert big_count == small_count <= 8, (argv, small_count, big_count)


def test_runner_in_process_root_help_lists_log() -> None:
    result = CliRunner().invoke(make_cli(), ["log", "--help"])
    assert result.exit_code == 0
    for flag in ("--exec", "--job", "--call-node", "--task", "--value", "--file", "--format"):
        assert flag in result.output
    assert "--no-pager" in result.output and "--exec-tag" in result.output
