"""`redun tag list|add|update|rm`: tags written by runs, edits recorded as redun 0.44.1 does."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pytest

from redun.hashing import hash_tag

DATA = Path(__file__).resolve().parents[2] / "data"

WORKFLOW = """
from redun import apply_tags, task

redun_namespace = "tagtest"


@task(tags=[("team", "core")])
def add(a: int, b: int) -> int:
    return a + b


@task
def main(x: int = 1) -> int:
    return apply_tags(
        add(x, 2),
        tags=[("kind", "sum")],
        job_tags=[("stage", "final")],
        execution_tags=[("proj", "p1")],
    )
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / ".redun"


@pytest.fixture
def redun(invoke, config: Path, workdir: Path):
    def run(*args: object):
        return invoke("-c", str(config), *map(str, args))

    return run


def tag_rows(config: Path, entity_id: str) -> tuple[dict[str, tuple], set[tuple[str, str]]]:
    """Tag rows of one entity by hash (key, JSON value, is_current), and every tag edit."""
    with sqlite3.connect(config / "redun.db") as conn:
        rows = conn.execute(
            "SELECT tag_hash, key, value, is_current FROM tag WHERE entity_id = ?", (entity_id,)
        ).fetchall()
        edits = set(conn.execute("SELECT parent_id, child_id FROM tag_edit").fetchall())
    return {row[0]: (row[1], row[2], bool(row[3])) for row in rows}, edits


def test_tags_written_by_a_run_are_listed(redun, write_workflow) -> None:
    result = redun("run", "-t", "env=dev", write_workflow(WORKFLOW), "main", "--x", "3")
    assert result.exit_code == 0, result.output

    summary = redun("tag", "list").stdout.splitlines()
    assert summary[0] == "Tags:"
    for line in (
        "  env        (1 Execution)",
        "  kind       (1 Value)",
        "  proj       (1 Execution)",
        "  stage      (1 Job)",
        "  team       (1 Job, 1 Task)",
    ):
        assert line in summary
    values = redun("tag", "list", "--values").stdout.splitlines()
    assert "  env=dev                        (1 Execution)" in values
    assert "  team=core                      (1 Job, 1 Task)" in values

    execs = redun("tag", "list", "env=dev").stdout.splitlines()
    assert len(execs) == 1 and execs[0].startswith("Exec ")
    assert "main --x 3 (env=dev, proj=p1, project=tagtest, " in execs[0]
    team = redun("tag", "list", "team").stdout.splitlines()
    assert team[0].startswith("Job ") and team[0].endswith(":  tagtest.add(3, 2) (team=core)")
    assert team[1].startswith("Task ") and team[1].endswith(" tagtest.add (team=core)")
    assert redun("tag", "list", "--job", "team").stdout.splitlines() == team[:1]
    assert redun("tag", "list", "--task", "--exec", "team").stdout.splitlines() == team[1:]
    value = redun("tag", "list", "kind=sum").stdout.splitlines()
    assert len(value) == 1 and value[0].endswith(" builtins.int 5 (kind=sum)")
    assert redun("tag", "list", "env=prod").stdout == "\n"
    assert redun("tag", "list", "env=dev", "team").stdout == "\n"  # no record has both
    assert redun("tag", "list", "--values", "team").stdout.splitlines() == [
        "Tags:",
        "  team=core                      (1 Job, 1 Task)",
    ]


def test_tag_edits_supersede_and_remove(redun, write_workflow, config: Path) -> None:
    execution_id = "5eed0000-0000-4000-8000-000000000001"
    result = redun("run", "--execution-id", execution_id, write_workflow(WORKFLOW), "main")
    assert result.exit_code == 0, result.output
    rows, _ = tag_rows(config, execution_id)
    proj = next(h for h, (key, _, _) in rows.items() if key == "proj")

    result = redun("tag", "update", "5eed", "proj=p2")
    assert result.exit_code == 0, result.output
    assert result.stdout == f'update tag Execution:{execution_id} proj="p2"\n'
    p2 = hash_tag(execution_id, "proj", "p2", [proj])
    rows, edits = tag_rows(config, execution_id)
    assert rows[proj] == ("proj", '"p1"', False) and rows[p2] == ("proj", '"p2"', True)
    assert (proj, p2) in edits

    result = redun("tag", "add", "5eed", "color=red", "n=3", "color=blue")
    assert result.stdout == f'add tag Execution:{execution_id} color="red" n=3 color="blue"\n'
    red, blue = hash_tag(execution_id, "color", "red"), hash_tag(execution_id, "color", "blue")
    assert rows.keys() < tag_rows(config, execution_id)[0].keys()
    assert "(color=blue, color=red" not in redun("tag", "list", "color").stdout  # one per key
    assert redun("tag", "list", "--values", "color").stdout.splitlines()[1:] == [
        "  color=blue                     (1 Execution)",
        "  color=red                      (1 Execution)",
    ]
    assert "already has these tags" in redun("tag", "add", "5eed", "color=red").stdout

    result = redun("tag", "rm", "5eed", "color=red")
    assert result.stdout == f'delete tag Execution:{execution_id} color="red"\n'
    marker = hash_tag("", "", None, [red])
    rows, edits = tag_rows(config, execution_id)
    assert rows[red] == ("color", '"red"', False) and rows[blue][2] is True
    assert (red, marker) in edits
    with sqlite3.connect(config / "redun.db") as conn:
        null_row = conn.execute(
            "SELECT entity_type, entity_id, key, value, is_current FROM tag WHERE tag_hash = ?",
            (marker,),
        ).fetchone()
    assert null_row == ("Null", "", "", "null", 1)

    redun("tag", "add", "5eed", "color=red")  # re-added: the removed tag is its parent
    red_again = hash_tag(execution_id, "color", "red", [red])
    rows, edits = tag_rows(config, execution_id)
    assert rows[red_again] == ("color", '"red"', True) and (red, red_again) in edits

    result = redun("tag", "rm", "5eed", "color")  # a key alone: every value
    assert result.exit_code == 0, result.output
    rows, _ = tag_rows(config, execution_id)
    assert not any(current for key, _, current in rows.values() if key == "color")
    assert "color" not in redun("tag", "list").stdout


def test_tag_errors_are_one_line(redun, write_workflow) -> None:
    execution_id = "5eed0000-0000-4000-8000-000000000002"
    assert (
        redun("run", "--execution-id", execution_id, write_workflow(WORKFLOW), "main").exit_code
        == 0
    )
    cases = [
        (
            ("add", "ffff", "k=v"),
            1,
            "no execution, job, call node, task or value has an id starting with 'ffff'",
        ),
        (("add", "5eed", "k"), 2, "tag 'k' has no value; write k=VALUE"),
        (("add", "5eed", "=v"), 2, "tag '=v' has no key"),
        (("rm", "5eed", "nope"), 1, f"Execution {execution_id} has no tag nope; nothing removed"),
        (("rm", "5eed", "proj=p9"), 1, "has no tag proj=p9"),
        (
            ("add", "5e/d", "k=v"),
            1,
            "'5e/d' is not a valid execution, job, call node, task or value id",
        ),
    ]
    for args, code, message in cases:
        result = redun("tag", *args)
        assert result.exit_code == code, (args, result.output)
        assert message in result.output, result.output
        if code == 1:
            assert result.output.count("\n") == 1, result.output
    rows = redun("tag", "list", "--values", "proj").stdout
    assert "proj=p1" in rows  # the failed rm changed nothing


# What redun 0.44.1 leaves in its hello-world record after
#   tag update d63d7b64 project=renamed; tag add d63d7b64 color=red color=blue;
#   tag rm d63d7b64 color=red; tag add d63d7b64 color=red; tag rm d63d7b64 color=red color=blue
# (observed by running redun 0.44.1 on a copy of tests/data/redun_0_44_1_hello_world.db.gz).
HELLO_EXEC = "d63d7b64-8b77-436c-9f68-e06fcceb09f8"
EXPECTED_0_44_TAGS = {
    "0f23755a6c86d9f75cdea1f4644c1e698fea5744": ("color", '"red"', False),
    "3a0580db255f8ec35be117deb5f9295b73ee1444": ("color", '"blue"', False),
    "551499d342c8cabbb9dacfd6c9dd79c111c7222b": ("project", '"renamed"', True),
    "7df11e0bc303692e38f1c98c34a032173daa8197": ("project", '"hello_world"', False),
    "80f6090514c1fee4eea80dd08ab2d5401c799df2": ("user", '"root"', True),
    "812d32e1034c65e4f9971d1718b6ec1d57f9c68f": ("color", '"red"', False),
    "eebe4ce11fc41bb413a71c09a31411dc25af23d6": ("redun.version", '"0.44.1"', True),
}
EXPECTED_0_44_EDITS = {
    ("0f23755a6c86d9f75cdea1f4644c1e698fea5744", "3bcb1157a5b9774e62a247f72bf14e5454fd89e5"),
    ("0f23755a6c86d9f75cdea1f4644c1e698fea5744", "812d32e1034c65e4f9971d1718b6ec1d57f9c68f"),
    ("3a0580db255f8ec35be117deb5f9295b73ee1444", "a866872109194afca4e690826a29181f15506107"),
    ("7df11e0bc303692e38f1c98c34a032173daa8197", "551499d342c8cabbb9dacfd6c9dd79c111c7222b"),
    ("812d32e1034c65e4f9971d1718b6ec1d57f9c68f", "a866872109194afca4e690826a29181f15506107"),
}


def test_redun_0_44_record_lists_and_edits_like_redun_0_44(redun, config: Path) -> None:
    config.mkdir()
    with gzip.open(DATA / "redun_0_44_1_hello_world.db.gz") as src:
        (config / "redun.db").write_bytes(src.read())

    assert redun("tag", "list", "--values").stdout.splitlines() == [
        "Tags:",
        "  project=hello_world            (2 Execution)",
        "  redun.version=0.44.1           (2 Execution)",
        "  user=root                      (2 Execution)",
    ]
    listed = redun("tag", "list", "project=hello_world").stdout.splitlines()
    assert [line[:13] for line in listed] == ["Exec d2c079fd", "Exec d63d7b64"]
    assert listed[1].endswith(
        ":  run hello_world.py main (project=hello_world, redun.version=0.44.1, user=root)"
    )

    for args in (
        ("update", "d63d7b64", "project=renamed"),
        ("add", "d63d7b64", "color=red", "color=blue"),
        ("rm", "d63d7b64", "color=red"),
        ("add", "d63d7b64", "color=red"),
        ("rm", "d63d7b64", "color=red", "color=blue"),
    ):
        result = redun("tag", *args)
        assert result.exit_code == 0, result.output
    rows, edits = tag_rows(config, HELLO_EXEC)
    assert rows == EXPECTED_0_44_TAGS
    assert edits == EXPECTED_0_44_EDITS
    assert "project=renamed" in redun("tag", "list", "--values").stdout


@pytest.fixture
def pg_config(pg_uri: str, tmp_path: Path) -> Path:
    """A config dir whose record is a new PostgreSQL database."""
    config = tmp_path / "pg" / ".redun"
    config.mkdir(parents=True)
    (config / "redun.ini").write_text(f"[backend]\ndb_uri = {pg_uri}\n")
    return config


def test_tag_edits_on_postgres(invoke, pg_config: Path, write_workflow, workdir: Path) -> None:
    def redun(*args: str):
        return invoke("-c", str(pg_config), *args)

    execution_id = "5eed0000-0000-4000-8000-000000000003"
    result = redun("run", "--execution-id", execution_id, str(write_workflow(WORKFLOW)), "main")
    assert result.exit_code == 0, result.output
    for args in (
        ("update", "5eed", "proj=p2"),
        ("add", "5eed", "color=red"),
        ("rm", "5eed", "color"),
    ):
        result = redun("tag", *args)
        assert result.exit_code == 0, result.output
    values = redun("tag", "list", "--values").stdout
    assert "proj=p2" in values and "proj=p1" not in values and "color" not in values
    assert redun("tag", "list", "team").stdout.count("tagtest.add") == 2
