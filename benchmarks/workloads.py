"""The workloads, their sizes per mode, and what a correct run of each prints and records."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.record import Expected

SCENARIOS = ("help", "fanout", "chain", "recurse", "fib", "bigvalues", "log")
HUGE_FANOUT = 1_000_000


@dataclass(frozen=True)
class Sizes:
    """Workload sizes for one mode (full or quick)."""

    fanout: tuple[int, ...]
    chain: int
    recurse: int
    fib: int
    blob_size: int
    blob_count: int
    log_jobs: int
    help_samples: int


FULL = Sizes(
    fanout=(1_000, 10_000, 100_000),
    chain=10_000,
    recurse=10_000,
    fib=25,
    blob_size=100_000_000,
    blob_count=4,
    log_jobs=100_000,
    help_samples=5,
)
QUICK = Sizes(
    fanout=(20, 200),
    chain=100,
    recurse=100,
    fib=12,
    blob_size=1_000_000,
    blob_count=4,
    log_jobs=200,
    help_samples=3,
)


@dataclass(frozen=True)
class WorkflowRun:
    """One `redun run FILE TASK ARGS` invocation and what a correct cold run leaves."""

    name: str
    description: str
    file: str
    task: str
    args: tuple[str, ...]
    expected: Expected


def label(n: int) -> str:
    """A short count: 1000 -> '1k', 1000000 -> '1M', 200 -> '200'."""
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def fanout(n: int) -> WorkflowRun:
    """Fan-out of n leaves plus a reduce; cold run expectations."""
    return WorkflowRun(
        name=f"fanout-{label(n)}",
        description=f"{n} trivial tasks and a reduce",
        file="fanout.py",
        task="main",
        args=("--n", str(n)),
        expected=Expected(result=str(n * (n - 1) // 2), jobs=n + 2, call_nodes=n + 2),
    )


def fanout_warm_expected(n: int, runs: int) -> Expected:
    """Expectations after `runs` runs of fanout(n) on one repository (all but one cached)."""
    return Expected(result=str(n * (n - 1) // 2), jobs=runs * (n + 2), call_nodes=n + 2)


def _bytes_label(size: int) -> str:
    return f"{size // 1_000_000}MB" if size % 1_000_000 == 0 else f"{size}B"


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def single_runs(sizes: Sizes) -> dict[str, WorkflowRun]:
    """The one-run workloads by scenario name: chain, recurse, fib, bigvalues."""
    chain, recurse, fib = sizes.chain, sizes.recurse, sizes.fib
    count, size = sizes.blob_count, sizes.blob_size
    return {
        "chain": WorkflowRun(
            name=f"chain-{label(chain)}",
            description=f"x = inc(x) {chain} times, nested in the main task",
            file="chain.py",
            task="main",
            args=("--n", str(chain)),
            expected=Expected(result=str(chain), jobs=chain + 1, call_nodes=chain + 1),
        ),
        "recurse": WorkflowRun(
            name=f"recurse-{label(recurse)}",
            description=f"a task recursing {recurse} levels, inc at each level",
            file="recurse.py",
            task="main",
            args=("--n", str(recurse)),
            expected=Expected(
                result=str(recurse), jobs=2 * recurse + 1, call_nodes=2 * recurse + 1
            ),
        ),
        "fib": WorkflowRun(
            name=f"fib-{fib}",
            description=f"naive fib({fib}): heavy common subexpressions",
            file="fib.py",
            task="main",
            args=("--n", str(fib)),
            expected=Expected(result=str(_fib(fib)), jobs=None, call_nodes=2 * fib),
        ),
        "bigvalues": WorkflowRun(
            name=f"bigvalues-{count}x{_bytes_label(size)}",
            description=f"{count} tasks returning {size} bytes each, reduced to lengths",
            file="bigvalues.py",
            task="main",
            args=("--size", str(size), "--count", str(count)),
            expected=Expected(result=repr([size] * count), jobs=count + 2, call_nodes=count + 2),
        ),
    }
