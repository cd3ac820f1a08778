"""Recursion with heavy common subexpressions: fib(n) calls fib(n-1) and fib(n-2)."""

from redun import task

redun_namespace = "redun_bench"


@task()
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@task()
def main(n: int = 25) -> int:
    """The n-th Fibonacci number, computed naively; CSE and caching make it linear."""
    if n < 2:
        return n
    return add(main(n - 1), main(n - 2))
