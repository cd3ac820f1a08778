"""A chain of `n` nested calls, `x = inc(x)` built in the main task: `n + 1` jobs."""

from redun import task

redun_namespace = "redun_bench"


@task()
def inc(x: int) -> int:
    """Add one."""
    return x + 1


@task()
def main(n: int = 10000) -> int:
    """Nest `n` calls of inc; the result is n."""
    x = 0
    for _ in range(n):
        x = inc(x)
    return x
