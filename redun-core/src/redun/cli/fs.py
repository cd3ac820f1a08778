"""``redun fs cp SRC DEST``: copy a file between any two local paths or URLs."""

from __future__ import annotations

import os

import click

from redun.cli.errors import CliError, last_line


@click.group("fs")
def fs() -> None:
    """Work with files on any filesystem redun can reach (local, s3://, gs://, ...)."""


@fs.command("cp")
@click.argument("src")
@click.argument("dest")
def cp(src: str, dest: str) -> None:
    """Copy the file SRC to DEST.

    A DEST ending in "/" (or naming a local directory) gets SRC's basename.
    """
    from redun.file import File
    from redun.filesystems import FileSystemUnavailableError

    if dest.endswith("/") or ("://" not in dest and os.path.isdir(dest)):
        dest = dest.rstrip("/") + "/" + os.path.basename(src.rstrip("/"))
    source, target = File(src), File(dest)
    try:
        if not source.isfile():
            reason = "is a directory" if source.isdir() else "does not exist"
            raise CliError(f"cannot copy {src}: it {reason}")
        source.copy_to(target)
    except FileSystemUnavailableError as error:
        raise CliError(str(error)) from None
    except OSError as error:
        raise CliError(f"cannot copy {src} to {dest}: {last_line(error)}") from None
