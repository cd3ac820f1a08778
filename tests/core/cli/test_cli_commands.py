"""The root `redun` group: global options, ctx.obj, logging, `redun init`, the console script."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import redun
from redun.cli.main import make_cli
from redun.config import Config


def test_help_lists_builtin_commands(invoke) -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    commands = result.stdout.split("Commands:")[1]
    for name in ("init", "run", "plugins"):
        assert f"\n  {name} " in commands
    for option in ("-c, --config DIR", "-r, --repo NAME", "--log-level", "-V, --version"):
        assert option in result.stdout


def test_version(invoke) -> None:
    assert invoke("--version").stdout == f"{redun.__version__}\n"


def test_help_imports_no_database_code_or_command_modules(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from redun.cli.main import main
        try:
            main(["--help"])
        except SystemExit:
            pass
        lazy = ("sqlalchemy", "alembic", "redun.cli.run", "redun.cli.log", "redun.cli.db")
        heavy = [m for m in lazy if m in sys.modules]
        print("heavy:", heavy)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "heavy: []"


def test_init_creates_config_and_database(invoke, workdir: Path) -> None:
    result = invoke("init")
    assert result.exit_code == 0, result.stderr
    config_dir = workdir / ".redun"
    assert result.stdout.splitlines() == [
        f"Created {config_dir}{os.sep}",
        f"Created {config_dir / 'redun.ini'}",
        f"Created database {config_dir / 'redun.db'}",
        f"Initialized redun repository: {config_dir}",
    ]
    assert (config_dir / "redun.db").stat().st_size > 0
    again = invoke("init")
    assert again.stdout.splitlines() == [f"Initialized redun repository: {config_dir}"]


def test_init_honours_config_option_and_env(
    invoke, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("-c", "custom", "init").exit_code == 0
    assert (workdir / "custom" / "redun.ini").exists()
    monkeypatch.setenv("REDUN_CONFIG", str(workdir / "from-env"))
    assert invoke("init").exit_code == 0
    assert (workdir / "from-env" / "redun.db").exists()
    assert not (workdir / ".redun").exists()


def test_init_in_subdirectory_creates_its_own_repository(invoke, workdir: Path) -> None:
    (workdir / ".redun").mkdir()
    sub = workdir / "sub"
    sub.mkdir()
    os.chdir(sub)
    assert invoke("init").exit_code == 0
    assert (sub / ".redun" / "redun.ini").exists()


def probe_cli(seen: dict) -> click.Group:
    """A fresh root group with a command that records what it finds on ctx.obj."""
    cli = make_cli()

    @cli.command("probe")
    @click.option("--open", "open_db", is_flag=True)
    @click.pass_context
    def probe(ctx: click.Context, open_db: bool) -> None:
        obj = ctx.find_root().obj
        seen.update(obj)
        logging.getLogger("redun").info("info line")
        logging.getLogger("redun").warning("warning line")
        if open_db:
            seen["backend"] = obj["get_backend"]()
            seen["loaded"] = seen["backend"].is_loaded
            seen["same"] = obj["get_backend"]() is seen["backend"]
            seen["unloaded"] = obj["get_backend"](load=False)

    return cli


def test_ctx_obj_has_lazy_config_discovered_from_ancestor(
    fresh_plugins: None, workdir: Path
) -> None:
    (workdir / ".redun").mkdir()
    (workdir / ".redun" / "redun.ini").write_text("[limits]\ngpu = 2\n")
    deep = workdir / "a" / "b"
    deep.mkdir(parents=True)
    os.chdir(deep)
    seen: dict = {}
    result = CliRunner().invoke(probe_cli(seen), ["-r", "team", "probe"])
    assert result.exit_code == 0, result.stderr
    assert isinstance(seen["config"], Config)
    assert seen["config_dir"] == workdir / ".redun"
    assert seen["config"].limits() == {"gpu": 2}
    assert seen["repo"] == "team" and seen["config_option"] is None


def test_get_backend_creates_config_dir_and_loads_once(fresh_plugins: None, workdir: Path) -> None:
    seen: dict = {}
    result = CliRunner().invoke(probe_cli(seen), ["-c", "cfg", "probe", "--open"])
    assert result.exit_code == 0, result.stderr
    assert (workdir / "cfg" / "redun.ini").exists() and (workdir / "cfg" / "redun.db").exists()
    assert seen["loaded"] and seen["same"] is True
    assert not seen["unloaded"].is_loaded


@pytest.mark.parametrize(
    ("level", "lines"),
    [
        ("INFO", ["[redun] info line", "[redun] warning line"]),
        ("ERROR", []),
        ("warn", ["[redun] warning line"]),
    ],
)
def test_log_level_and_format(
    fresh_plugins: None, workdir: Path, level: str, lines: list[str]
) -> None:
    logger = logging.getLogger("redun")
    handlers, logger_level = list(logger.handlers), logger.level
    result = CliRunner().invoke(probe_cli({}), ["--log-level", level, "probe"])
    assert result.exit_code == 0
    assert result.stderr.splitlines() == lines
    assert logger.handlers == handlers and logger.level == logger_level


def test_console_script_runs_a_workflow(redun_exe: str, tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text(
        textwrap.dedent(
            """
            from redun import task

            redun_namespace = "cli_console"

            @task
            def main(name: str = "World", times: int = 1) -> str:
                return ", ".join([f"Hello, {name}!"] * times)
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "REDUN_CONFIG"}

    def redun_cmd(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [redun_exe, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    first = redun_cmd("run", "hello.py", "main")
    assert (first.returncode, first.stdout) == (0, "'Hello, World!'\n"), first.stderr
    assert (tmp_path / ".redun" / "redun.ini").exists()
    assert all(line.startswith("[redun] ") for line in first.stderr.splitlines())
    second = redun_cmd("run", "hello.py", "main", "--name", "Mars", "--times", "2")
    assert second.stdout == "'Hello, Mars!, Hello, Mars!'\n"
    missing = redun_cmd("run", "hello.py", "main", "--times")
    assert missing.returncode == 2 and "Option '--times' requires an argument" in missing.stderr
