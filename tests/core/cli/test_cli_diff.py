"""`redun diff EXEC_A EXEC_B`: changed arguments, results, task code, added/removed calls."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"

WORKFLOW = """
from redun import task

redun_namespace = "difftest"


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def double(x: int) -> int:
    return 2 * x


@task
def main(x: int = 1, y: int = 2, n: int = 0) -> list:
    return [add(x, y), double(add(x, 10)), double(y)] + [add(i, i) for i in range(n)]
"""

EDITED = WORKFLOW.replace(
    "    return a + b\n", "    # the same sum, written another way\n    return b + a\n"
)


@pytest.fixture
def redun(invoke, tmp_path: Path, workdir: Path):
    """``redun -c <fresh config> ARGS...``."""
    config = tmp_path / ".redun"

    def run(*args: object):
        return invoke("-c", str(config), *map(str, args))

    return run


@pytest.fixture
def run_wf(redun, write_workflow):
    path = write_workflow(WORKFLOW)

    def run(*args: object, workflow: Path | None = None) -> None:
        result = redun("run", workflow or path, "main", *args)
        assert result.exit_code == 0, result.output

    return run


def diff_json(redun, a: str, b: str) -> dict:
    result = redun("diff", a, b, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_diff_reports_changed_arguments_and_results(redun, run_wf) -> None:
    run_wf("--x", "1")
    run_wf("--x", "2")

    result = redun("diff", "~2", "-")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("--- Exec ") and lines[0].endswith("main --x 1")
    assert lines[1].startswith("+++ Exec ") and lines[1].endswith("main --x 2")
    text = result.stdout
    assert "~ difftest.main  (Job " in text
    assert "    x:      1 -> 2\n    result: [3, 22, 4] -> [4, 24, 4]" in text
    assert "~ difftest.main > difftest.add[0]" in text and "    a:      1 -> 2" in text
    assert "~ difftest.main > difftest.add[1]" in text and "    result: 11 -> 12" in text
    assert "    x:      11 -> 12" in text
    assert text.count("~ difftest.main > difftest.double[") == 1  # double(y): the same call
    assert lines[-1] == ("4 changed, 0 added, 0 removed call(s); 0 task(s) with changed code.")

    report = diff_json(redun, "~2", "-")
    assert report["identical"] is False
    assert report["counts"] == {"changed": 4, "added": 0, "removed": 0}
    root = report["changes"][0]
    assert root["path"] == ["difftest.main"]
    assert root["args"] == [{"name": "x", "before": "1", "after": "2"}]
    assert root["result"] == {"before": "[3, 22, 4]", "after": "[4, 24, 4]"}
    assert root["before"]["job_id"] == report["before"]["root_job_id"]
    assert report["code"] == []

    # Job ids compare the two jobs' subtrees: here the same as the executions.
    by_job = diff_json(redun, report["before"]["root_job_id"][:10], report["after"]["root_job_id"])
    assert by_job["changes"] == report["changes"]


def test_diff_reports_added_and_removed_calls(redun, run_wf) -> None:
    run_wf("--n", "3")
    run_wf("--n", "2")
    report = diff_json(redun, "~2", "~1")
    assert report["counts"] == {"changed": 1, "added": 0, "removed": 1}
    changed, removed = report["changes"]
    assert changed["path"] == ["difftest.main"] and changed["args"] == [
        {"name": "n", "before": "3", "after": "2"}
    ]
    # The other four add() calls pair up with their equals; add(2, 2) is left over.
    assert removed["kind"] == "removed" and removed["after"] is None
    assert removed["call"] == "difftest.add(2, 2)"
    assert removed["path"][0] == "difftest.main" and removed["path"][1].startswith("difftest.add[")

    text = redun("diff", "~1", "~2").stdout
    assert f"+ difftest.main > {removed['path'][1]}  Job " in text
    assert text.rstrip().endswith(
        "1 changed, 1 added, 0 removed call(s); 0 task(s) with changed code."
    )


def test_diff_shows_task_code_changes(redun, run_wf, write_workflow) -> None:
    run_wf()
    run_wf(workflow=write_workflow(EDITED))

    result = redun("diff", "~2", "-")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "~ difftest.main > difftest.add[0]" in text
    assert "~ difftest.main > difftest.add[1]" in text
    assert "    code:   " in text and "(see below)" in text
    assert "Task code changes:" in text
    for line in (
        "    -    return a + b",
        "    +    # the same sum, written another way",
        "    +    return b + a",
        "     def add(a: int, b: int) -> int:",
    ):
        assert line in text.splitlines()
    assert "difftest.main  (" not in text  # main's code, arguments and result are unchanged

    report = diff_json(redun, "~2", "-")
    assert report["counts"] == {"changed": 2, "added": 0, "removed": 0}
    assert all(c["code_changed"] and not c["args"] and not c["result"] for c in report["changes"])
    [code] = report["code"]
    assert code["task_name"] == "difftest.add" and code["before_hash"] != code["after_hash"]
    assert "-    return a + b\n+    # the same sum" in code["diff"]


def test_identical_executions_have_no_differences(redun, run_wf) -> None:
    run_wf("--x", "5")
    run_wf("--x", "5")  # all cached: the same call tree
    result = redun("diff", "~2", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "No differences: the two call trees match."
    report = diff_json(redun, "-", "~2")
    assert report["identical"] is True and report["changes"] == [] and report["same_calls"] == 1


def test_diff_of_different_root_tasks(redun, write_workflow) -> None:
    path = write_workflow(WORKFLOW + "\n\n@task\ndef other() -> int:\n    return add(1, 1)\n")
    assert redun("run", path, "main").exit_code == 0
    assert redun("run", path, "other").exit_code == 0
    report = diff_json(redun, "~2", "-")
    assert [(c["kind"], c["path"]) for c in report["changes"]] == [
        ("removed", ["difftest.main"]),
        ("added", ["difftest.other"]),
    ]


def test_bad_execution_ids_are_one_line_errors(redun, write_workflow) -> None:
    path = write_workflow(WORKFLOW)
    for suffix in ("1", "2"):
        execution_id = f"abcd0000-0000-4000-8000-00000000000{suffix}"
        result = redun("run", "--execution-id", execution_id, path, "main")
        assert result.exit_code == 0, result.output

    cases = {
        ("abcd0000", "-"): "execution id prefix 'abcd0000' is ambiguous",
        ("ffff", "-"): "no execution or job has an id starting with 'ffff'",
        ("-", "~3"): "'~3': the redun database has only 2 execution(s)",
        ("~0", "-"): "~N counts from 1",
        ("-", "not/an/id"): "'not/an/id' is not a valid execution or job id",
    }
    for (a, b), message in cases.items():
        result = redun("diff", a, b)
        assert result.exit_code == 1, (a, b, result.output)
        assert result.output.count("\n") == 1 and message in result.output, result.output
    assert (
        redun(
            "diff", "abcd0000-0000-4000-8000-000000000001", "abcd0000-0000-4000-8000-000000000002"
        ).exit_code
        == 0
    )


def test_diff_on_a_redun_0_44_record(redun, tmp_path: Path) -> None:
    config = tmp_path / ".redun"
    config.mkdir()
    with gzip.open(DATA / "redun_0_44_1_hello_world.db.gz") as src:
        (config / "redun.db").write_bytes(src.read())
    result = redun("diff", "d63d7b64", "d2c079fd")
    assert result.exit_code == 0, result.output
    assert "~ hello_world.main > hello_world.greeter  (Job 71a4cea0 -> Job 4e29f918)" in (
        result.stdout
    )
    assert "    greet:  'Hello' -> 'Hi'" in result.stdout
    assert "    result: 'Hello, World!' -> 'Hi, World!'" in result.stdout
