"""The record is written in batches: no commit per job, no job waiting on a commit."""

from __future__ import annotations

import threading

from sqlalchemy import event

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
    commits = []
    event.listen(scheduler.backend.engine, "commit", lambda conn: commits.append(1))
    assert scheduler.run(fan_out(500)) == sum(i * i for i in range(500))
    assert query("select count(*) from job") == [(502,)]
    assert query("select count(*) from call_node") == [(502,)]
    assert len(commits) < 502 / 5, f"{len(commits)} commits for 502 jobs"


def test_jobs_do_not_wait_for_the_writer(scheduler):
    """Hold the writer inside a commit; the workflow still finishes its jobs meanwhile."""
    scheduler.load()
    writer_blocked = threading.Event()
    release = threading.Event()
    engine = scheduler.backend.engine

    def hold(conn):
        if not writer_blocked.is_set():
            writer_blocked.set()
            release.wait(30)

    event.listen(engine, "commit", hold)
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
    assert len(finished) == 50  # every job ran while the first commit was still held
    release.set()
    runner.join(30)
    assert not runner.is_alive()
