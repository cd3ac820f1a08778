"""`redun repl`: an interactive Python console with the record open and query helpers.

When stdin is not a terminal, statements are read from it without prompts (so scripts
can be piped in), and the command exits 1 if any of them raised.
"""

from __future__ import annotations

import code
import sys
from typing import Any

import click

from redun.backends.db import models
from redun.backends.db.repl import RecordQueries
from redun.cli.log import get_backend

HELPERS = (
    ("executions(limit=20)", "recent executions, newest first"),
    ("execution(ref='-')", "one execution: id, prefix, '-' or '~N'"),
    ("jobs(task_name=None, execution=None, limit=100)", "jobs, newest first"),
    ("job(id)", "one job"),
    ("call_node(hash)", "a call: arguments, result, child calls"),
    ("value(hash)", "a stored value, unpickled"),
    ("tasks(name=None) / task(hash)", "recorded task versions (.source has the code)"),
    ("tags(entity_id=None)", "current tags"),
    ("log(*args)", "run `redun log ARGS...`, e.g. log('-')"),
    ("sql(statement, **params)", "rows of a SQL query"),
    ("session, conn, engine", "a SQLAlchemy ORM session, connection and engine"),
    ("Execution, Job, CallNode, Task, Value, Tag, ...", "the record's ORM models"),
    ("backend, select", "the RedunBackend; sqlalchemy.select"),
)


class RecordConsole(code.InteractiveConsole):
    """An InteractiveConsole that reads piped input without prompts and notes errors."""

    def __init__(self, namespace: dict[str, Any], interactive: bool) -> None:
        super().__init__(namespace, filename="<redun repl>")
        self.interactive = interactive
        self.failed = False

    def raw_input(self, prompt: str = "") -> str:
        if self.interactive:
            return input(prompt)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def showtraceback(self) -> None:
        self.failed = True
        super().showtraceback()

    def showsyntaxerror(self, filename: str | None = None, **kwargs: Any) -> None:
        self.failed = True
        super().showsyntaxerror(filename, **kwargs)

    def run(self, banner: str) -> None:
        """Read and run statements until end of input."""
        self.write(banner + "\n")
        more = False
        while True:
            try:
                line = self.raw_input("... " if more else ">>> ")
            except EOFError:
                if more:  # a block left open at the end of the input still runs
                    self.push("")
                if self.interactive:
                    self.write("\n")
                return
            except KeyboardInterrupt:
                self.write("\nKeyboardInterrupt\n")
                self.resetbuffer()
                more = False
                continue
            more = self.push(line)


def make_namespace(ctx: click.Context, backend: Any) -> tuple[dict[str, Any], list[Any]]:
    """The console's globals, and what to close when it ends."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    record = RecordQueries(backend)
    engine = backend.engine
    session = Session(engine)
    conn = engine.connect()
    root = ctx.find_root()

    def log(*args: str) -> None:
        """Run `redun log ARGS...` (e.g. ``log("-")``, ``log("--job", "--limit", "5")``)."""
        command = root.command.get_command(root, "log")  # type: ignore[attr-defined]
        try:
            with command.make_context("log", ["--no-pager", *args], parent=root) as sub:
                command.invoke(sub)
        except click.ClickException as error:
            error.show()

    namespace: dict[str, Any] = {
        "__name__": "__redun_repl__",
        "backend": backend,
        "record": record,
        "engine": engine,
        "session": session,
        "conn": conn,
        "select": select,
        "log": log,
    }
    helpers = ("executions", "execution", "jobs", "job", "call_node", "value", "tasks", "task")
    for name in (*helpers, "tags", "sql"):
        namespace[name] = getattr(record, name)
    for mapper in models.Base.registry.mappers:
        namespace[mapper.class_.__name__] = mapper.class_
    return namespace, [session, conn]


def banner(db_name: str) -> str:
    width = max(len(call) for call, _ in HELPERS)
    lines = [f"redun repl: the record {db_name} is open. Helpers:"]
    lines += [f"  {call:<{width}}  {about}" for call, about in HELPERS]
    return "\n".join(lines)


@click.command("repl")
@click.pass_context
def repl(ctx: click.Context) -> None:
    """An interactive Python console with the record open and query helpers.

    Statements piped to stdin run without prompts; the exit status is 1 if any raised.
    """
    backend = get_backend(ctx)
    namespace, resources = make_namespace(ctx, backend)
    interactive = sys.stdin.isatty()
    if interactive:
        try:
            import readline
            import rlcompleter

            readline.set_completer(rlcompleter.Completer(namespace).complete)
            readline.parse_and_bind("tab: complete")
        except ImportError:  # no readline on this platform: plain input
            pass
    console = RecordConsole(namespace, interactive)
    try:
        console.run(banner(backend.db_name))
    finally:
        for resource in resources:
            resource.close()
    if console.failed and not interactive:
        ctx.exit(1)
