"""`redun log` in every form, on a record our scheduler wrote: ids, prefixes, `-`, `~N`,
listings, filters, JSON, errors and the pager."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from log_record import LogRecord, build_record

from redun.cli import log as log_module


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> LogRecord:
    return build_record(tmp_path_factory.mktemp("log-record"))


def lines_of(record: LogRecord, *args: str) -> list[str]:
    result = record.redun(*args)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def error_of(record: LogRecord, *args: str) -> str:
    """The one-line error of a failing `redun log`."""
    result = record.redun(*args)
    assert result.exit_code == 1, result.output
    assert len(result.output.splitlines()) == 1, result.output
    return result.output


# Executions: `log`, `log -`, `log ~N`, `log EXEC` -------------------------------------------
def test_recent_executions(record: LogRecord) -> None:
    lines = lines_of(record, "log")
    assert lines[:2] == ["Recent executions:", ""]
    execs = lines[2:]
    assert [line.split()[1] for line in execs] == [i[:8] for i in record.exec_ids]
    assert [line.split("[")[1].split("]")[0].strip() for line in execs] == [
        "FAILED",
        "DONE",
        "DONE",
        "DONE",
    ]
    assert execs[0].endswith("failing (project=flow, redun.version=0.1.0, team=x, user=root)")
    assert "main --n 4 (" in execs[1]


def test_latest_and_relative_executions(record: LogRecord) -> None:
    latest = lines_of(record, "log", "-")
    assert latest[0].startswith(f"Exec {record.exec_ids[0]} [FAILED]")
    assert lines_of(record, "log", "~1") == latest  # as redun 0.44.1: ~1 is the latest
    assert "Jobs: 3 (DONE: 1, CACHED: 0, FAILED: 2)" in latest
    assert latest[-3].endswith(":  flow.failing(x=1)") and latest[-3].startswith("Job ")
    assert latest[-1].startswith("  Job ") and latest[-1].endswith(":  flow.fail(1)")

    previous = lines_of(record, "log", "~2")
    assert previous[0].startswith(f"Exec {record.exec_ids[1]} [ DONE ]")
    assert "Jobs: 4 (DONE: 0, CACHED: 4, FAILED: 0)" in previous
    # A tree: the root first, then its children in call order.
    assert previous[-4].startswith("Job ") and previous[-4].endswith(
        ":  flow.main(n=4, out='out.txt')"
    )
    assert [line.rsplit(":  ", 1)[1] for line in previous[-3:]] == [
        "flow.make_text(4)",
        "flow.count('xxxx')",
        "flow.write('out.txt', 'xxxx', 4)",
    ]
    assert all(line.startswith("  Job ") and "[CACHED]" in line for line in previous[-3:])

    oldest = lines_of(record, "log", "~4")
    assert oldest[0].startswith(f"Exec {record.exec_ids[3]} [ DONE ]")
    assert oldest[1].startswith("Duration: 0:00:")
    table = oldest[3:11]
    assert table[0].startswith("| JOB STATUS ")
    assert table[1].split() == "| TASK PENDING RUNNING FAILED CACHED DONE TOTAL".split()
    assert table[3].split() == ["|", "ALL", "0", "0", "0", "0", "4", "4"]
    assert [row.split()[1] for row in table[4:]] == [
        "flow.count",
        "flow.main",
        "flow.make_text",
        "flow.write",
    ]
    assert lines_of(record, "log", record.exec_ids[3][:6]) == oldest


def test_relative_execution_out_of_range(record: LogRecord) -> None:
    message = error_of(record, "log", "~5")
    assert message.startswith("redun: error: ~5 is out of range: the redun database has 4 ")
    assert error_of(record, "log", "~0").startswith("redun: error: ~0 is out of range")


# Any record by id or prefix ---------------------------------------------------------------
def test_job_view_has_call_code_and_dataflow(record: LogRecord) -> None:
    (job_id,) = record.query(
        "SELECT job.id FROM job JOIN task ON task.hash = job.task_hash "
        "WHERE task.name = 'count' AND job.execution_id = ?",
        record.exec_ids[2],
    )[0]
    lines = lines_of(record, "log", job_id[:10])
    assert lines[0] == lines[0].split(":  ")[0] + ":  flow.count('xxxx')"
    assert lines[0].startswith(f"Job {job_id} [ DONE ] ")
    assert lines[1].startswith(f"Traceback: Exec {record.exec_ids[2][:8]} > Job ")
    assert lines[1].endswith(" main > Job " + job_id[:8] + " count")
    assert "    Args:   'xxxx'" in lines and "    Result: 4" in lines
    assert "    def count(text: str) -> int:" in lines
    flow = lines[lines.index("  Upstream dataflow:") :]
    assert flow[2] == "    result = 4"
    assert flow[4].startswith("    result <-- <") and flow[4].endswith("> count(text)")
    assert flow[5] == "      text = <0e483229> 'xxxx'"
    assert flow[7].startswith("    text <-- <") and flow[7].endswith("> make_text(n)")
    assert "    n <-- argument n of <" in "\n".join(flow)


def test_failed_job_shows_its_traceback(record: LogRecord) -> None:
    (job_id,) = record.query(
        "SELECT job.id FROM job JOIN task ON task.hash = job.task_hash WHERE task.name = 'fail'"
    )[0]
    lines = lines_of(record, "log", job_id[:8])
    assert "[FAILED]" in lines[0] and "    Raised: ValueError('bad 1')" in lines
    assert lines[-4:] == [
        "  Traceback:",
        lines[-3],
        '      raise ValueError(f"bad {x}")',
        "  ValueError: bad 1",
    ]
    assert lines[-3].startswith("    File ") and lines[-3].endswith(", in fail")


def test_call_node_task_and_value_views(record: LogRecord) -> None:
    (call_hash,) = record.query(
        "SELECT call_hash FROM call_node WHERE task_name = 'flow.main' AND call_hash IN "
        "(SELECT call_hash FROM job WHERE execution_id = ?)",
        record.exec_ids[2],
    )[0]
    node = lines_of(record, "log", call_hash[:12])
    assert node[:3] == [
        f"CallNode {call_hash} flow.main",
        "  Args:   n=4, out='out.txt'",
        node[2],
    ]
    assert node[2].startswith("  Result: File('out.txt', hash=")
    assert node[3] == "  Child CallNodes:"
    assert [line.split()[-1] for line in node[4:7]] == [
        "flow.make_text",
        "flow.count",
        "flow.write",
    ]
    # main's result came from write: the dataflow starts there.
    assert any(
        line.startswith("  result <-- <") and "> write(path, text, size)" in line for line in node
    )
    assert any(line.startswith("  path <-- argument out of <" + call_hash[:8]) for line in node)

    (task_hash,) = record.query("SELECT hash FROM task WHERE name = 'make_text'")[0]
    task = lines_of(record, "log", task_hash[:8])
    assert task[0] == f"Task {task_hash} flow.make_text"
    assert task[1].startswith("  First Job ")
    assert task[3:5] == ["  def make_text(n: int) -> str:", '      return "x" * n']

    value = lines_of(record, "log", "6f3255df")  # the int 4: count's result
    assert value[:2] == ["Value 6f3255df builtins.int", "4"]
    assert value[3:6] == ["Upstream dataflow:", "", "  value = 4"]
    assert value[7].startswith("  value <-- <") and value[7].endswith("> count(text)")

    file_hash = record.query("SELECT value_hash FROM file")[0][0]
    assert lines_of(record, "log", file_hash[:8])[0] == f"File {file_hash[:8]} out.txt"


def test_full_ids_work_too(record: LogRecord) -> None:
    for kind, column in (("execution", "id"), ("job", "id"), ("call_node", "call_hash")):
        full = record.ids(kind, column)[0]
        assert record.redun("log", full).exit_code == 0


def test_unknown_id_and_ambiguous_prefix_are_one_line(record: LogRecord) -> None:
    assert error_of(record, "log", "zz99") == (
        "redun: error: no execution, job, call node, task or value has an id starting with 'zz99'\n"
    )
    assert "no recorded File has that path" in error_of(record, "log", "missing/nope.txt")
    ids = [
        *record.ids("execution", "id"),
        *record.ids("job", "id"),
        *record.ids("call_node", "call_hash"),
        *record.ids("task", "hash"),
        *record.ids("value", "value_hash"),
    ]
    prefix = next(c for c in "0123456789abcdef" if len({i for i in ids if i.startswith(c)}) > 2)
    message = error_of(record, "log", prefix)
    assert message.startswith(f"redun: error: id prefix '{prefix}' matches several ")
    assert message.endswith("; give more characters\n")
    inner = message[message.index("(") + 1 : message.rindex(")")]
    listed = [item for item in inner.split(", ") if item != "..."]
    assert listed and all(item.split()[-1].startswith(prefix) for item in listed)


def test_log_on_an_empty_record(tmp_path: Path) -> None:
    empty = LogRecord(tmp_path, tmp_path / ".redun")
    assert lines_of(empty, "log") == ["Recent executions:"]
    assert error_of(empty, "log", "-") == "redun: error: the redun database has no executions yet\n"


# Listings and filters -------------------------------------------------------------------
def test_kind_listings(record: LogRecord) -> None:
    execs = lines_of(record, "log", "--exec")
    assert [line.split()[1] for line in execs] == [i[:8] for i in record.exec_ids]
    jobs = lines_of(record, "log", "--job")
    assert len(jobs) == 15 and all(line.startswith("Job ") for line in jobs)
    assert jobs[0].endswith("flow.fail(1)") and jobs[-1].endswith("flow.main(n=3, out='out.txt')")
    assert sum("[CACHED]" in line for line in jobs) == 4
    calls = lines_of(record, "log", "--call-node")
    assert len(calls) == len(record.ids("call_node", "call_hash")) == 11
    tasks = lines_of(record, "log", "--task")
    assert [line.split()[2] for line in tasks] == [
        "flow.count",
        "flow.fail",
        "flow.failing",
        "flow.main",
        "flow.make_text",
        "flow.write",
    ]
    values = lines_of(record, "log", "--value")
    assert "Value 6f3255df builtins.int 4" in values
    files = lines_of(record, "log", "--file")
    assert len(files) == 2 and all(line.endswith(" out.txt") for line in files)
    every = lines_of(record, "log", "--all")
    assert len(every) == 4 + 15 + 11 + 6 + len(values)


def test_filters(record: LogRecord) -> None:
    failed = lines_of(record, "log", "--exec-status", "FAILED")
    assert failed[:2] == ["Recent executions:", ""] and len(failed) == 3
    assert len(lines_of(record, "log", "--exec", "--exec-status", "done")) == 3
    counts = lines_of(record, "log", "--task-name", "count")  # a bare name finds flow.count
    assert len(counts) == 4 and all("flow.count(" in line for line in counts)
    assert lines_of(record, "log", "--job", "--task-name", "flow.count") == counts
    assert len(lines_of(record, "log", "--call-node", "--task-name", "flow.count")) == 3
    assert lines_of(record, "log", "--task", "--task-name", "flow.count")[0].endswith("flow.count")
    cached = lines_of(record, "log", "--job", "--job-status", "CACHED")
    assert len(cached) == 4 and all("[CACHED]" in line for line in cached)
    tagged = lines_of(record, "log", "-t", "team=x")
    assert len(tagged) == 3 and tagged[2].split()[1] == record.exec_ids[0][:8]
    assert lines_of(record, "log", "--exec", "--exec-tag", "team=y") == []
    team_jobs = lines_of(record, "log", "--job", "--exec-tag", "team=x")
    assert len(team_jobs) == 3 and team_jobs[-1].endswith("flow.failing(x=1)")
    by_exec = lines_of(record, "log", "--job", "--exec-id", record.exec_ids[3][:8])
    assert len(by_exec) == 4 and by_exec[-1].endswith("flow.main(n=3, out='out.txt')")
    assert lines_of(record, "log", record.exec_ids[3][:8], "--job") == by_exec  # ID + kind: scoped
    ints = lines_of(record, "log", "--value-type", "builtins.int")
    assert ints and all(" builtins.int " in line for line in ints)
    assert len(lines_of(record, "log", "--file-path", "out.txt")) == 2
    assert len(lines_of(record, "log", "--job", "--limit", "2")) == 2
    assert lines_of(record, "log", "--all", "--count") == [
        "       4 Execution",
        "      15 Job",
        "      11 CallNode",
        "       6 Task",
        f"{len(lines_of(record, 'log', '--value')):>8} Value",
    ]
    assert lines_of(record, "log", "--job", "--job-status", "FAILED", "--count") == ["       2 Job"]


def test_bad_filters_are_one_line_errors(record: LogRecord) -> None:
    assert "unknown status 'SLEEPING'" in error_of(record, "log", "--exec-status", "SLEEPING")
    assert "no execution has an id starting with 'zz'" in error_of(
        record, "log", "--job", "--exec-id", "zz"
    )
    assert "has no key" in error_of(record, "log", "-t", "=x")


# JSON -------------------------------------------------------------------------------------
def json_lines(record: LogRecord, *args: str) -> list[dict]:
    return [json.loads(line) for line in lines_of(record, *args, "--format", "json")]


def test_json_listings(record: LogRecord) -> None:
    execs = json_lines(record, "log")
    assert [e["_type"] for e in execs] == ["Execution"] * 4
    assert [e["id"] for e in execs] == record.exec_ids
    assert execs[0]["status"] == "FAILED" and execs[0]["tags"]["team"] == "x"
    assert execs[0]["args"][-1] == "failing"
    jobs = json_lines(record, "log", "--job")
    assert len(jobs) == 15 and {j["_type"] for j in jobs} == {"Job"}
    write = next(j for j in jobs if j["task_name"] == "flow.write" and j["cached"])
    assert write["status"] == "CACHED" and write["args"] == "'out.txt', 'xxxx', 4"
    assert write["start_time"].endswith("+00:00")
    calls = json_lines(record, "log", "--call-node")
    assert {c["_type"] for c in calls} == {"CallNode"} and len(calls) == 11
    tasks = json_lines(record, "log", "--task", "--task-name", "write")
    assert tasks[0]["fullname"] == "flow.write" and "f.write(" in tasks[0]["source"]
    values = json_lines(record, "log", "--value", "--value-type", "builtins.str")
    assert {v["preview"] for v in values} >= {"'xxx'", "'xxxx'", "'out.txt'"}
    files = json_lines(record, "log", "--file")
    assert [f["path"] for f in files] == ["out.txt", "out.txt"]
    counts = json_lines(record, "log", "--job", "--count")
    assert counts == [{"_type": "Count", "kind": "Job", "count": 15}]


def test_json_records(record: LogRecord) -> None:
    (execution,) = json_lines(record, "log", "~2")
    assert execution["id"] == record.exec_ids[1]
    assert [(j["depth"], j["task_name"]) for j in execution["jobs"]] == [
        (0, "flow.main"),
        (1, "flow.make_text"),
        (1, "flow.count"),
        (1, "flow.write"),
    ]
    write_job = execution["jobs"][3]["id"]
    (job,) = json_lines(record, "log", write_job)
    assert job["_type"] == "Job" and job["task"]["name"] == "write"
    node = job["call_node"]
    assert [a["preview"] for a in node["args"]] == ["'out.txt'", "'xxxx'", "4"]
    flow = node["dataflow"]
    assert flow["var"] == "result"
    assert [step["var"] for step in flow["steps"]][:4] == ["result", "path", "text", "size"]
    text_step = flow["steps"][2]["links"][0]
    assert text_step["kind"] == "call" and text_step["call"]["task_name"] == "flow.make_text"
    (value,) = json_lines(record, "log", "6f3255df")
    assert value["_type"] == "Value" and value["preview"] == "4"


# Pager --------------------------------------------------------------------------------------
class _Terminal:
    def isatty(self) -> bool:
        return True


def test_pager_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    paged: list[str] = []
    monkeypatch.setattr(log_module.click, "echo_via_pager", paged.append)
    echoed: list[str] = []
    monkeypatch.setattr(log_module.click, "echo", echoed.append)
    log_module.output(["a", "b"])  # pytest's stdout is not a terminal
    assert echoed == ["a\nb"] and paged == []
    monkeypatch.setattr(log_module.sys, "stdout", _Terminal())
    log_module.output(["a", "b"])
    assert paged == ["a\nb\n"]
    log_module.output(["c"], pager=False)  # --no-pager
    assert echoed[-1] == "c" and len(paged) == 1


def test_no_pager_flag_and_runner_output(record: LogRecord) -> None:
    assert lines_of(record, "log", "--no-pager") == lines_of(record, "log")
