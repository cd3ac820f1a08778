"""Context (get_context, --context), JobInfo, and tags (task, apply_tags, execution)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from redun import JobInfo, apply_tags, get_context, task
from redun.hashing import hash_struct, hash_tag
from redun.scheduler import SchedulerError
from redun.values import get_value_hash

CONTEXT_WORKFLOW = """
from redun import get_context, task

RAN = []

@task()
def leaf(x: int, scale: int = get_context("params.scale", 10)):
    RAN.append(("leaf", x, scale))
    return x * scale

@task()
def label(name: str = get_context("meta.name")):
    return name

@task()
def main(x: int = 2):
    RAN.append(("main", x))
    return [leaf(x), label()]
"""


def test_get_context_default_config_and_run_context(make_scheduler, write_module):
    module = write_module("ctx_wf", CONTEXT_WORKFLOW)
    assert make_scheduler().run(module.main()) == [20, None]  # defaults

    config = {"scheduler": {"context": '{"params": {"scale": 3}, "meta": {"name": "a"}}'}}
    module.RAN.clear()
    assert make_scheduler(**config).run(module.main()) == [6, "a"]
    # main is cached (its result is the same expression); only the reader re-runs.
    assert module.RAN == [("leaf", 2, 3)]

    # run(context=...) is merged over the configured context, key by key.
    module.RAN.clear()
    result = make_scheduler(**config).run(module.main(), context={"meta": {"name": "b"}})
    assert result == [6, "b"] and module.RAN == []

    # A context given as a dict (Scheduler(config=...)) works too.
    dict_config = {"scheduler": {"context": {"params": {"scale": 4}}}}
    assert make_scheduler(**dict_config).run(module.main()) == [8, None]


def test_context_file_and_bad_context_config(make_scheduler, write_module, tmp_path: Path):
    module = write_module("ctx_file_wf", CONTEXT_WORKFLOW)
    path = tmp_path / "context.json"
    path.write_text(json.dumps({"params": {"scale": 7}}))
    config = {"scheduler": {"context_file": str(path)}}
    assert make_scheduler(**config).run(module.main()) == [14, None]

    both = {"scheduler": {"context": "{}", "context_file": str(path)}}
    with pytest.raises(SchedulerError, match="both context and context_file"):
        make_scheduler(**both).run(module.main())
    broken = {"scheduler": {"context": "{params: 1"}}
    with pytest.raises(SchedulerError, match=r"\[scheduler\] context is not valid JSON"):
        make_scheduler(**broken).run(module.main())


def test_update_context_overrides_below_one_call(scheduler):
    @task(namespace="ctx_override")
    def reader(value: str = get_context("who", "nobody")):
        return value

    @task(namespace="ctx_override")
    def middle():
        return reader()

    @task(namespace="ctx_override")
    def top():
        return [reader(), middle.update_context(who="middle")(), middle()]

    assert scheduler.run(top(), context={"who": "root"}) == ["root", "middle", "root"]


def _redun(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "REDUN_CONFIG"}
    command = [sys.executable, "-m", "redun", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def test_cli_context_and_context_file(tmp_path: Path):
    (tmp_path / "ctx_cli.py").write_text(CONTEXT_WORKFLOW)
    first = _redun(tmp_path, "run", "ctx_cli.py", "main")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == "[20, None]"

    updated = _redun(
        tmp_path, "run", "--context", "params.scale=3", "--context", "meta.name=x", "ctx_cli.py",
        "main",
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.strip().splitlines()[-1] == "[6, 'x']"

    (tmp_path / "ctx.json").write_text('{"params": {"scale": 5}}')
    from_file = _redun(
        tmp_path, "run", "--context-file", "ctx.json", "--context", "meta.name=y", "ctx_cli.py",
        "main",
    )  # fmt: skip
    assert from_file.stdout.strip().splitlines()[-1] == "[10, 'y']", from_file.stderr

    bad = _redun(tmp_path, "run", "--context", "novalue", "ctx_cli.py", "main")
    assert bad.returncode == 2
    assert "context update 'novalue' is not KEY=VALUE" in bad.stderr


def test_job_info_is_filled_in_but_hashed_as_the_placeholder(scheduler, query):
    @task(namespace="jobinfo", memory=2)
    def who(x: int, job_info: JobInfo = JobInfo()):  # noqa: B008 (the documented form)
        return [job_info.job_id, job_info.eval_hash, job_info.args_hash, job_info.options]

    job_id, eval_hash, args_hash, options = scheduler.run(who(1))
    assert (eval_hash, args_hash) == query(
        "select eval_hash, args_hash from evaluation join task on task.hash = task_hash "
        "where task.namespace = 'jobinfo'"
    )[0]
    assert query("select count(*) from job where id = ?", job_id) == [(1,)]
    assert options["memory"] == 2
    # The call's argument is recorded as the placeholder the hash was computed from.
    placeholder = get_value_hash(JobInfo())
    assert query("select count(*) from argument where value_hash = ?", placeholder) == [(1,)]


def test_a_job_given_its_ids_finds_its_row_committed(scheduler, db_path):
    """It may hand its id to another process (a subrun does), whose rows name it as parent."""
    import sqlite3

    @task(namespace="jobinfo_row")
    def look(x: int, job_info: JobInfo = JobInfo()):  # noqa: B008 (the documented form)
        with sqlite3.connect(db_path) as conn:
            sql = "select count(*) from job where id = ?"
            return conn.execute(sql, (job_info.job_id,)).fetchone()[0]

    @task(namespace="jobinfo_row")
    def main():
        return [look(1), look(2)]

    assert scheduler.run(main()) == [1, 1]


def test_task_tags_apply_tags_and_execution_tags(make_scheduler, query):
    @task(namespace="tagged", tags=[("stage", "qc")])
    def measure(x: int):
        return apply_tags(x * 2, tags=[("kind", "measurement")], job_tags={"sample": x})

    @task(namespace="tagged")
    def main():
        return apply_tags([measure(1), measure(2)], execution_tags=[("release", "v1")])

    scheduler = make_scheduler(tags={"team": "bio"})
    assert scheduler.run(main(), tags=[("user_tag", "yes")]) == [2, 4]

    rows = query("select entity_type, entity_id, key, value, tag_hash from tag")
    by_type: dict[str, set] = {}
    for entity_type, _, key, value, _ in rows:
        by_type.setdefault(entity_type, set()).add((key, json.loads(value)))
    assert by_type["Task"] == {("stage", "qc")}
    assert by_type["Job"] == {("stage", "qc"), ("sample", 1), ("sample", 2)}
    assert by_type["Value"] == {("kind", "measurement")}
    assert {("release", "v1"), ("team", "bio"), ("user_tag", "yes")} <= by_type["Execution"]
    # Tags on values point at stored values; tag hashes follow redun 0.44.1's formula.
    value_ids = {entity_id for entity_type, entity_id, *_ in rows if entity_type == "Value"}
    assert value_ids == {get_value_hash(2), get_value_hash(4)}
    for value_hash in value_ids:
        assert query("select count(*) from value where value_hash = ?", value_hash) == [(1,)]
    for _, entity_id, key, value, digest in rows:
        assert digest == hash_tag(entity_id, key, json.loads(value))
    assert hash_tag("e1", "k", {"b": 1, "a": [1, 2]}) == hash_struct(
        ["Tag", "e1", "k", '{"a":[1,2],"b":1}', []]
    )


def test_cached_jobs_carry_their_tasks_tags(scheduler, query):
    @task(namespace="tagged_again", tags=[("stage", "qc")])
    def leaf(x: int):
        return x

    @task(namespace="tagged_again")
    def main():
        return [leaf(1), leaf(2)]

    assert scheduler.run(main()) == [1, 2]
    assert scheduler.run(main()) == [1, 2]  # both leaves from the cache
    leaf_jobs = query(
        "select job.id, job.cached from job join task on task.hash = job.task_hash "
        "where task.name = 'leaf'"
    )
    assert sorted(cached for _, cached in leaf_jobs) == [0, 0, 1, 1]
    tagged = query("select entity_id from tag where entity_type = 'Job' and key = 'stage'")
    assert sorted(job_id for (job_id,) in tagged) == sorted(job_id for job_id, _ in leaf_jobs)


def test_bad_tags_are_clear_errors(scheduler):
    @task(namespace="badtags")
    def main():
        return apply_tags(1, tags=["not-a-pair"])

    with pytest.raises(TypeError, match=r"apply_tags\(tags=...\) must be \(key, value\) pairs"):
        scheduler.run(main())
