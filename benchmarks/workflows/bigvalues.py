"""Tasks returning large values: `count` blobs of `size` bytes, reduced to their lengths."""

from redun import task

redun_namespace = "redun_bench"


@task()
def blob(i: int, size: int) -> bytes:
    """A bytes value of `size` bytes."""
    return bytes([i % 256]) * size


@task()
def lengths(blobs: list) -> list:
    """Reduce: the length of every blob."""
    return [len(b) for b in blobs]


@task()
def main(size: int = 100_000_000, count: int = 4) -> list:
    """Make `count` blobs and return their lengths."""
    return lengths([blob(i, size) for i in range(count)])
