"""The plugin system: discovery, isolation of broken plugins, hooks, and `redun plugins`."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import textwrap
import uuid
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import redun
from redun.cli.main import make_cli
from redun.executors.local import LocalExecutor
from redun.plugins import (
    describe_failures,
    failed_plugins,
    get_executor_classes,
    get_plugin_manager,
    get_value_types,
    hookspecs,
    list_plugins,
    load_plugins,
)
from redun.scheduler import Scheduler


@pytest.fixture
def make_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_plugins: None):
    """Install a one-module plugin (source given) as a distribution on sys.path."""

    def make(source: str, version: str = "1.0") -> str:
        name = f"plug_{uuid.uuid4().hex[:8]}"
        site = tmp_path / name
        dist = site / f"{name}-{version}.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (dist / "entry_points.txt").write_text(f"[redun]\n{name} = {name}\n")
        (site / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(site))
        return name

    return make


def by_name(name: str):
    return next(p for p in list_plugins() if p.name == name)


def test_builtin_plugin_registers_local_executor_and_commands(fresh_plugins: None) -> None:
    builtin = by_name("redun")
    assert builtin.package == "redun-core" and builtin.version == redun.__version__
    assert builtin.hooks == ["register_commands", "register_executors", "register_file_systems"]
    assert get_executor_classes()["local"] is LocalExecutor


def test_installed_plugins_load_and_broken_one_is_reported(with_plugins: list[str]) -> None:
    example = by_name("example")
    assert example.package == "redun-plugin-example" and example.version == "0.3.1"
    assert example.hooks == [
        "register_commands",
        "register_executors",
        "register_file_systems",
        "register_value_types",
    ]
    assert example.error is None
    broken = by_name("broken")
    assert broken.package == "redun-plugin-broken" and broken.version == "0.0.1"
    assert broken.error == "RuntimeError: redun-plugin-broken fails on import on purpose"
    assert broken.hooks == []
    assert [p.name for p in failed_plugins()] == ["broken"]
    assert "broken: RuntimeError" in describe_failures()
    assert describe_failures(["example"]) == ""


def test_plugin_executor_and_value_type_are_registered(with_plugins: list[str]) -> None:
    from redun_plugin_example.executor import InlineExecutor
    from redun_plugin_example.values import Greeting

    classes = get_executor_classes()
    assert classes["inline"] is InlineExecutor and classes["local"] is LocalExecutor
    assert get_value_types() == {"example.Greeting": Greeting}


def test_load_plugins_is_idempotent(with_plugins: list[str]) -> None:
    pm = load_plugins()
    assert load_plugins() is pm and get_plugin_manager() is pm
    assert [name for name, _ in pm.list_name_plugin()] == ["redun", "example"]


@pytest.mark.parametrize(
    ("selection", "loaded", "failed"),
    [
        ("", ["redun"], []),
        ("example", ["redun", "example"], []),
        ("redun-plugin-example, broken", ["redun", "example"], ["broken"]),
        ("example,nope", ["redun", "example"], ["nope"]),
    ],
)
def test_redun_plugins_env_chooses_installed_plugins(
    with_plugins: list[str],
    monkeypatch: pytest.MonkeyPatch,
    selection: str,
    loaded: list[str],
    failed: list[str],
) -> None:
    monkeypatch.setenv("REDUN_PLUGINS", selection)
    assert [name for name, _ in load_plugins().list_name_plugin()] == loaded
    assert [p.name for p in failed_plugins()] == failed
    if "nope" in failed:
        assert "not installed" in by_name("nope").error


def test_misspelled_hook_fails_that_plugin_loudly(make_plugin) -> None:
    name = make_plugin(
        """
        from redun import hookimpl

        @hookimpl
        def register_executor(register):
            pass
        """
    )
    info = by_name(name)
    assert info.error.startswith("PluginError: unknown hook(s) register_executor")
    assert "register_executors" in info.error
    assert not get_plugin_manager().has_plugin(name)
    assert "local" in get_executor_classes()


def test_hook_that_raises_is_recorded_and_others_still_register(make_plugin) -> None:
    name = make_plugin(
        """
        from redun import hookimpl

        @hookimpl
        def register_executors(register):
            raise ValueError("no credentials")
        """
    )
    assert "local" in get_executor_classes()
    info = by_name(name)
    assert info.hooks == ["register_executors"]
    assert info.error == "register_executors failed: ValueError: no credentials"


def test_registering_a_non_executor_is_rejected(make_plugin) -> None:
    name = make_plugin(
        """
        from redun import hookimpl

        @hookimpl
        def register_executors(register):
            register("weird", dict)
        """
    )
    assert "weird" not in get_executor_classes()
    assert "must be a subclass of redun.executors.base.Executor" in by_name(name).error


def test_plugin_cannot_replace_builtin_executor_or_command(make_plugin) -> None:
    make_plugin(
        """
        import click
        from redun import hookimpl
        from redun.executors.local import LocalExecutor

        class Impostor(LocalExecutor):
            pass

        @hookimpl
        def register_executors(register):
            register("local", Impostor)

        @hookimpl
        def register_commands(cli):
            @cli.command("run")
            def fake_run():
                click.echo("fake")
        """
    )
    assert get_executor_classes()["local"] is LocalExecutor
    result = CliRunner().invoke(make_cli(), ["run", "--help"])
    assert "Run TASK from the workflow FILE" in result.stdout


def test_every_hook_is_documented_and_used_by_the_example_plugin(with_plugins: list[str]) -> None:
    specs = sorted(
        name
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("register_")
    )
    assert specs == [
        "register_commands",
        "register_executors",
        "register_file_systems",
        "register_value_types",
    ]
    for name in specs:
        assert len(inspect.getdoc(getattr(hookspecs, name)) or "") > 40, name
    assert by_name("example").hooks == specs


def test_redun_plugins_command_lists_versions_and_failures(
    with_plugins: list[str], invoke, workdir: Path
) -> None:
    result = invoke("plugins")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PLUGIN", "PACKAGE", "VERSION", "HOOKS"]
    assert lines[1].split()[:3] == ["redun", "redun-core", redun.__version__]
    assert lines[2].split()[:3] == ["example", "redun-plugin-example", "0.3.1"]
    assert "Executor types: inline, local" in result.stdout
    failed = result.stdout.split("Failed to load:")[1]
    assert "broken" in failed and "redun-plugin-broken" in failed
    assert "RuntimeError: redun-plugin-broken fails on import on purpose" in failed
    assert not (workdir / ".redun").exists()


def test_plugin_command_runs_and_builtins_work_despite_broken_plugin(
    with_plugins: list[str], invoke, workdir: Path
) -> None:
    result = invoke("hello-plugin", "--name", "Mars")
    assert (result.exit_code, result.stdout) == (0, "Hello, Mars, from redun-plugin-example!\n")
    assert invoke("init").exit_code == 0
    assert (workdir / ".redun" / "redun.db").exists()
    help_text = invoke("--help").stdout
    assert "hello-plugin" in help_text and "Print a greeting" in help_text


def test_unknown_command_mentions_failed_plugins(with_plugins: list[str]) -> None:
    result = CliRunner().invoke(make_cli(), ["aws"])
    assert result.exit_code == 2
    assert "No such command 'aws'" in result.stderr
    assert "broken: RuntimeError: redun-plugin-broken fails on import" in result.stderr


def test_inline_executor_runs_a_workflow(with_plugins: list[str], tmp_path: Path) -> None:
    from redun_plugin_example.executor import InlineExecutor

    @redun.task(namespace="plugin_test", executor="inline")
    def double(x: int) -> int:
        return 2 * x

    @redun.task(namespace="plugin_test", executor="inline")
    def fail() -> None:
        raise KeyError("inline failure")

    config = {
        "backend": {"db_uri": f"sqlite:///{tmp_path / 'redun.db'}"},
        "executors": {"inline": {"type": "inline"}},
    }
    scheduler = Scheduler(config=config)
    assert scheduler.run(double(21)) == 42
    executor = scheduler.executors["inline"]
    assert isinstance(executor, InlineExecutor) and executor.jobs_run == 1
    with pytest.raises(KeyError, match="inline failure"):
        scheduler.run(fail())


def test_console_script_with_installed_plugins(
    plugin_site: list[str], redun_exe: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDUN_PLUGINS", "REDUN_CONFIG")}
    env["PYTHONPATH"] = os.pathsep.join(plugin_site)

    def redun_cmd(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [redun_exe, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )

    listing = redun_cmd("plugins")
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"^example +redun-plugin-example +0\.3\.1 ", listing.stdout, re.M)
    assert "RuntimeError: redun-plugin-broken fails on import on purpose" in listing.stdout
    hello = redun_cmd("hello-plugin")
    assert (hello.returncode, hello.stdout) == (0, "Hello, redun, from redun-plugin-example!\n")
    assert hello.stderr == ""
    assert redun_cmd("--version").stdout == f"{redun.__version__}\n"


def test_register_commands_receives_the_root_group(make_plugin) -> None:
    name = make_plugin(
        """
        from redun import hookimpl

        seen = []

        @hookimpl
        def register_commands(cli):
            seen.append(cli)
        """
    )
    cli = make_cli()
    assert "run" in cli.list_commands(click.Context(cli))
    module = __import__(name)
    assert module.seen == [cli]
