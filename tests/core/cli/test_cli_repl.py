"""`redun repl`: a Python console on the record, driven here through a pipe."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"

WORKFLOW = """
from redun import task
from redun.file import File

redun_namespace = "repltest"


@task
def write(path: str, text: str) -> File:
    file = File(path)
    file.write(text)
    return file


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def main(x: int = 1) -> list:
    return [add(x, 2), write("out.txt", "hi")]
"""


@pytest.fixture
def redun(invoke, tmp_path: Path, workdir: Path):
    config = tmp_path / ".redun"

    def run(*args: str, input: str | None = None):
        return invoke("-c", str(config), *args, input=input)

    return run


def test_repl_runs_piped_statements_with_the_helpers(redun, write_workflow) -> None:
    assert redun("run", str(write_workflow(WORKFLOW)), "main", "--x", "4").exit_code == 0
    script = "\n".join(
        [
            "len(executions())",
            "execution('-').args[-3:]",
            "[job.task_name for job in jobs('repltest.add')]",
            "add_job = jobs('add')[0]",
            "node = call_node(add_job.call_hash[:12])",
            "[(arg.position, arg.preview) for arg in node.args]",
            "value(node.value_hash)",
            "f = value(call_node(jobs('write')[0].call_hash).value_hash)",
            "type(f).__name__, f.path.endswith('out.txt'), f.read()",
            "'def add(a: int, b: int)' in tasks('add')[0].source",
            "session.query(Job).count(), conn.execute(select(Execution.id)).all() != []",
            "sql('select count(*) from task where namespace = :ns', ns='repltest')[0][0]",
            "for job in jobs(execution='-'):",
            "    print('job', job.task_name)",
            "",
            "log('-')",
            "sorted(t.key for t in tags(execution('-').id))",
            "if True:",
            "    print('last block runs')",  # no blank line after it: the input just ends
        ]
    )
    result = redun("repl", input=script + "\n")
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[:8] == [
        "1",
        "['main', '--x', '4']",
        "['repltest.add']",
        "[(0, '4'), (1, '2')]",
        "6",
        "('File', True, 'hi')",
        "True",
        "(3, True)",
    ]
    assert out[8] == "3"
    assert sorted(out[9:12]) == ["job repltest.add", "job repltest.main", "job repltest.write"]
    assert out[12].startswith("Exec ") and "main --x 4" in out[12]
    assert "['project', 'redun.version', 'user']" in out
    assert out[-1] == "last block runs"
    assert "redun repl: the record" in result.stderr
    for helper in ("executions(limit=20)", "jobs(task_name=None", "value(hash)", "session"):
        assert helper in result.stderr
    assert ">>>" not in result.output  # no prompts when reading a pipe


def test_repl_reports_errors_and_keeps_going(redun) -> None:
    result = redun("repl", input="1/0\nvalue('ffff')\nprint('still here')\n")
    assert result.exit_code == 1
    assert result.stdout == "still here\n"
    assert "ZeroDivisionError: division by zero" in result.stderr
    assert "LookupFailed: no value has an id starting with 'ffff'" in result.stderr


def test_repl_reads_a_redun_0_44_record(redun, tmp_path: Path) -> None:
    config = tmp_path / ".redun"
    config.mkdir()
    with gzip.open(DATA / "redun_0_44_1_hello_world.db.gz") as src:
        (config / "redun.db").write_bytes(src.read())
    script = (
        "sorted(value(call_node(j.call_hash).value_hash) for j in jobs('hello_world.main'))\n"
        "[t.fullname for t in tasks()]\n"
    )
    result = redun("repl", input=script)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "['Hello, World!', 'Hi, World!']",
        "['hello_world.get_planet', 'hello_world.greeter', 'hello_world.main']",
    ]
