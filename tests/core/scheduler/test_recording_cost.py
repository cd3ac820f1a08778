"""The record is written in batches: no commit per job, no job waiting on a commit."""

from __future__ import annotations

import sqlite3
import threading

from redun import task


@task(namespace="tests.cost")
def square(x):
    return x * x


@task(namespace="tests.cost")
def total(values):
    return sum(values)


@task(namespace="tests.cost")
def fan_out(n):
    return total([square(i) for i in range(n)])


def test_commits_are_far_fewer_than_jobs(scheduler, query):
    scheduler.load()
    assert scheduler.run(fan_out(500)) == sum(i * i for i in range(500))
    assert query("select count(*) from job") == [(502,)]
    assert query("select count(*) from call_node") == [(502,)]
    commits = scheduler.backend._writer.batches_written  # one transaction each
    assert 0 < commits < 502 / 5, f"{commits} commits for 502 jobs"


def test_jobs_do_not_wait_for_the_writer(scheduler, db_path, watch_writes):
    """Hold the database's write lock; the workflow still finishes its jobs meanwhile."""
    scheduler.load()
    writer_blocked = threading.Event()  # (a batch is on its way to the locked database)
    watch_writes(scheduler.backend, lambda table, rows: writer_blocked.set())
    blocker = sqlite3.connect(db_path)
    blocker.execute("BEGIN IMMEDIATE")  # the writer's first batch waits for this lock
    finished = []

    @task(namespace="tests.cost")
    def note(i):
        finished.append(i)
        return i

    def run():
        scheduler.run([note(i) for i in range(50)])

    runner = threading.Thread(target=run)
    runner.start()
    assert writer_blocked.wait(30)
    deadline = threading.Event()
    for _ in range(300):
        if len(finished) == 50:
            break
        deadline.wait(0.05)
    assert len(finished) == 50  # every job ran while the writer waited for the lock
    blocker.rollback()
    blocker.close()
    runner.join(30)
    assert not runner.is_alive()


def test_job_ids_are_uuids_in_order_with_distinct_prefixes(scheduler, query):
    """A run's job ids count up in their first 32 bits: appends to the id indexes."""
    import uuid

    scheduler.run(fan_out(300))
    ids = [row[0] for row in query("select id from job order by rowid")]
    assert len(ids) == 302 and all(uuid.UUID(i).version == 8 for i in ids)
    prefixes = [int(i[:8], 16) for i in ids]
    assert len(set(i[:8] for i in ids)) == 302  # the CLI's short ids stay unambiguous
    steps = [b - a for a, b in zip(prefixes, prefixes[1:])]
    assert sum(1 for step in steps if step > 0) >= 290  # (a wrap past 2**32, a late row)


def test_job_ids_take_a_new_random_part_after_2_32_ids_and_in_a_forked_child(monkeypatch):
    import os
    import uuid

    from redun.scheduler import job

    first = job.new_job_id()
    assert job.new_job_id()[8:] == first[8:]  # one random part, drawn once
    monkeypatch.setattr(job, "_end", 0)  # as if the count went round 2**32 ids
    redrawn = job.new_job_id()
    assert redrawn[8:] != first[8:] and uuid.UUID(redrawn).version == 8
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write_end, job.new_job_id().encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    childs = os.read(read_end, 100).decode()
    os.close(read_end)
    assert childs[8:] != job.new_job_id()[8:]


def test_short_jobs_are_written_once(scheduler, query):
    """A job that ends soon after it starts costs one insert, not an insert and an update."""
    scheduler.load()
    assert scheduler.run(fan_out(500)) == sum(i * i for i in range(500))
    assert query("select count(*) from job where end_time is not null") == [(502,)]
    committed = scheduler.backend._writer.rows_committed
    assert committed["job"] == 502
    assert committed["job_update"] <= 2, f"{committed['job_update']} job updates for 502 jobs"


def test_a_warm_run_writes_no_call_it_already_has(make_scheduler, query, watch_writes):
    """Cached calls (the fan-out's parent with its 200 edges too) are looked up, not rewritten."""
    make_scheduler().run(fan_out(200))
    calls = query("select count(*) from call_node")
    warm = make_scheduler()
    warm.load()
    written = watch_writes(warm.backend)
    assert warm.run(fan_out(200)) == sum(i * i for i in range(200))
    assert {kind for kind, _ in written} <= {"job", "job_end", "execution", "tag", "task", "value"}
    assert query("select count(*) from call_node") == calls
    assert query("select count(*) from job") == [(2 * 202,)]


def test_a_reused_leaf_call_the_record_lost_is_written_again(make_scheduler, query, db_path):
    """A leaf's call found with its evaluation is not written again; one that is missing
    (as after a crash between the two) is, arguments and all."""
    make_scheduler().run(fan_out(20))
    [(lost,)] = query(
        "select call_hash from call_node where task_name = 'tests.cost.square' limit 1"
    )
    with sqlite3.connect(db_path) as conn:
        conn.execute("delete from argument where call_hash = ?", (lost,))
        conn.execute("delete from call_node where call_hash = ?", (lost,))
    calls = query("select count(*) from call_node")
    assert make_scheduler().run(fan_out(20)) == sum(i * i for i in range(20))
    assert query("select count(*) from call_node") == [(calls[0][0] + 1,)]
    assert query("select count(*) from argument where call_hash = ?", lost) == [(1,)]
    assert query("select count(*) from job where call_hash = ?", lost) == [(2,)]


def test_a_cached_parent_of_a_changed_child_records_its_new_call(
    make_scheduler, query, write_module
):
    """The parent's body is reused, its child re-runs: the parent's call (a new hash, since
    it covers the child's) is written in full, edges and all."""
    from tests.core.scheduler.test_caching import STEPS_V1

    module = write_module("steps_workflow", STEPS_V1)
    make_scheduler().run(module.main(10))
    module = write_module("steps_workflow", STEPS_V1.replace("x + 1", "x + 2"))
    assert make_scheduler().run(module.main(10)) == 24
    [(main_call,)] = query(
        "select call_hash from job where task_hash = "
        "(select hash from task where name = 'main') order by start_time desc limit 1"
    )
    edges = query("select count(*) from call_edge where parent_id = ?", main_call)
    args = query("select count(*) from argument where call_hash = ?", main_call)
    assert edges == [(2,)] and args == [(1,)]
