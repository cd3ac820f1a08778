"""Limits, retries and timeouts: ``[limits]``, ``@task(limits=, retries=, timeout=)``."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from click.testing import CliRunner

from redun import task
from redun.cli.main import make_cli
from redun.executors.timeouts import JobTimeoutError, run_with_time_limit
from redun.scheduler import JobCancelledError, SchedulerError
from redun.scheduler.limits import LimitGate
from redun.scheduler.timer import Timer


class Meter:
    """Counts the units of a limit that task bodies hold at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def hold(self, units: int, seconds: float) -> None:
        with self.lock:
            self.now += units
            self.peak = max(self.peak, self.now)
        time.sleep(seconds)
        with self.lock:
            self.now -= units


def ns() -> str:
    return f"tests.lrt_{uuid.uuid4().hex[:8]}"


# Limits --------------------------------------------------------------------------------------
def test_limit_is_never_exceeded(make_scheduler):
    meter = Meter()

    @task(namespace=ns(), limits=["db"], cache=False)
    def query(i):
        meter.hold(1, 0.01)
        return i

    @task(namespace=ns(), cache=False)
    def main(n):
        return [query(i) for i in range(n)]

    scheduler = make_scheduler(limits={"db": "2"})
    assert scheduler.run(main(30)) == list(range(30))
    assert meter.peak == 2  # reached, never passed
    assert scheduler._guards.limits.holding("db") == 0


def test_dict_limits_count_units(make_scheduler):
    meter = Meter()

    @task(namespace=ns(), limits={"db": 2}, cache=False)
    def heavy(i):
        meter.hold(2, 0.01)
        return i

    @task(namespace=ns(), limits=["db"], cache=False)
    def light(i):
        meter.hold(1, 0.01)
        return i

    @task(namespace=ns(), cache=False)
    def main():
        return [heavy(i) if i % 2 else light(i) for i in range(16)]

    assert make_scheduler(limits={"db": "3"}).run(main()) == list(range(16))
    assert meter.peak == 3


def test_limits_from_redun_ini_through_the_cli(tmp_path):
    config_dir = tmp_path / ".redun"
    config_dir.mkdir()
    (config_dir / "redun.ini").write_text("[limits]\ndb = 2\n")
    path = tmp_path / f"wf_{uuid.uuid4().hex[:8]}.py"
    path.write_text(
        "import threading, time\n"
        "from redun import task\n"
        "lock = threading.Lock()\n"
        "state = {'now': 0, 'peak': 0}\n"
        "@task(limits=['db'], cache=False)\n"
        "def query(i):\n"
        "    with lock:\n"
        "        state['now'] += 1\n"
        "        state['peak'] = max(state['peak'], state['now'])\n"
        "    time.sleep(0.01)\n"
        "    with lock:\n"
        "        state['now'] -= 1\n"
        "    return i\n"
        "@task(cache=False)\n"
        "def peak(values):\n"
        "    return f\"peak={state['peak']}\"\n"
        "@task(cache=False)\n"
        "def main():\n"
        "    return peak([query(i) for i in range(12)])\n"
    )
    result = CliRunner().invoke(
        make_cli(), ["-c", str(config_dir), "run", str(path), "main"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "peak=2" in result.output


def test_an_unconfigured_limit_allows_one_job_at_a_time(scheduler, caplog):
    meter = Meter()

    @task(namespace=ns(), limits=["gpu"], cache=False)
    def train(i):
        meter.hold(1, 0.01)
        return i

    @task(namespace=ns(), cache=False)
    def main():
        return [train(i) for i in range(4)]

    assert scheduler.run(main()) == [0, 1, 2, 3]
    assert meter.peak == 1  # as redun 0.44.1
    assert "limit 'gpu'" in caplog.text and "[limits]" in caplog.text


def test_asking_for_more_than_a_limit_allows_is_a_clear_error(make_scheduler):
    @task(namespace=ns(), limits={"db": 3})
    def big():
        return 1

    scheduler = make_scheduler(limits={"db": "2"})
    with pytest.raises(SchedulerError, match=r"asks for 3 of limit 'db'.*db = 3.*\[limits\]"):
        scheduler.run(big())


@pytest.mark.parametrize(
    "limits, message",
    [({"db": "many"}, r"\[limits\] db = 'many'"), ({"db": "-1"}, r"\[limits\] db = '-1'")],
)
def test_malformed_limits_section_is_a_clear_error(make_scheduler, limits, message):
    @task(namespace=ns())
    def one():
        return 1

    with pytest.raises(SchedulerError, match=message + ".*whole number"):
        make_scheduler(limits=limits).run(one())


def test_malformed_limits_option_is_a_clear_error(scheduler):
    @task(namespace=ns(), limits={"db": "two"})
    def bad():
        return 1

    with pytest.raises(SchedulerError, match=r"task .*bad has limits=.*limits=\[\"db\"\]"):
        scheduler.run(bad())


def test_cached_jobs_take_no_limit(make_scheduler):
    @task(namespace=ns(), limits=["db"])
    def load(i):
        return i * 2

    @task(namespace=ns())
    def main():
        return [load(i) for i in range(3)] + [load(0)]  # load(0) twice: CSE

    assert make_scheduler(limits={"db": "1"}).run(main()) == [0, 2, 4, 0]
    # With no room at all, only a job that must run would ask for the limit.
    assert make_scheduler(limits={"db": "0"}).run(main()) == [0, 2, 4, 0]


def test_nested_jobs_with_one_limit_do_not_deadlock(make_scheduler):
    @task(namespace=ns(), limits=["db"], cache=False)
    def leaf(i):
        return i

    @task(namespace=ns(), limits=["db"], cache=False)
    def branch(i):
        return [leaf(i), leaf(i + 1)]  # runs while branch waits for them, not holding db

    @task(namespace=ns(), cache=False)
    def main():
        return [branch(0), branch(10)]

    assert make_scheduler(limits={"db": "1"}).run(main()) == [[0, 1], [10, 11]]


def test_jobs_waiting_for_a_limit_end_when_the_execution_fails(make_scheduler, query):
    ran: list[int] = []

    @task(namespace=ns(), limits=["db"], cache=False)
    def step(i):
        ran.append(i)
        time.sleep(0.01)
        if i == 0:
            raise ValueError("step 0 broke")
        return i

    @task(namespace=ns(), cache=False)
    def main():
        return [step(i) for i in range(6)]

    with pytest.raises(ValueError, match="step 0 broke"):
        make_scheduler(limits={"db": "1"}).run(main())
    # The job handed the limit as step 0 failed may run; the others never start.
    assert ran[0] == 0 and len(ran) <= 2
    assert query("SELECT count(*) FROM job WHERE end_time IS NULL") == [(0,)]


def test_limit_queue_is_first_come_first_served():
    class FakeJob:
        def __init__(self, name: str, needs: dict) -> None:
            self.id = name
            self.task = type("T", (), {"fullname": name, "get_option": lambda s, k: needs})()

    gate = LimitGate({"db": 2})
    started: list[str] = []
    big, small1, small2, small3 = (
        FakeJob("big", {"db": 2}),
        FakeJob("s1", {"db": 1}),
        FakeJob("s2", {"db": 1}),
        FakeJob("s3", {"db": 1}),
    )
    assert gate.admit(small1, lambda j: started.append(j.id))
    assert not gate.admit(big, lambda j: started.append(j.id))
    assert not gate.admit(small2, lambda j: started.append(j.id))  # room, but big came first
    gate.release(small1)
    assert started == ["big"]
    gate.release(big)
    assert started == ["big", "s2"]
    assert gate.admit(small3, lambda j: started.append(j.id))
    assert gate.holding("db") == 2
    # A waiter that is cancelled leaves the queue; the one behind it moves up.
    big2, small4 = FakeJob("big2", {"db": 2}), FakeJob("s4", {"db": 1})
    assert not gate.admit(big2, lambda j: started.append(j.id))
    assert not gate.admit(small4, lambda j: started.append(j.id))
    gate.release(small3)
    assert started == ["big", "s2"]  # big2 still needs both units
    gate.release(big2)  # cancelled while waiting
    assert started == ["big", "s2", "s4"]


# Retries -------------------------------------------------------------------------------------
def test_retries_rerun_a_failing_task_and_record_each_attempt(make_scheduler, query):
    attempts: list[float] = []

    @task(namespace=ns(), retries=2, cache=False)
    def flaky(x):
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise ValueError(f"attempt {len(attempts)}")
        return x * 10

    @task(namespace=ns(), cache=False)
    def main():
        return flaky(4)

    scheduler = make_scheduler(scheduler={"retry_backoff": "0.02"})
    assert scheduler.run(main()) == 40
    assert len(attempts) == 3
    assert attempts[2] - attempts[1] >= 0.04 - 0.005  # backoff doubles: 0.02, then 0.04
    rows = query(
        "SELECT job.id, job.end_time, job.parent_id, value.type FROM job "
        "JOIN call_node ON call_node.call_hash = job.call_hash "
        "JOIN value ON value.value_hash = call_node.value_hash "
        "WHERE job.task_hash = ? ORDER BY job.start_time",
        flaky.hash,
    )
    assert len(rows) == 3
    assert all(row[1] is not None for row in rows)
    assert len({row[2] for row in rows}) == 1  # all attempts are children of main
    assert sorted(row[3] for row in rows) == [
        "builtins.int",
        "redun.ErrorValue",
        "redun.ErrorValue",
    ]
    assert query("SELECT count(*) FROM job WHERE end_time IS NULL") == [(0,)]


def test_exhausted_retries_report_the_last_error(make_scheduler, query):
    attempts: list[int] = []

    @task(namespace=ns(), retries=1, retry_backoff=0)
    def doomed():
        attempts.append(1)
        raise ValueError(f"failure {len(attempts)}")

    with pytest.raises(ValueError, match="failure 2"):
        make_scheduler().run(doomed())
    assert len(attempts) == 2
    assert query("SELECT count(*) FROM job WHERE task_hash = ?", doomed.hash) == [(2,)]
    assert query("SELECT count(*) FROM job WHERE end_time IS NULL") == [(0,)]


def test_a_failing_execution_does_not_wait_out_a_retry_backoff(make_scheduler, query):
    attempts: list[int] = []

    @task(namespace=ns(), retries=3, retry_backoff=30, cache=False)
    def patient():
        attempts.append(1)
        raise ValueError("patient failed")

    @task(namespace=ns(), cache=False)
    def broken():
        time.sleep(0.05)  # after patient's first attempt has failed
        raise KeyError("broken")

    @task(namespace=ns(), cache=False)
    def main():
        return [patient(), broken()]

    began = time.monotonic()
    with pytest.raises(KeyError):
        make_scheduler().run(main())
    assert time.monotonic() - began < 2
    assert attempts == [1]
    assert query("SELECT count(*) FROM job WHERE end_time IS NULL") == [(0,)]


def test_a_cancelled_job_is_never_retried(scheduler):
    attempts: list[int] = []

    @task(namespace=ns(), retries=3, retry_backoff=0)
    def cancelled():
        attempts.append(1)
        raise JobCancelledError("stop")

    with pytest.raises(JobCancelledError):
        scheduler.run(cancelled())
    assert attempts == [1]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"retries": "x"}, r"retries='x'.*whole number"),
        ({"retries": 1, "retry_backoff": "soon"}, r"retry_backoff = 'soon'"),
        ({"timeout": 0}, r"timeout=0.*seconds > 0"),
    ],
)
def test_malformed_retry_and_timeout_options_are_clear_errors(scheduler, options, message):
    @task(namespace=ns(), **options)
    def odd():
        return 1

    with pytest.raises(SchedulerError, match=message):
        scheduler.run(odd())


def test_malformed_retry_backoff_setting_is_a_clear_error(make_scheduler):
    @task(namespace=ns())
    def one():
        return 1

    with pytest.raises(SchedulerError, match=r"\[scheduler\] retry_backoff = 'x'"):
        make_scheduler(scheduler={"retry_backoff": "x"}).run(one())


# Timeouts ------------------------------------------------------------------------------------
def test_timeout_fails_a_slow_thread_job_cleanly(make_scheduler, query):
    finished = threading.Event()

    @task(namespace=ns(), timeout=0.2)
    def slow():
        time.sleep(0.6)
        finished.set()
        return "late"

    scheduler = make_scheduler()
    began = time.monotonic()
    with pytest.raises(JobTimeoutError, match=r"task .*slow .*timeout of 0.2 s"):
        scheduler.run(slow())
    assert time.monotonic() - began < 0.55
    assert query("SELECT count(*) FROM job WHERE end_time IS NULL") == [(0,)]
    assert query("SELECT count(*) FROM evaluation WHERE task_hash = ?", slow.hash) == [(0,)]
    # The body's late result is dropped, not queued for the scheduler.
    assert finished.wait(2)
    time.sleep(0.01)
    assert scheduler._events.empty()


def test_timeout_then_retry_ignores_the_first_attempts_late_result(make_scheduler):
    calls: list[int] = []

    @task(namespace=ns(), timeout=0.15, retries=1, retry_backoff=0, cache=False)
    def hangs_once():
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.4)
            return "first"
        return "second"

    assert make_scheduler().run(hangs_once()) == "second"


def test_timeout_interrupts_a_process_worker(make_scheduler, write_module):
    module = write_module(
        f"wf_timeout_{uuid.uuid4().hex[:8]}",
        """
        import time
        from redun import task

        @task(executor="proc", timeout=0.5)
        def sleepy():
            time.sleep(5)
            return "late"

        @task(executor="proc")
        def quick():
            return "quick"
        """,
    )
    scheduler = make_scheduler(
        executors={"proc": {"type": "local", "mode": "process", "max_workers": 1}}
    )
    began = time.monotonic()
    with pytest.raises(JobTimeoutError, match=r"sleepy ran longer than its timeout of 0.5 s"):
        scheduler.run(module.sleepy())
    # The only worker was freed: the next job runs at once.
    assert scheduler.run(module.quick()) == "quick"
    scheduler.close()  # joins the worker: it is not sleeping on
    assert time.monotonic() - began < 4


def test_a_body_that_swallows_the_interruption_still_times_out():
    @task(namespace=ns(), timeout=0.05)
    def stubborn():
        pass

    def body():
        try:
            time.sleep(1)
        except BaseException:
            return "swallowed"

    began = time.monotonic()
    with pytest.raises(JobTimeoutError):
        run_with_time_limit(stubborn, body)  # pytest runs tests on the main thread
    assert time.monotonic() - began < 0.5


# The timer -----------------------------------------------------------------------------------
def test_timer_calls_in_due_order_and_skips_cancelled():
    timer = Timer()
    calls: list[str] = []
    done = threading.Event()
    # Due times 0.1 s apart: the calls below are scheduled one after the other, and the first
    # one starts the timer's thread, which on a loaded machine took over 20 ms.
    timer.call_later(0.3, lambda: (calls.append("late"), done.set()))
    timer.call_later(0.1, lambda: calls.append("early"))
    timer.call_later(0.2, lambda: calls.append("cancelled")).cancel()
    assert done.wait(2)
    assert calls == ["early", "late"]
