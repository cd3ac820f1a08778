"""`redun run FILE TASK [--arg value ...]`: finding the task, typed arguments, errors, running."""

from __future__ import annotations

import ast
import json
import sqlite3
import uuid
from pathlib import Path

import pytest

TYPES_WORKFLOW = """
import enum
from typing import List, Literal, Optional

from redun import task
from redun.file import Dir, File

redun_namespace = "cli_args"


class Color(enum.Enum):
    red = 1
    green = 2


def describe(value):
    if isinstance(value, (File, Dir)):
        return [type(value).__name__, value.path]
    if isinstance(value, enum.Enum):
        return ["Enum", value.name]
    return [type(value).__name__, value]


@task
def kinds(
    n: int = 1,
    x: float = 0.5,
    flag: bool = False,
    ys: List[int] = [],
    zs: tuple[float, ...] = (),
    color: Color = Color.red,
    f: Optional[File] = None,
    d: Dir = Dir("data"),
    opt: Optional[int] = None,
    mode: Literal["fast", "slow"] = "fast",
    untyped="u",
    my_name: str = "s",
):
    \"\"\"Echo every argument with its type.\"\"\"
    return {k: describe(v) for k, v in locals().items()}


@task
def needs(a: int, b: list[str]):
    return [a, b]


@task
def pos_only(a: int, /, b: int = 2):
    return [a, b]
"""


@pytest.fixture
def types_wf(write_workflow) -> Path:
    return write_workflow(TYPES_WORKFLOW)


@pytest.fixture
def run_cli(invoke, shared_config: Path, workdir: Path):
    """``redun -c <shared config> run ...``."""

    def run(*args: str):
        return invoke("-c", str(shared_config), "run", *map(str, args))

    return run


def result_of(result) -> object:
    assert result.exit_code == 0, result.stderr
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def test_defaults_are_the_signature_defaults(run_cli, types_wf: Path) -> None:
    assert result_of(run_cli(types_wf, "kinds")) == {
        "n": ["int", 1],
        "x": ["float", 0.5],
        "flag": ["bool", False],
        "ys": ["list", []],
        "zs": ["tuple", ()],
        "color": ["Enum", "red"],
        "f": ["NoneType", None],
        "d": ["Dir", "data"],
        "opt": ["NoneType", None],
        "mode": ["str", "fast"],
        "untyped": ["str", "u"],
        "my_name": ["str", "s"],
    }


def test_every_type_is_converted(run_cli, types_wf: Path) -> None:
    args = ["--n", "3", "--x", "2.5", "--flag", "--ys", "1", "--ys", "2", "--zs", "1.5"]
    args += ["--color", "green", "--f", "in.txt", "--d", "out", "--opt", "7"]
    args += ["--mode", "slow", "--untyped", "5", "--my-name", "hi"]
    assert result_of(run_cli(types_wf, "kinds", *args)) == {
        "n": ["int", 3],
        "x": ["float", 2.5],
        "flag": ["bool", True],
        "ys": ["list", [1, 2]],
        "zs": ["tuple", (1.5,)],
        "color": ["Enum", "green"],
        "f": ["File", "in.txt"],
        "d": ["Dir", "out"],
        "opt": ["int", 7],
        "mode": ["str", "slow"],
        "untyped": ["str", "5"],
        "my_name": ["str", "hi"],
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--flag"], True),
        (["--flag", "true"], True),
        (["--flag", "False"], False),
        (["--flag=yes"], True),
        (["--no-flag"], False),
        (["--flag", "--n", "2"], True),
    ],
)
def test_bool_forms(run_cli, types_wf: Path, args: list[str], expected: bool) -> None:
    assert result_of(run_cli(types_wf, "kinds", *args))["flag"] == ["bool", expected]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--ys", "1", "2", "3"], [1, 2, 3]),
        (["--ys", "1", "--ys", "2"], [1, 2]),
        (["--ys", "-1", "-2", "--n", "4"], [-1, -2]),
        (["--ys=5", "6"], [5, 6]),
    ],
)
def test_list_forms(run_cli, types_wf: Path, args: list[str], expected: list[int]) -> None:
    assert result_of(run_cli(types_wf, "kinds", *args))["ys"] == ["list", expected]


def test_enum_accepts_qualified_name_and_underscore_option(run_cli, types_wf: Path) -> None:
    value = result_of(run_cli(types_wf, "kinds", "--color", "Color.green", "--my_name", "x"))
    assert value["color"] == ["Enum", "green"] and value["my_name"] == ["str", "x"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--n", "abc"], "Invalid value for '--n': 'abc' is not a valid integer"),
        (["--x", "1.2.3"], "Invalid value for '--x'"),
        (["--flag", "maybe"], "Invalid value for '--flag'"),
        (["--color", "blue"], "'blue' is not one of 'red', 'green'"),
        (["--mode", "medium"], "'medium' is not one of 'fast', 'slow'"),
        (["--nope", "1"], "No such option '--nope'"),
    ],
)
def test_bad_values_are_usage_errors(run_cli, types_wf: Path, args: list[str], words: str) -> None:
    result = run_cli(types_wf, "kinds", *args)
    assert result.exit_code == 2
    assert words in result.stderr
    assert f"Usage: redun run {types_wf} kinds [OPTIONS]" in " ".join(result.stderr.split())


def test_missing_required_argument_names_the_option(run_cli, types_wf: Path) -> None:
    result = run_cli(types_wf, "needs", "--a", "1")
    assert result.exit_code == 2
    assert "Missing option '--b'" in result.stderr
    assert result_of(run_cli(types_wf, "needs", "--a", "1", "--b", "x", "y")) == [1, ["x", "y"]]


def test_positional_only_parameters(run_cli, types_wf: Path) -> None:
    assert result_of(run_cli(types_wf, "pos_only", "--a", "5")) == [5, 2]


def test_help_lists_tasks(run_cli, types_wf: Path, workdir: Path) -> None:
    result = run_cli(types_wf, "help")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Tasks available:"
    names = [line.split()[0] for line in lines[1:]]
    assert {"cli_args.kinds", "cli_args.needs", "cli_args.pos_only"} <= set(names)
    assert "cli_args.kinds Echo every argument with its type." in [
        " ".join(x.split()) for x in lines
    ]


@pytest.mark.parametrize("help_arg", ["--help", "help"])
def test_task_help_lists_options(run_cli, types_wf: Path, help_arg: str) -> None:
    result = run_cli(types_wf, "kinds", help_arg)
    assert result.exit_code == 0
    assert f"Usage: redun run {types_wf} kinds [OPTIONS]" in " ".join(result.stdout.split())
    assert "Echo every argument with its type." in result.stdout
    for option in ("--n INTEGER", "--x FLOAT", "--flag [true|false]", "--ys INTEGER"):
        assert option in result.stdout
    assert "--color [red|green]" in result.stdout and "[default: red]" in result.stdout
    assert "--my-name, --my_name TEXT" in result.stdout


def test_unknown_task_is_one_line_listing_tasks(run_cli, types_wf: Path) -> None:
    result = run_cli(types_wf, "nope")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"redun: error: unknown task 'nope' in {types_wf}; available")
    assert "cli_args.kinds" in result.stderr


def test_task_found_by_full_name_and_by_short_name(run_cli, write_workflow) -> None:
    path = write_workflow(
        """
        from redun import task

        redun_namespace = "cli_lookup"

        @task
        def main():
            return "module namespace"

        @task(namespace="cli_lookup.other")
        def special():
            return "explicit namespace"
        """
    )
    assert result_of(run_cli(path, "main")) == "module namespace"
    assert result_of(run_cli(path, "cli_lookup.main")) == "module namespace"
    assert result_of(run_cli(path, "special")) == "explicit namespace"
    assert result_of(run_cli(path, "cli_lookup.other.special")) == "explicit namespace"


def test_ambiguous_short_name(run_cli, write_workflow) -> None:
    path = write_workflow(
        """
        from redun import task

        @task(namespace="cli_amb_a")
        def step():
            return 1

        @task(namespace="cli_amb_b")
        def step():
            return 2
        """
    )
    result = run_cli(path, "step")
    assert result.exit_code == 2
    assert "task name 'step' is ambiguous" in result.stderr
    assert "cli_amb_a.step, cli_amb_b.step" in result.stderr


def test_missing_file(run_cli, workdir: Path) -> None:
    result = run_cli("no_such_workflow.py", "main")
    assert result.exit_code == 2
    assert result.stderr == (
        "redun: error: cannot find workflow file 'no_such_workflow.py'; check the path\n"
    )
    assert run_cli("no_such_pkg.workflow", "main").stderr.startswith(
        "redun: error: cannot find workflow file or module 'no_such_pkg.workflow'"
    )


@pytest.mark.parametrize(
    ("source", "last"),
    [
        ("import redun_no_such_module_xyz\n", "ModuleNotFoundError: No module named"),
        ("def broken(:\n    pass\n", "SyntaxError: invalid syntax"),
    ],
)
def test_import_errors_are_one_line(run_cli, write_workflow, source: str, last: str) -> None:
    path = write_workflow(source)
    result = run_cli(path, "main")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"redun: error: cannot import {path}: {last}")
    assert result.stderr.count("\n") == 1


def test_exception_at_import_shows_only_the_users_frames(run_cli, write_workflow) -> None:
    path = write_workflow(
        """
        def setup():
            raise ValueError("bad setting")

        setup()
        """
    )
    result = run_cli(path, "main")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad setting"
    files = [line.split('"')[1] for line in lines if line.startswith('  File "')]
    assert files == [str(path), str(path)]


FAILING_WORKFLOW = """
from redun import task

redun_namespace = "cli_fail"

def helper(x):
    raise ZeroDivisionError(f"cannot divide {x}")

@task
def main(x: int = 1):
    return helper(x)
"""


def test_task_failure_prints_user_traceback(run_cli, write_workflow) -> None:
    path = write_workflow(FAILING_WORKFLOW)
    result = run_cli(path, "main", "--x", "3")
    assert result.exit_code == 1
    assert result.stdout == ""
    tail = result.stderr[result.stderr.index("Traceback (most recent call last):") :]
    assert tail.splitlines()[-2] == "ZeroDivisionError: cannot divide 3"
    # The last line names the task that raised it.
    assert tail.splitlines()[-1] == (
        "redun: error: task cli_fail.main failed: ZeroDivisionError: cannot divide 3"
    )
    files = [line.split('"')[1] for line in tail.splitlines() if line.startswith('  File "')]
    assert files == [str(path), str(path)]


def test_process_worker_failure_prints_only_user_frames(invoke, write_workflow, tmp_path) -> None:
    config = tmp_path / "proc-config"
    config.mkdir()
    (config / "redun.ini").write_text("[executors.default]\ntype = local\nmode = process\n")
    path = write_workflow(FAILING_WORKFLOW)
    result = invoke("-c", str(config), "run", str(path), "main", "--x", "4")
    assert result.exit_code == 1
    tail = result.stderr[result.stderr.index("Traceback (most recent call last):") :]
    lines = tail.splitlines()
    files = [line.split('"')[1] for line in lines if line.startswith('  File "')]
    assert files == [str(path), str(path)]  # no concurrent.futures or redun frames
    assert lines[-2:] == [
        "ZeroDivisionError: cannot divide 4",
        "redun: error: task cli_fail.main failed: ZeroDivisionError: cannot divide 4",
    ]


def test_run_records_tags_execution_id_and_argv(
    run_cli, write_workflow, shared_config: Path
) -> None:
    path = write_workflow(
        """
        from redun import task

        redun_namespace = "cli_record"

        @task
        def main(name: str = "World"):
            return f"Hello, {name}!"
        """
    )
    execution_id = str(uuid.uuid4())
    result = run_cli(
        "-t", "env=prod", "-t", "n=3", "--execution-id", execution_id, path, "main", "--name", "X"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "'Hello, X!'\n"
    assert "[redun] " in result.stderr
    with sqlite3.connect(shared_config / "redun.db") as conn:
        (args,) = conn.execute(
            "SELECT args FROM execution WHERE id = ?", (execution_id,)
        ).fetchone()
        tags = dict(conn.execute("SELECT key, value FROM tag").fetchall())
    assert json.loads(args) == [
        "redun", "-c", str(shared_config), "run", "-t", "env=prod", "-t", "n=3",
        "--execution-id", execution_id, str(path), "main", "--name", "X",
    ]  # fmt: skip
    assert json.loads(tags["env"]) == "prod" and json.loads(tags["n"]) == 3


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-t", "novalue"], "'novalue' is not key=value"),
        (["--execution-id", "not-a-uuid"], "'not-a-uuid' is not a UUID"),
    ],
)
def test_bad_run_options(run_cli, types_wf: Path, args: list[str], words: str) -> None:
    result = run_cli(*args, types_wf, "kinds")
    assert result.exit_code == 2
    assert words in result.stderr


def test_no_cache_and_dryrun(run_cli, write_workflow, tmp_path: Path) -> None:
    counter = tmp_path / "calls.txt"
    path = write_workflow(
        f"""
        from redun import task

        redun_namespace = "cli_cache"

        @task
        def main():
            with open({str(counter)!r}, "a") as out:
                out.write("x")
            return "done"
        """
    )
    assert result_of(run_cli(path, "main")) == "done"
    assert result_of(run_cli(path, "main")) == "done"
    assert counter.read_text() == "x"
    assert result_of(run_cli("--no-cache", path, "main")) == "done"
    assert counter.read_text() == "xx"
    counter.unlink()
    other = write_workflow(path.read_text().replace('"done"', '"changed"'))
    dry = run_cli("--dryrun", other, "main")
    assert dry.exit_code == 0 and not counter.exists()


def test_config_errors_are_one_line(invoke, write_workflow, workdir: Path) -> None:
    path = write_workflow(FAILING_WORKFLOW)
    config_dir = workdir / ".redun"
    config_dir.mkdir()
    (config_dir / "redun.ini").write_text("[backend]\ndb_uri = sqlite:///r.db\n[backend\n")
    result = invoke("run", str(path), "main")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"redun: error: {config_dir / 'redun.ini'}, line 3: cannot parse '[backend'; "
        "expected 'key = value'\n"
    )


def test_unknown_executor_type_is_one_line(invoke, write_workflow, workdir: Path) -> None:
    path = write_workflow(FAILING_WORKFLOW)
    config_dir = workdir / ".redun"
    config_dir.mkdir()
    (config_dir / "redun.ini").write_text("[executors.default]\ntype = no_such_type\n")
    result = invoke("run", str(path), "main")
    assert result.exit_code == 1
    error_lines = [line for line in result.stderr.splitlines() if not line.startswith("[redun]")]
    assert len(error_lines) == 1
    assert error_lines[0].startswith("redun: error: ") and "no_such_type" in error_lines[0]


def test_string_annotations_and_optional_lists(run_cli, write_workflow) -> None:
    path = write_workflow(
        """
        from __future__ import annotations

        from redun import task

        redun_namespace = "cli_future"

        @task
        def main(xs: list[int] | None = None, on: bool = True, label: str | None = None):
            return [xs, on, label]
        """
    )
    assert result_of(run_cli(path, "main")) == [None, True, None]
    assert result_of(run_cli(path, "main", "--xs", "1", "2", "--no-on", "--label", "a")) == [
        [1, 2],
        False,
        "a",
    ]
