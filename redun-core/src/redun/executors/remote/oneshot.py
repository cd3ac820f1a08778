"""``redun oneshot``: run one task from a pickled input, write its pickled result or error.

The input is ``(args, kwargs)`` or ``(args, kwargs, task_options)``. The output is the
pickled result; the error is the pickled ``(exception, traceback text)``. An output that
is already there and still valid is kept and nothing runs (unless ``use_cache=False``).
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from redun.executors.remote import scratch

EXIT_OK, EXIT_TASK_FAILED = 0, 1


def run_oneshot(
    script: str,
    task_name: str,
    input_path: str,
    output_path: str,
    error_path: str,
    code: str | None = None,
    import_paths: Sequence[str] = (),
    use_cache: bool = True,
) -> int:
    """Run ``task_name`` (defined by ``script``) on the input; 0 on success, 1 on error.

    Every failure, including one importing the code, is written to ``error_path``.
    """
    workdir = tempfile.mkdtemp(prefix="redun-code-") if code else None
    cwd = os.getcwd()
    try:
        if workdir is not None:
            from redun.executors.remote.code import unpack_code

            unpack_code(code, workdir)  # type: ignore[arg-type]
            os.chdir(workdir)
        for path in [*import_paths, *([workdir] if workdir else [])]:
            if path not in sys.path:
                sys.path.insert(0, os.path.abspath(path))
        if use_cache and _valid_output(output_path):
            return EXIT_OK
        try:
            task = load_task(script, task_name)
            loaded = scratch.read_pickle(input_path)
            args, kwargs = loaded[0], loaded[1]
            options = loaded[2] if len(loaded) > 2 else {}
            if options:
                task = task.options(**options)
            from redun.executors.base import exec_task

            result = exec_task(task, tuple(args), dict(kwargs))
            from redun.hashing import pickle_dumps

            data = pickle_dumps(result)
        except Exception as error:
            sys.stderr.write(write_error(error_path, error))
            return EXIT_TASK_FAILED
        scratch.remove(error_path)
        scratch.write_bytes(output_path, data)
        return EXIT_OK
    finally:
        os.chdir(cwd)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def load_task(script: str, task_name: str) -> Any:
    """Import ``script`` (a ``.py`` path or a module name) and return its task."""
    from redun.task import get_task_registry, import_path

    if script.endswith(".py") or os.sep in script or "/" in script:
        if not os.path.exists(script):
            raise FileNotFoundError(
                f"oneshot: script {script} does not exist here; ship the code with --code "
                "or mount it at the same path"
            )
        import_path(script)
    elif script:
        importlib.import_module(script)
    found = get_task_registry().get(task_name)
    if found is None:
        raise LookupError(f"oneshot: task {task_name} is not defined by {script}")
    return found


def write_error(error_path: str, error: BaseException) -> str:
    """Write ``(error, traceback text)`` and return the text; an error that cannot be
    pickled is replaced by a RuntimeError with its type and message."""
    import pickle

    from redun.hashing import pickle_dumps
    from redun.scheduler.errors import user_traceback

    text = "".join(user_traceback(error))
    try:
        data = pickle_dumps((error, text))
        pickle.loads(data)
    except Exception:
        data = pickle_dumps((RuntimeError(f"{type(error).__name__}: {error}"), text))
    scratch.write_bytes(error_path, data)
    return text


def _valid_output(output_path: str) -> bool:
    """Whether a readable output whose values are still valid (e.g. files unchanged) exists."""
    if not scratch.exists(output_path):
        return False
    try:
        from redun.values import is_value_valid

        return bool(is_value_valid(scratch.read_pickle(output_path)))
    except Exception:
        return False
