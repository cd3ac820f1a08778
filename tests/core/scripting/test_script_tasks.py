"""`@task(script=True)`: dedent, `#!` interpreters, the sh prelude, stdout results, failures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import redun.scripting as scripting
from redun.scripting import ScriptError, prepare_script, run_script

GREP_WORKFLOW = '''
from typing import List

from redun import File, task

redun_namespace = "scr_grep"


@task(script=True)
def grep(pattern: str, file: File):
    # Calls grep to find pattern in a file.
    return f"""
    grep {pattern} {file.path}
    """


@task()
def grep_files(pattern: str, files: List[File]) -> List[str]:
    # Calls grep to find a pattern on a list of files.
    matches = [
        grep(pattern, file)  # Result is stdout of `grep {pattern} {file.path}`
        for file in files
    ]
    return matches
'''


def test_grep_script_task_over_several_files(make_module, make_scheduler, tmp_path: Path) -> None:
    wf = make_module(GREP_WORKFLOW)
    paths = []
    for name, text in [("a", "apple\nbanana\n"), ("b", "cherry\napple pie\n"), ("c", "apple\n")]:
        path = tmp_path / f"{name}.txt"
        path.write_text(text)
        paths.append(path)

    def files():
        return [wf.File(str(p)) for p in paths]

    scheduler = make_scheduler()
    assert scheduler.run(wf.grep_files("apple", files())) == [
        b"apple\n",
        b"apple pie\n",
        b"apple\n",
    ]

    # A second run is cached; editing one file re-runs only its grep.
    cached = make_scheduler()
    assert cached.run(wf.grep_files("apple", files()))[1] == b"apple pie\n"
    assert cached.reporter.counts["scr_grep.grep"]["CACHED"] == 3
    paths[1].write_text("apple tart\n")
    again = make_scheduler()
    assert again.run(wf.grep_files("apple", files())) == [b"apple\n", b"apple tart\n", b"apple\n"]
    assert again.reporter.counts["scr_grep.grep"]["DONE"] == 1
    assert again.reporter.counts["scr_grep.grep"]["CACHED"] == 2


SCRIPTS_WORKFLOW = '''
from redun import task

redun_namespace = "scr_misc"


@task(script=True)
def hello_python(name: str):
    return f"""
    #!/usr/bin/env python3
    import sys
    for i in range(2):
        print("Hello, {name}!", i)
    print(sys.version_info[0])
    """


@task(script=True)
def heredoc():
    return """
        cat <<EOF
        top
          nested
        EOF
    """


@task(script=True)
def pipe_fails():
    return """
    false | true
    echo not reached
    """


@task(script=True)
def noisy_failure():
    return """
    echo to stdout
    for i in $(seq 1 30); do echo "err line $i" >&2; done
    exit 3
    """


@task(script=True)
def bad_interpreter():
    return """
    #!/no/such/interpreter -x
    print("never")
    """


@task(script=True)
def missing_env_program():
    return """
    #!/usr/bin/env no-such-program-for-redun
    print("never")
    """


@task(script=True)
def not_a_string():
    return 42
'''


@pytest.fixture
def scripts(make_module):
    return make_module(SCRIPTS_WORKFLOW)


def test_python_interpreter_from_shebang(scripts, make_scheduler) -> None:
    result = make_scheduler().run(scripts.hello_python("redun"))
    assert result == b"Hello, redun! 0\nHello, redun! 1\n3\n"


def test_script_is_dedented(scripts, make_scheduler) -> None:
    # The heredoc's end marker only matches once the common indentation is gone.
    assert make_scheduler().run(scripts.heredoc()) == b"top\n  nested\n"


def test_default_prelude_is_strict(scripts, make_scheduler) -> None:
    interpreter, text = prepare_script("  echo hi\n")
    assert "set -exo pipefail" in text and text.endswith("\necho hi\n")
    with pytest.raises(ScriptError) as info:
        make_scheduler().run(scripts.pipe_fails())
    message = str(info.value)
    assert "task scr_misc.pipe_fails: script exited with status 1" in message
    assert "+ false" in message and "+ true" in message  # set -x traces the failing pipe


def test_failure_names_task_status_and_stderr_tail(scripts, make_scheduler, query) -> None:
    with pytest.raises(ScriptError) as info:
        make_scheduler().run(scripts.noisy_failure())
    message = str(info.value)
    first, *tail = message.splitlines()
    assert (
        first == "task scr_misc.noisy_failure: script exited with status 3; its stderr ends with:"
    )
    assert len(tail) == scripting.STDERR_TAIL_LINES
    assert tail[-1] == "  | + exit 3"
    assert "  | err line 30" in tail
    assert not any(re.search(r"err line [1-9]$", line) for line in tail)  # only the end is kept
    assert repr(info.value) == (
        "ScriptError('task scr_misc.noisy_failure: script exited with status 3')"
    )

    # The failure is not reused: the next run runs the script again.
    again = make_scheduler()
    with pytest.raises(ScriptError):
        again.run(scripts.noisy_failure())
    assert again.reporter.counts["scr_misc.noisy_failure"]["FAILED"] == 1


def test_interpreter_that_cannot_start(scripts, make_scheduler) -> None:
    with pytest.raises(ScriptError, match="^task scr_misc.bad_interpreter: cannot start the ") as e:
        make_scheduler().run(scripts.bad_interpreter())
    assert "'/no/such/interpreter'" in str(e.value) and "#!" in str(e.value)

    with pytest.raises(ScriptError) as info:
        make_scheduler().run(scripts.missing_env_program())
    message = str(info.value)
    assert "status 127 (command not found)" in message
    assert "no-such-program-for-redun" in message


def test_script_body_must_return_a_string(scripts, make_scheduler) -> None:
    with pytest.raises(TypeError, match="task scr_misc.not_a_string: .* str, not int"):
        make_scheduler().run(scripts.not_a_string())


def test_plain_sh_when_bash_is_missing(monkeypatch, tmp_path: Path) -> None:
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    interpreter, text = prepare_script("echo hi")
    assert interpreter == ["sh"] and "set -ex" in text
    assert run_script("echo hi; pwd", cwd=str(tmp_path)) == f"hi\n{tmp_path}\n".encode()
    with pytest.raises(ScriptError, match="status 1"):
        run_script("false\necho not reached")


CLI_WORKFLOW = '''
from redun import File, script, task

redun_namespace = "scr_cli"


@task(script=True)
def fail():
    return """
    echo boom-on-stderr >&2
    exit 4
    """


@task()
def forgets_output(path: str):
    return script("echo working", outputs=File(path).stage("never-made.txt"))
'''


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("redun: error:")]


def test_cli_failing_script_is_one_clear_error(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "cli_script_wf.py"
    path.write_text(CLI_WORKFLOW)
    result = run_cli("run", path, "fail")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and 'File "' not in result.stderr
    [line] = _error_lines(result.stderr)
    assert line.startswith("redun: error: task scr_cli.fail: script exited with status 4")
    # The tail of the script's stderr follows, one quoted line each, and ends the output.
    tail = result.stderr[result.stderr.index(line) + len(line) :].strip("\n").splitlines()
    assert tail and all(text.startswith("  | ") for text in tail)
    assert "  | boom-on-stderr" in tail


def test_cli_missing_staged_output(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "cli_script_wf2.py"
    path.write_text(CLI_WORKFLOW)
    remote = tmp_path / "remote" / "out.txt"
    result = run_cli("run", path, "forgets_output", "--path", remote)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    [line] = _error_lines(result.stderr)
    assert "script() in task scr_cli.forgets_output" in line
    assert "did not create its staged output never-made.txt" in line
    assert str(remote) in line
    assert not remote.exists()
