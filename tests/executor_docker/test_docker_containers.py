"""Container life cycle: reattaching after a scheduler restart, stopping on interrupt."""

from __future__ import annotations

import queue
from typing import Any

from redun_docker import DockerExecutor

from redun.hashing import hash_eval
from redun.scheduler.job import Job

WORKFLOW = """
    import time
    from redun import task

    @task(namespace="dock_life", executor="docker")
    def slow(seconds, value):
        time.sleep(seconds)
        return value * 2
"""


class Reports:
    """Stands in for the scheduler: collects what an executor reports."""

    def __init__(self) -> None:
        self.events: queue.Queue = queue.Queue()

    def done_job(self, job: Job, result: Any) -> None:
        self.events.put(("done", job, result))

    def reject_job(self, job: Job, error: BaseException, traceback: Any = None) -> None:
        self.events.put(("rejected", job, error))


def _job(task: Any, *args: Any) -> Job:
    job = Job(task, task(*args), None, "execution-1", args, {})
    job.args_hash = task.args_hash(args, {})
    job.eval_hash = hash_eval(task.hash, job.args_hash)
    return job


def _executor(options: dict) -> tuple[DockerExecutor, Reports]:
    reports = Reports()
    executor = DockerExecutor("docker", config=options)
    executor.set_scheduler(reports)  # type: ignore[arg-type]
    return executor, reports


def test_a_new_executor_reattaches_to_the_running_container(
    write_workflow, docker_options, containers
) -> None:
    workflow = write_workflow("dock_life_reattach", WORKFLOW)
    first, first_reports = _executor(docker_options)
    first.submit(_job(workflow.slow, 2, 21))
    job = _job(workflow.slow, 2, 21)
    running = containers(**{"redun.eval_hash": job.eval_hash})
    assert [c.status for c in running] == ["running"]
    # The scheduler "restarts": a new executor gets the same job and must not start another.
    second, second_reports = _executor(docker_options)
    second.submit(job)
    assert second.reattached == 1
    assert len(containers(**{"redun.eval_hash": job.eval_hash})) == 1
    kind, reported, result = second_reports.events.get(timeout=60)
    assert (kind, reported, result) == ("done", job, 42)
    first_reports.events.get(timeout=60)  # the old executor's thread ends too
    assert containers(**{"redun.eval_hash": job.eval_hash}) == []


def test_stop_removes_running_containers_without_reporting(
    write_workflow, docker_options, containers
) -> None:
    workflow = write_workflow("dock_life_stop", WORKFLOW)
    executor, reports = _executor(docker_options)
    job = _job(workflow.slow, 600, 1)
    executor.submit(job)
    assert len(containers(**{"redun.eval_hash": job.eval_hash})) == 1
    executor.stop()
    assert containers(**{"redun.eval_hash": job.eval_hash}) == []
    assert reports.events.empty()
