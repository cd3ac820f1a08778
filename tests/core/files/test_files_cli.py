"""`redun fs cp SRC DEST` between local paths, s3://, gs:// and memory://, and its errors."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from redun import File
from redun.cli.main import make_cli


def redun(*args: str):
    return CliRunner().invoke(make_cli(), list(args))


def test_fs_cp_local_to_s3_to_gs_to_memory_to_local(
    tmp_path: Path, s3_bucket: str, gcs_bucket: str
) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(b"round trip\n" * 100)
    memory = f"memory://fs-cp-{uuid.uuid4().hex}/x.txt"
    hops = [str(src), f"{s3_bucket}/a/in.txt", f"{gcs_bucket}/b/in.txt", memory]
    for source, dest in zip(hops, hops[1:]):
        result = redun("fs", "cp", source, dest)
        assert (result.exit_code, result.output) == (0, ""), result.output
        assert File(dest).read("rb") == src.read_bytes()
    # A directory destination gets the source's basename.
    (tmp_path / "out").mkdir()
    assert redun("fs", "cp", memory, str(tmp_path / "out")).exit_code == 0
    assert redun("fs", "cp", hops[1], f"{s3_bucket}/c/").exit_code == 0
    assert (tmp_path / "out" / "x.txt").read_bytes() == src.read_bytes()
    assert File(f"{s3_bucket}/c/in.txt").read("rb") == src.read_bytes()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(URL, directory) of a plain HTTP server on 127.0.0.1 serving the directory."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    thread.join()


def test_fs_cp_from_http(http_root: tuple[str, Path], tmp_path: Path) -> None:
    url, root = http_root
    (root / "page.txt").write_text("served over http")
    result = redun("fs", "cp", f"{url}/page.txt", str(tmp_path / "page.txt"))
    assert (result.exit_code, result.output) == (0, "")
    assert (tmp_path / "page.txt").read_text() == "served over http"
    result = redun("fs", "cp", f"{url}/none.txt", str(tmp_path / "none.txt"))
    assert result.output == f"redun: error: cannot copy {url}/none.txt: it does not exist\n"


def test_fs_cp_errors_are_one_line(tmp_path: Path, s3_bucket: str) -> None:
    result = redun("fs", "cp", f"{s3_bucket}/missing.txt", str(tmp_path / "x"))
    assert result.exit_code == 1
    missing = f"{s3_bucket}/missing.txt"
    assert result.output == f"redun: error: cannot copy {missing}: it does not exist\n"
    result = redun("fs", "cp", str(tmp_path), f"{s3_bucket}/x")
    assert result.output == f"redun: error: cannot copy {tmp_path}: it is a directory\n"
    result = redun("fs", "cp", "nosuchproto://b/k", str(tmp_path / "x"))
    assert result.output == (
        "redun: error: nosuchproto://b/k: no filesystem is installed for nosuchproto:// URLs; "
        "install a redun plugin or an fsspec package that provides it\n"
    )


def test_missing_filesystem_package_names_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    code = """
        import sys
        for module in ("s3fs", "gcsfs", "aiohttp"):
            sys.modules[module] = None  # importing it fails, as if it were not installed
        from redun import File
        from redun.cli.main import main
        from redun.filesystems import FileSystemUnavailableError
        for url in ("s3://b/k", "gs://b/k", "http://127.0.0.1:9/k"):
            try:
                main(["fs", "cp", "a.txt", url])
            except SystemExit as done:
                print("exit", done.code)
        try:
            File("s3://b/k").hash
        except FileSystemUnavailableError as error:
            print(error)
        """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.stderr.splitlines() == [
        "redun: error: s3://b/k needs s3fs: pip install 'redun-core[s3]'",
        "redun: error: gs://b/k needs gcsfs: pip install 'redun-core[gcs]'",
        "redun: error: http://127.0.0.1:9/k needs aiohttp: pip install aiohttp",
    ]
    assert done.stdout.splitlines() == [
        "exit 1",
        "exit 1",
        "exit 1",
        "s3://b/k needs s3fs: pip install 'redun-core[s3]'",
    ]


def test_redun_run_names_the_task_and_the_package_to_install(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(
        textwrap.dedent(
            """
            from redun import File, task

            redun_namespace = "nofs"

            @task
            def fetch(url: str) -> str:
                return File(url).read()

            @task
            def main() -> str:
                return fetch("s3://bucket/key.txt")
            """
        )
    )
    code = """
        import sys
        sys.modules["s3fs"] = None  # importing it fails, as if it were not installed
        from redun.cli.main import main
        main(["run", "flow.py", "main"])
        """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "REDUN_CONFIG"},
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "redun: error: task nofs.fetch: s3://bucket/key.txt needs s3fs: "
        "pip install 'redun-core[s3]'"
    )
    assert "Traceback" not in done.stderr
