"""``python -m redun.executors.remote.launcher [--code URL] -- REDUN_ARGS...``: the remote side
of ``redun launch``: unpack the code package (if any), enter it and run ``redun`` there."""

from __future__ import annotations

import os
import sys
import tempfile


def main(argv: list[str]) -> None:
    """Unpack ``--code URL`` into a temporary directory, chdir there, run ``redun ARGS``."""
    code = None
    if argv[:1] == ["--code"]:
        code, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if code:
        from redun.executors.remote.code import unpack_code

        workdir = tempfile.mkdtemp(prefix="redun-launch-")
        unpack_code(code, workdir)
        os.chdir(workdir)
        sys.path.insert(0, workdir)
    from redun.cli.main import main as redun_main

    redun_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
