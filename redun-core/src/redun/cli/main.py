"""The root ``redun`` command: global options, logging, and the commands plugins add."""

from __future__ import annotations

import atexit
import gc
import logging
import sys

import click

from redun import __version__
from redun.cli.context import make_obj
from redun.cli.group import RedunGroup

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "WARN", "ERROR")
LOG_FORMAT = "[redun] %(message)s"


def setup_logging(ctx: click.Context, level: str) -> None:
    """Send the ``redun`` logger to stderr as ``[redun] message`` for this invocation."""
    logger = logging.getLogger("redun")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel("WARNING" if level.upper() == "WARN" else level.upper())
    logger.propagate = False

    def restore() -> None:
        logger.removeHandler(handler)
        logger.level, logger.propagate = saved

    ctx.call_on_close(restore)


def make_cli() -> RedunGroup:
    """A fresh root group (plugin commands are added when it first lists its commands)."""

    @click.group(
        name="redun",
        cls=RedunGroup,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    @click.option(
        "-c",
        "--config",
        "config_option",
        metavar="DIR",
        help="Config dir (default: $REDUN_CONFIG, else the nearest .redun/ above here).",
    )
    @click.option("-r", "--repo", metavar="NAME", help="Repository to use (from [repos.NAME]).")
    @click.option(
        "--log-level",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        default="INFO",
        show_default=True,
        help="Logging level.",
    )
    @click.version_option(__version__, "-V", "--version", message="%(version)s")
    @click.pass_context
    def redun(ctx: click.Context, config_option: str | None, repo: str | None, log_level: str):
        """redun: lazy, memoized, recorded workflows in plain Python."""
        setup_logging(ctx, log_level)
        make_obj(ctx, ctx.ensure_object(dict), config_option, repo)

    return redun  # type: ignore[return-value]


cli = make_cli()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    # The process ends with the command: its final garbage collections need not walk every
    # object a run or a listing made (about 30 ms of a 1,000-task run; 0.1 s of a listing).
    atexit.register(gc.freeze)
    cli.main(args=argv, prog_name="redun")
