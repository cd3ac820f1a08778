"""Fan-out of `n` trivial tasks and one reduce: `n + 2` jobs per run."""

from redun import task

redun_namespace = "redun_bench"


@task()
def leaf(i: int) -> int:
    """One trivial task."""
    return i


@task()
def total(values: list) -> int:
    """Reduce: the sum of every leaf."""
    return sum(values)


@task()
def main(n: int = 1000) -> int:
    """Fan out `n` leaves and reduce them; the result is n * (n - 1) // 2."""
    return total([leaf(i) for i in range(n)])
