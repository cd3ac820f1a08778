"""The evaluator: expressions in, concrete values out.

One loop on the calling thread owns all state. Expression graphs are walked
through the promise trampoline (no recursion, however deep the graph), cache
lookups for every job that became ready together go to the backend in one
batched query, executors report back through one thread-safe queue, and the
backend records in the background.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import queue
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from redun import nested, promise
from redun.backends.base import (
    Backend,
    BackendError,
)
from redun.context import merge_dicts
from redun.executors.base import Executor
from redun.expression import (
    Expression,
    SchedulerExpression,
    SimpleExpression,
    TaskExpression,
    ValueExpression,
    has_expression,
    holds_expression,
    is_expression,
)
from redun.handle import handles_in_use
from redun.hashing import hash_arguments, hash_call_node, hash_eval
from redun.promise import Promise
from redun.scheduler.config import SchedulerConfig
from redun.scheduler.errors import (
    ErrorValue,
    JobCancelledError,
    SchedulerError,
    attach_traceback,
)
from redun.scheduler.guards import JobGuards
from redun.scheduler.handles import HandleTracker
from redun.scheduler.job import CACHED, DONE, EMPTY, FAILED, RUNNING, Job, fill_job_info
from redun.scheduler.recorder import Recorder
from redun.scheduler.report import Reporter, logger
from redun.task import Task, get_task_registry
from redun.values import (
    InvalidValueError,
    are_values_valid,
    get_value_hash,
    hash_and_serialize,
    is_value_valid,
)

# An evaluation memo that holds whichever job evaluates the expression.
_ANY_PARENT = object()

# Most jobs whose cache entries are looked up (and which are submitted) in one go.
CHECK_BATCH = 2000
# How many queued jobs' lookups may be announced to the backend ahead of their check: a
# big fan-out's lookups then run (in a SQLite record's lookup process) while the
# scheduler is still creating its jobs, instead of later, beside the record's writes.
ANNOUNCE_AHEAD = 64 * CHECK_BATCH

# Cache scopes (the task option ``cache_scope``).
NONE, CSE, BACKEND = "NONE", "CSE", "BACKEND"

_current_scheduler: list[Scheduler] = []


def get_current_scheduler() -> Scheduler | None:
    return _current_scheduler[-1] if _current_scheduler else None


def set_current_scheduler(scheduler: Scheduler | None) -> None:
    _current_scheduler.clear()
    if scheduler is not None:
        _current_scheduler.append(scheduler)


@contextlib.contextmanager
def _fewer_gc_passes() -> Any:
    """Collect cyclic garbage less often while a run allocates millions of small objects.

    Objects alive before the run are frozen out of collections, and generation 0 is
    collected every 100,000 allocations instead of 700: a run's jobs live until its
    end anyway, and scanning them over and over made large runs slower per task.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class Scheduler:
    """Evaluates expressions: runs, caches and records every task call.

    ``config`` is a redun.ini-shaped dict or a loaded Config; with no config
    and no backend, the record is an in-memory SQLite database.
    """

    def __init__(
        self,
        config: Any = None,
        backend: Backend | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.config = SchedulerConfig(config)
        self._backend = backend
        self.executors: dict[str, Executor] = {}
        if executor is not None:
            self.add_executor(executor)
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._loaded = False
        self._recorded_tasks: set[str] = set()
        self.reporter = Reporter()

    # Setup -------------------------------------------------------------------
    @property
    def backend(self) -> Backend:
        if self._backend is None:
            from redun.backends.db.backend import RedunBackend

            self._backend = RedunBackend(self.config.db_uri, config=self.config.backend_section)
        return self._backend

    def add_executor(self, executor: Executor) -> None:
        executor.set_scheduler(self)
        self.executors[executor.name] = executor

    def load(self) -> None:
        """Open the backend and build the configured executors (once)."""
        if self._loaded:
            return
        self.backend.load()
        for name, executor in self.config.build_executors(self).items():
            self.executors.setdefault(name, executor)
        self._loaded = True

    def close(self) -> None:
        """Stop the executors and close the record (after the last run)."""
        for executor in self.executors.values():
            executor.stop()
        if self._loaded:
            self.backend.close()
        self._loaded = False

    # Executor callbacks (any thread) -------------------------------------------
    def done_job(self, job: Job, result: Any) -> None:
        """An executor reports that ``job`` returned ``result``."""
        self._events.put((job, result, None, None))

    def reject_job(self, job: Job, error: BaseException, error_traceback: Any = None) -> None:
        """An executor reports that ``job`` raised ``error``."""
        self._events.put((job, None, error, error_traceback))

    # Running ---------------------------------------------------------------------
    def run(
        self,
        expr: Any,
        exec_argv: list[str] | None = None,
        dryrun: bool = False,
        cache: bool = True,
        tags: Iterable[tuple[str, Any]] = (),
        context: dict | None = None,
        execution_id: str | None = None,
        parent_job_id: str | None = None,
    ) -> Any:
        """Evaluate ``expr`` to a concrete value, running what the cache cannot supply.

        With ``execution_id`` and ``parent_job_id`` (a subrun), the jobs join that
        execution below that job instead of starting a new execution.
        """
        self.load()
        self.reporter = Reporter()
        self._token = object()
        self._execution_id = execution_id or str(uuid.uuid4())
        self._dryrun = dryrun
        self._recorder = Recorder(
            self.backend,
            self._execution_id,
            list(exec_argv) if exec_argv is not None else ["scheduler.run", repr(expr)],
            {**self.config.tags, **dict(tags)},
            self._recorded_tasks,
            dryrun,
            root_parent_id=parent_job_id,
        )
        self.handles = HandleTracker(self.backend, dryrun)
        self._guards = JobGuards(self)  # limits and retries
        self._use_cache = cache
        self._context = merge_dicts([self.config.context, context or {}])
        self._jobs_by_eval: dict[str, Job] = {}
        self._open_jobs: dict[str, Job] = {}
        self._to_check: list[Job] = []
        self._shallow_queued = False  # whether _to_check may hold a job to check shallowly
        self._announced = 0  # how many of _to_check's first jobs' lookups were announced
        self._fanouts: deque[_FanOut] = deque()  # fan-outs whose calls are being started
        self._in_flight = 0
        self._failing = False
        self._dryrun_jobs = 0
        self._task_hashes = {task.hash for task in get_task_registry()}
        self._plans: dict[int, _TaskPlan] = {}

        _current_scheduler.append(self)
        outcome = Promise()
        # Through the final flush: the writer thread may still be turning a backlog of
        # records into rows then, and with the usual thresholds it collected every 700
        # allocations, then scanned the whole heap the unfreeze had handed back.
        with _fewer_gc_passes():
            try:
                promise.defer(
                    lambda _: self._evaluate(expr, None).then(outcome.do_resolve, outcome.do_reject)
                )
                self._loop(outcome)
            except BaseException as error:  # KeyboardInterrupt, or a bug: leave no job running
                self._abort(error)
                raise
            finally:
                _current_scheduler.pop()
            self._cancel_open_jobs(outcome)
            if not dryrun:
                self.backend.flush()
        # The run's jobs are recorded: let them go (a scheduler may live for many runs).
        self._jobs_by_eval, self._open_jobs, self._to_check, self._plans = {}, {}, [], {}
        self._fanouts.clear()
        for line in self.reporter.summary_lines():
            logger.info("%s", line)
        if outcome.is_rejected:
            raise outcome.error
        if outcome.is_pending:
            if dryrun:
                logger.info("Dryrun: %d job(s) would run.", self._dryrun_jobs)
                return None
            raise SchedulerError("the workflow stopped before finishing (no job left to run)")
        return outcome.value

    def _loop(self, outcome: Promise) -> None:
        while True:
            promise.drain()
            # Calls of a fan-out start while fewer than two slices wait for their cache
            # check: the next slice's lookups run while this one is checked.
            if self._fanouts and len(self._to_check) < 2 * CHECK_BATCH:
                self._start_fanout_slice()
                continue
            if self._to_check:
                self._check_cache_batch()
                if self._in_flight:  # results that came in meanwhile: their jobs end now
                    self._take_events(block=False)
                continue
            if outcome.is_rejected:
                self._failing = True
                self._guards.execution_failing()  # no retry waits out its backoff
            if self._in_flight == 0:
                return
            self._take_events(block=True)

    def _take_events(self, block: bool) -> None:
        """Queue the handling of every executor report waiting (with ``block``, at least one)."""
        events = self._events
        try:
            item = events.get() if block else events.get_nowait()
        except queue.Empty:
            return
        while True:
            promise.defer(self._on_event, item)
            try:
                item = events.get_nowait()
            except queue.Empty:
                break

    def _on_event(self, item: tuple) -> None:
        job, result, error, error_traceback = item
        self._in_flight -= 1
        if self._guards.on_report(job, result, error, error_traceback):
            return  # a retry: scheduled, or due now and submitted
        if error is not None:
            attach_traceback(error, error_traceback)
            self._fail(job, error)
        else:
            self._on_body_result(job, result, record_eval=True)

    # Evaluation --------------------------------------------------------------
    def _evaluate(self, value: Any, parent: Job | None) -> Promise:
        """A promise of ``value`` with every nested expression evaluated."""
        if isinstance(value, Expression):
            return self._evaluate_expr(value, parent)
        # In program order (iter_leaves walks right to left), as redun 0.4x starts the calls:
        # a handle's fork key is its call's place among its caller's calls.
        leaves = list(nested.iter_leaves(value, is_expression))[::-1]
        if not leaves:
            return Promise.resolved(value)

        def substitute(results: list) -> Any:
            by_id = {id(leaf): result for leaf, result in zip(leaves, results)}
            return nested.map_nested(value, is_expression, lambda e: by_id[id(e)])

        if len(leaves) <= CHECK_BATCH:
            promises = [self._evaluate_expr(leaf, parent) for leaf in leaves]
            return Promise.all(promises).then(substitute)
        # A fan-out: its calls start a slice at a time, between the cache checks of the
        # slices before (see _loop), so the first jobs end (and get recorded) while the
        # last ones are still to start.
        result = Promise()
        self._fanouts.append(_FanOut(leaves, parent, [], substitute, result))
        return result

    def _start_fanout_slice(self) -> None:
        """Start the next slice of calls of the oldest fan-out being started."""
        fanout = self._fanouts[0]
        started = len(fanout.promises)
        for leaf in fanout.leaves[started : started + CHECK_BATCH]:
            fanout.promises.append(self._evaluate_expr(leaf, fanout.parent))
        if len(fanout.promises) == len(fanout.leaves):
            self._fanouts.popleft()
            Promise.all(fanout.promises).then(fanout.substitute).then(
                fanout.result.do_resolve, fanout.result.do_reject
            )

    def _evaluate_expr(self, expr: Expression, parent: Job | None) -> Promise:
        state = expr.__dict__.get("_redun_eval")
        if state is not None and state[0] is self._token and state[2] in (_ANY_PARENT, parent):
            return state[1]
        if type(expr) is TaskExpression:
            arguments = _call_arguments(expr)
            if not holds_expression(*arguments):
                # Concrete arguments: start the job now; nothing nests, so nothing recurses.
                try:
                    job_promise = self._start_job(expr, arguments, parent, concrete=True)
                except Exception as error:
                    job_promise = Promise.rejected(error)
                expr.__dict__["_redun_eval"] = (self._token, job_promise, _ANY_PARENT)
                return job_promise
        result = Promise()
        # A special form's value may depend on the job evaluating it (get_context, say):
        # one shared expression object (a default argument) is evaluated once per caller.
        memo_parent = parent if isinstance(expr, SchedulerExpression) else _ANY_PARENT
        expr.__dict__["_redun_eval"] = (self._token, result, memo_parent)
        # Deferred, so evaluating a deep graph never nests Python calls.
        promise.defer(self._start_expr, (expr, parent, result))
        return result

    def _start_expr(self, item: tuple[Expression, Job | None, Promise]) -> None:
        expr, parent, result = item
        try:
            if isinstance(expr, ValueExpression):
                result.do_resolve(expr.value)
            elif isinstance(expr, SchedulerExpression):
                result.do_resolve(self._call_scheduler_task(expr, parent))
            elif isinstance(expr, TaskExpression):
                self._evaluate(_call_arguments(expr), parent).then(
                    lambda args: self._start_job(expr, args, parent)
                ).then(result.do_resolve, result.do_reject)
            elif isinstance(expr, SimpleExpression):
                self._evaluate((expr.args, expr.kwargs), parent).then(
                    lambda args: self._evaluate(expr.apply(*args), parent)
                ).then(result.do_resolve, result.do_reject)
            else:
                raise SchedulerError(f"unknown expression type {type(expr).__name__}")
        except Exception as error:
            result.do_reject(error)

    def _call_scheduler_task(self, expr: SchedulerExpression, parent: Job | None) -> Any:
        task = expr.task
        value = task.func(self, parent, expr, *expr.args, **expr.kwargs)
        if isinstance(value, Promise):
            return value.then(lambda v: self._evaluate(v, parent))
        return self._evaluate(value, parent)

    def job_context(self, job: Job | None) -> dict:
        """The context ``job`` sees: the execution's, with task overrides along its callers."""
        overrides = []
        while job is not None:
            override = job.task.get_option("_context_override")
            if override:
                overrides.append(override)
            job = job.parent
        if not overrides:
            return self._context
        return merge_dicts([self._context, *reversed(overrides)])

    def evaluate(self, value: Any, parent_job: Job | None = None) -> Promise:
        """Evaluate ``value`` within the running execution (for scheduler tasks)."""
        return self._evaluate(value, parent_job)

    # Jobs --------------------------------------------------------------------
    def _plan(self, task: Task) -> _TaskPlan:
        """What this run does with ``task``'s calls (its options, read once per task)."""
        plan = self._plans.get(id(task))
        if plan is None or plan.task is not task:
            plan = self._plans[id(task)] = _TaskPlan(
                task,
                self._cache_scope(task),
                bool(task.get_option("config_args")),
                task.get_option("check_valid", "full") == "shallow",
                task.get_option("executor", "default"),
                bool(task.get_option("tags")),
            )
        return plan

    def _cache_scope(self, task: Task) -> str:
        if task.has_option("cache_scope"):
            scope = str(task.get_option("cache_scope")).upper().split(".")[-1]
        else:
            scope = BACKEND if task.get_option("cache", True) else CSE
        if not self._use_cache and scope == BACKEND:
            scope = CSE
        return scope

    def _start_job(
        self, expr: TaskExpression, args_kwargs: tuple, parent: Job | None, concrete: bool = False
    ) -> Promise:
        """Start (or reuse) the job of ``expr`` called with evaluated ``args_kwargs``;
        ``concrete``: the call's arguments held no expressions (no upstream calls)."""
        if self._failing:
            raise JobCancelledError("cancelled: the execution already failed")
        if handles_in_use():
            args, kwargs = self.handles.fork_arguments(parent, *args_kwargs)
        else:
            args, kwargs = args_kwargs
        task = expr.task
        plan = self._plans.get(id(task))
        if plan is None or plan.task is not task:
            plan = self._plan(task)
        arg_hashes = list(map(get_value_hash, args))
        kwarg_hashes = {k: get_value_hash(v) for k, v in kwargs.items()} if kwargs else EMPTY
        if plan.config_args:
            args_hash = task.args_hash(args, kwargs)
        else:
            args_hash = hash_arguments(arg_hashes, kwarg_hashes)
        eval_hash = hash_eval(task.hash, args_hash)
        scope = plan.cache_scope

        if scope != NONE:
            existing = self._jobs_by_eval.get(eval_hash)
            if existing is not None:
                expr.__dict__["_redun_job"] = existing
                if parent is not None:
                    _children(parent).setdefault(existing.id, existing)
                return existing.promise

        job = Job(task, expr, parent, self._execution_id, args, kwargs)
        job.arg_hashes, job.kwarg_hashes = arg_hashes, kwarg_hashes
        job.args_hash, job.eval_hash = args_hash, eval_hash
        job.upstream = EMPTY if concrete else self._upstream_calls(expr)
        expr.__dict__["_redun_job"] = job
        if scope != NONE:
            self._jobs_by_eval[eval_hash] = job
        self._open_jobs[job.id] = job
        if parent is not None:
            _children(parent)[job.id] = job
            if not parent.recorded:  # a child's row needs its parent's row first
                self._recorder.job_started(parent)
        else:
            self._recorder.job_started(job)

        if scope == BACKEND:
            self._to_check.append(job)
            self._shallow_queued = self._shallow_queued or plan.shallow_check
            if len(self._to_check) - self._announced >= CHECK_BATCH:
                self._announce(CHECK_BATCH)
        else:
            self._submit(job)
        return job.promise

    @staticmethod
    def _upstream_calls(expr: TaskExpression) -> dict[int | str, Any]:
        upstream: dict[int | str, Any] = EMPTY
        for slot, arg in itertools.chain(enumerate(expr.args), expr.kwargs.items()):
            if isinstance(arg, TaskExpression):
                job = arg.__dict__.get("_redun_job")
                if job is not None:
                    upstream = upstream or {}
                    upstream[slot] = job
        return upstream

    def _check_cache_batch(self) -> None:
        # A slice at a time: between slices, jobs that finished meanwhile end (and their
        # rows get written whole) instead of waiting for a huge fan-out to be submitted.
        jobs = self._to_check[:CHECK_BATCH]
        del self._to_check[:CHECK_BATCH]
        self._announced = max(0, self._announced - len(jobs))
        full = jobs
        if self._shallow_queued:  # (a task with check_valid="shallow" was called)
            full = [job for job in jobs if not self._plan(job.task).shallow_check]
            for job in jobs:
                if self._plan(job.task).shallow_check and not self._try_shallow_cache(job):
                    full.append(job)
        self._announce(min(len(self._to_check), CHECK_BATCH) - self._announced)  # the next slice
        if not full:
            return
        found = self.backend.get_evaluations([job.eval_hash for job in full])
        hits = [found.get(job.eval_hash) for job in full]
        # One validity check for every hit: remote files are asked about together.
        valid = iter(are_values_valid([hit[1] for hit in hits if hit is not None]))
        for job, hit in zip(full, hits):
            if hit is None:
                self._submit(job)
            elif not next(valid):
                self.reporter.invalid(job, hit[1])
                self._submit(job)
            elif hit[2] is not None and not has_expression(hit[1]):
                self._end_cached_leaf(job, hit[1], hit[2])
            else:
                job.cached = True
                self.reporter.cached(job)
                self._on_body_result(job, hit[1], False, value_hash=hit[0], recorded_call=hit[2])

    def _end_cached_leaf(self, job: Job, value: Any, call_hash: str) -> None:
        """End ``job`` with a cached ``value`` whose call (``call_hash``, without children)
        the record holds: the common cache hit, in one step.

        What ``_on_body_result`` and ``_finish`` do for such a hit, without their steps
        for results to evaluate, to hash or to record.
        """
        job.cached = True
        self.reporter.cached(job)
        job.subtree_tasks = _leaf_subtree(job.task.hash)
        job.call_hash = call_hash
        job.status = CACHED
        self._end_job(job, ran=False)
        self.reporter.finished(job)
        job.promise.do_resolve(value)

    def _announce(self, count: int) -> None:
        """Let the backend start looking up the next ``count`` queued jobs not announced yet
        (at most ANNOUNCE_AHEAD ahead): their slice's lookup then waits less, or not at all."""
        start = self._announced
        count = min(count, ANNOUNCE_AHEAD - start)
        if count <= 0:
            return
        jobs = self._to_check[start : start + count]
        self._announced = start + len(jobs)
        if self._shallow_queued:
            jobs = [job for job in jobs if not self._plan(job.task).shallow_check]
        self.backend.prefetch_evaluations([job.eval_hash for job in jobs])

    def _try_shallow_cache(self, job: Job) -> bool:
        call = self.backend.find_cached_call(job.task.hash, job.args_hash)
        if call is None or call.value is None:
            return False
        if not call.subtree_task_hashes <= self._task_hashes:
            return False
        if not is_value_valid(call.value):
            return False
        job.cached = True
        job.call_hash = call.call_hash
        job.subtree_tasks = frozenset(call.subtree_task_hashes)
        self.reporter.cached(job)
        self._finish(job, call.value, call.value_hash, record=False)
        return True

    def _submit(self, job: Job) -> None:
        if self._failing:
            return  # left open; cancelled when the loop ends
        if self._dryrun:
            self._dryrun_jobs += 1
            self.reporter.dryrun(job)
            return
        name = self._plan(job.task).executor
        executor = self.executors.get(name)
        if executor is None:
            known = ", ".join(sorted(self.executors)) or "none"
            self._fail(
                job,
                SchedulerError(
                    f"task {job.task.fullname} asks for executor {name!r}, which is not configured "
                    f"(configured: {known}); add an [executors.{name}] section to redun.ini"
                ),
            )
            return
        try:
            if not self._guards.admit(job):
                return  # waits for a limit: submitted again when a job releases it
        except SchedulerError as error:
            self._fail(job, error)
            return
        job.status = RUNNING
        # A job given its own ids may pass them on (a subrun's scheduler, in another process,
        # records jobs below it): its row is committed before it runs. Any other job's row
        # may wait briefly for the job's end.
        knows_its_id = fill_job_info(job)
        self._recorder.job_started(job, may_wait=not knows_its_id)
        if knows_its_id:
            self.backend.flush()
        self.reporter.run(job, name)
        self._in_flight += 1
        executor.submit(job)

    def _on_body_result(
        self,
        job: Job,
        result: Any,
        record_eval: bool,
        value_hash: str | None = None,
        recorded_call: str | None = None,
    ) -> None:
        """The task body produced ``result`` (or the cache did); evaluate what it returned.

        ``recorded_call``: the cache's leaf call for this result, recorded already (see
        Backend.get_evaluations).
        """
        data = None
        if record_eval:  # a handle the body returns is now past this call
            result = self.handles.advance_result(job, result)
        try:
            if value_hash is None:
                if job.result_hash is not None:  # hashed by the executor already
                    value_hash, data = job.result_hash, job.result_data
                    job.result_hash = job.result_data = None
                else:
                    value_hash, data = hash_and_serialize(result)
        except InvalidValueError as error:
            self._fail(job, InvalidValueError(f"task {job.task.fullname} returned {error}"))
            return
        if record_eval and self._plan(job.task).cache_scope != NONE:
            self._recorder.evaluation(job, result, value_hash, data)
        if isinstance(result, Expression) or has_expression(result):
            self._evaluate(result, job).then(
                lambda value: self._finish(job, value, None), lambda error: self._fail(job, error)
            )
        else:
            self._finish(job, result, value_hash, data=data, recorded_call=recorded_call)

    def _finish(
        self,
        job: Job,
        value: Any,
        value_hash: str | None,
        record: bool = True,
        data: bytes | None = None,
        recorded_call: str | None = None,
    ) -> None:
        """Complete ``job`` with its final, concrete value and record its call node."""
        if record:
            try:
                if value_hash is None:
                    value_hash, data = hash_and_serialize(value)
            except InvalidValueError as error:
                self._fail(job, InvalidValueError(f"task {job.task.fullname} returned {error}"))
                return
            self._record_call(job, value, value_hash, data, recorded_call)
        job.status = CACHED if job.cached else DONE
        self._end_job(job)
        self.reporter.finished(job)
        job.promise.do_resolve(value)

    def _record_call(
        self,
        job: Job,
        value: Any,
        value_hash: str,
        data: bytes | None = None,
        recorded_call: str | None = None,
    ) -> None:
        """Give ``job`` its call hash (a Merkle hash over its children) and record the call
        (unless the record has it: ``recorded_call``, the hash of a leaf call)."""
        task_hash = job.task.hash
        child_hashes: list[str] = []
        if job.children:
            subtree = {task_hash}
            for child in job.children.values():
                if child.call_hash is not None:
                    child_hashes.append(child.call_hash)
                    subtree |= child.subtree_tasks
            job.subtree_tasks = _intern(frozenset(subtree))
        else:  # (most jobs: a leaf of the call graph)
            job.subtree_tasks = _leaf_subtree(task_hash)
            if recorded_call is not None:
                job.call_hash = recorded_call
                return
        job.call_hash = hash_call_node(task_hash, job.args_hash, value_hash, child_hashes)
        self._recorder.call(job, value, value_hash, data, child_hashes)

    def _end_job(self, job: Job, ran: bool = True) -> None:
        """Record ``job``'s end and let go of what it held; without ``ran`` (a cache hit
        without children) it never held a limit, a retry or a handle count."""
        self._open_jobs.pop(job.id, None)
        self._recorder.job_ended(job)
        if job.tags is not None or self._plan(job.task).tagged:
            self._recorder.job_tags(job)
        if ran:
            self.handles.job_ended(job)
            self._guards.ended(job)
        # The job's inputs are recorded; drop them so long runs stay small.
        job.children = job.upstream = job.kwarg_hashes = EMPTY
        job.arg_hashes = ()

    def _fail(self, job: Job, error: BaseException) -> None:
        """Record ``job`` as failed and pass the error on to whoever waits for it."""
        if job.status in (DONE, CACHED, FAILED):
            return
        job.status = FAILED
        self.reporter.failed(job, error)
        if not hasattr(error, "__redun_task__"):  # the task that raised it, not its callers
            try:  # a name, not the Job: the error stays picklable for the record
                error.__redun_task__ = job.task.fullname  # type: ignore[attr-defined]
            except AttributeError:
                pass
        error_value = ErrorValue(error, getattr(error, "__redun_traceback__", None))
        self._record_call(job, error_value, error_value.get_hash())
        self._end_job(job)
        self._jobs_by_eval.pop(job.eval_hash, None)
        job.promise.do_reject(error)

    # Failure handling ----------------------------------------------------------------
    def _cancel_open_jobs(self, outcome: Promise) -> None:
        """After a failed execution, end every job that is still open as failed."""
        if outcome.is_rejected or self._open_jobs:
            self._failing = True
        for job in list(self._open_jobs.values()):
            if self._dryrun and job.status != RUNNING:
                self._open_jobs.pop(job.id, None)
                continue
            self._fail(
                job,
                JobCancelledError(
                    f"cancelled: execution {self._execution_id[:8]} failed before this job finished"
                ),
            )
        promise.drain()

    def _abort(self, error: BaseException) -> None:
        """An interrupt or internal error: stop executors and close every open job."""
        self._failing = True
        for executor in self.executors.values():
            try:
                executor.stop()
            except Exception:  # stopping is best effort here
                pass
        for job in list(self._open_jobs.values()):
            job.status = RUNNING
            self._fail(job, JobCancelledError(f"cancelled: {type(error).__name__}"))
        promise.drain()
        try:
            self.backend.flush()
        except BackendError:
            pass


class _FanOut(NamedTuple):
    """A value with many expressions to evaluate, whose calls start a slice at a time."""

    leaves: list[Expression]  # in program order
    parent: Job | None
    promises: list[Promise]  # of the leaves started so far
    substitute: Callable[[list], Any]  # the results, in the leaves' order -> the value
    result: Promise


class _TaskPlan(NamedTuple):
    """A task's options as one run uses them for every call of that task."""

    task: Task
    cache_scope: str
    config_args: bool
    shallow_check: bool
    executor: str
    tagged: bool  # the task has tags of its own (each job's row is tagged with them)


def _call_arguments(expr: TaskExpression) -> tuple[tuple, dict]:
    """(args, kwargs) of a task call, with the defaults of parameters left out filled in."""
    return expr.args, expr.task.with_defaults(expr.args, expr.kwargs)


_INTERNED: dict[frozenset, frozenset] = {}
_LEAF_SUBTREES: dict[str, frozenset] = {}


def _children(job: Job) -> dict[str, Job]:
    """``job``'s children, to add to (a job holds the shared EMPTY until its first child)."""
    children = job.children
    if children is EMPTY:
        children = job.children = {}
    return children


def _intern(value: frozenset) -> frozenset:
    return _INTERNED.setdefault(value, value)


def _leaf_subtree(task_hash: str) -> frozenset:
    """The subtree tasks of a call without children: its own task."""
    subtree = _LEAF_SUBTREES.get(task_hash)
    if subtree is None:
        subtree = _LEAF_SUBTREES[task_hash] = _intern(frozenset((task_hash,)))
    return subtree


def run(expr: Any, **kwargs: Any) -> Any:
    """Evaluate ``expr`` with a new default Scheduler (in-memory record)."""
    return Scheduler().run(expr, **kwargs)
