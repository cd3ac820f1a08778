"""A task that recurses `n` levels: `2 * n + 1` jobs (n + 1 levels, n incs)."""

from redun import task

redun_namespace = "redun_bench"


@task()
def inc(x: int) -> int:
    """Add one."""
    return x + 1


@task()
def main(n: int = 10000) -> int:
    """Recurse to depth `n`; the result is n."""
    if n == 0:
        return 0
    return inc(main(n - 1))
