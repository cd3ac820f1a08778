"""Filesystems come from the plugin hook `register_file_systems`, loaded only for a URL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from redun import Dir, File, hookimpl
from redun.filesystems import get_support
from redun.filesystems.base import FileSystemSupport
from redun.filesystems.gcs import GcsSupport
from redun.filesystems.generic import FsspecSupport
from redun.filesystems.s3 import S3Support
from redun.plugins import get_file_system_classes, list_plugins, load_plugins

EXAMPLE_SRC = Path(__file__).resolve().parents[2] / "plugins" / "redun-plugin-example" / "src"
HEAVY = ("fsspec", "s3fs", "gcsfs", "boto3", "botocore", "aiobotocore", "aiohttp")


def run_python(code: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


def test_local_run_loads_no_plugins_and_no_filesystem_packages(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(
        textwrap.dedent(
            """
            from redun import File, task

            @task()
            def copy(src: File) -> File:
                return src.copy_to(File("out.txt"))
            """
        )
    )
    (tmp_path / "in.txt").write_text("x")
    heavy = HEAVY + ("redun.plugins.manager", "redun.filesystems.s3")
    last = run_python(
        f"""
        import sys
        from redun import File, Scheduler
        from redun.task import import_path
        flow = import_path("flow.py")
        scheduler = Scheduler(config={{"backend": {{"db_uri": "sqlite:///redun.db"}}}})
        for _ in range(2):  # the second run checks the cached output's validity
            assert scheduler.run(flow.copy(File("in.txt"))).read() == "x"
        print("loaded:", [m for m in {heavy!r} if m in sys.modules])
        """,
        tmp_path,
    )
    assert last == "loaded: []"


def test_a_url_loads_plugins_but_only_its_own_filesystem(tmp_path: Path) -> None:
    last = run_python(
        f"""
        import sys
        from redun import File
        File("memory://x/a.txt").write("a")
        print("loaded:", [m for m in {HEAVY + ("redun.plugins.manager",)!r} if m in sys.modules])
        """,
        tmp_path,
    )
    assert last == "loaded: ['fsspec', 'redun.plugins.manager']"


def test_builtin_protocols(fresh_plugins: None) -> None:
    classes = get_file_system_classes()
    assert {p: classes[p] for p in ("s3", "s3a", "gs", "gcs", "http", "https", "memory")} == {
        "s3": S3Support,
        "s3a": S3Support,
        "gs": GcsSupport,
        "gcs": GcsSupport,
        "http": FsspecSupport,
        "https": FsspecSupport,
        "memory": FsspecSupport,
    }
    assert type(get_support("ftp")) is FsspecSupport  # anything else fsspec knows
    assert get_support("s3") is get_support("s3")
    builtin = next(p for p in list_plugins() if p.name == "redun")
    assert "register_file_systems" in builtin.hooks


def test_a_plugin_adds_a_protocol(fresh_plugins: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE_SRC))
    from redun_plugin_example import plugin
    from redun_plugin_example.filesystem import ExampleSupport

    load_plugins().register(plugin, name="example")
    assert get_file_system_classes()["example"] is ExampleSupport
    file = File("example://notes/a.txt")
    file.write("hello")
    assert File("example://notes/a.txt").read() == "hello"
    assert file.fs.cat("/redun-plugin-example/notes/a.txt") == b"hello"  # where it lives
    directory = Dir("example://notes")
    assert [f.path for f in directory] == ["example://notes/a.txt"]
    assert [f.hash for f in directory] == [file.hash]
    file.remove()


def test_bad_registrations_are_reported_against_the_plugin(fresh_plugins: None) -> None:
    class NotSupport:
        pass

    class Good(FileSystemSupport):
        def hash_info(self, url: str, info: dict | None) -> str:
            return url

    bad = types.SimpleNamespace()

    @hookimpl
    def register_file_systems(register):
        register("good", Good)
        register("s3", Good)  # the built-in one stays
        register("Bad Scheme", Good)

    bad.register_file_systems = register_file_systems
    wrong = types.SimpleNamespace()

    @hookimpl
    def register_file_systems_wrong(register):
        register("wrong", NotSupport)

    wrong.register_file_systems = register_file_systems_wrong
    pm = load_plugins()
    pm.register(bad, name="bad")
    pm.register(wrong, name="wrong")
    classes = get_file_system_classes()
    assert classes["good"] is Good and classes["s3"] is S3Support
    assert "wrong" not in classes
    errors = {p.name: p.error for p in list_plugins()}
    assert errors["bad"] == (
        "register_file_systems failed: PluginError: file system protocol 'Bad Scheme' "
        "is not a URL scheme"
    )
    assert errors["wrong"].startswith("register_file_systems failed: PluginError: protocol 'wrong'")
