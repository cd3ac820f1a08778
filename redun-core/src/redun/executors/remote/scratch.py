"""The scratch layout: ``{scratch}/jobs/{eval_hash}/{input,output,error}`` and
``{scratch}/code/{hash}.tar.gz``, on a local path or any fsspec URL."""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass
from typing import Any

from redun.file import File
from redun.hashing import pickle_dumps


def join(base: str, *parts: str) -> str:
    """``base/part/...`` without doubled slashes (works for paths and URLs)."""
    return "/".join([base.rstrip("/"), *parts])


@dataclass(frozen=True)
class JobPaths:
    """Where one job's input, output and error live."""

    dir: str
    input: str
    output: str
    error: str


def job_paths(scratch: str, eval_hash: str) -> JobPaths:
    """The scratch paths of the job with ``eval_hash``."""
    base = join(scratch, "jobs", eval_hash)
    return JobPaths(base, join(base, "input"), join(base, "output"), join(base, "error"))


def code_path(scratch: str, code_hash: str) -> str:
    """Where the code package with ``code_hash`` is uploaded."""
    return join(scratch, "code", f"{code_hash}.tar.gz")


def write_pickle(path: str, value: Any) -> None:
    """Pickle ``value`` to ``path`` (parents are created)."""
    write_bytes(path, pickle_dumps(value))


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` (parents are created); a local file appears whole or not
    at all, so a reader never sees half an output."""
    file = File(path)
    if file.protocol != "local":
        file.write(data, mode="wb")
        return
    target = os.path.abspath(path.removeprefix("file://"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".redun-", dir=os.path.dirname(target))
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, target)
    except BaseException:
        os.unlink(temp)
        raise


def read_pickle(path: str) -> Any:
    """Unpickle the value stored at ``path``."""
    with File(path).open("rb") as stream:
        return pickle.load(stream)


def exists(path: str) -> bool:
    """Whether ``path`` exists."""
    return File(path).exists()


def remove(path: str) -> None:
    """Remove ``path`` if it exists."""
    file = File(path)
    if file.exists():
        file.remove()
