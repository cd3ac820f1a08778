"""`script()` with staged inputs and outputs: result shapes, tempdir, caching, errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from redun import File, script
from redun.scheduler import SchedulerError
from redun.scripting import ScriptError
from redun.staging import StagingError, StagingFile

ALIGN_WORKFLOW = '''
from redun import File, script, task

redun_namespace = "scr_align"


@task()
def align_dna_reads_to_genome(
    input_reads1_file: File,
    input_reads2_file: File,
    output_align_path: str,
    output_metrics_path: str,
    sample_id: str,
):
    return script(
        f"""
        echo run >> {RUNS}
        cat reads1.fastq.gz reads2.fastq.gz > sample.aln.bam
        echo "@RG ID:{sample_id}" >> sample.aln.bam

        # Collect some metrics about sample.aln.bam
        wc -l < sample.aln.bam > sample.depth_out.txt
        """,
        inputs=[
            input_reads1_file.stage("reads1.fastq.gz"),
            input_reads2_file.stage("reads2.fastq.gz"),
        ],
        outputs={
            "align": File(output_align_path).stage("sample.aln.bam"),
            "metrics": File(output_metrics_path).stage("sample.depth_out.txt"),
        },
        tempdir={TEMPDIR},
    )
'''


@pytest.mark.parametrize(
    "store, tempdir", [("memory_root", True), ("memory_root", False), ("s3_bucket", True)]
)
def test_two_outputs_as_a_dict_with_caching(
    make_module, make_scheduler, request, workdir: Path, runs, store: str, tempdir: bool
) -> None:
    # "Remote" storage: memory://, and S3 served by moto's server on 127.0.0.1.
    root = request.getfixturevalue(store)
    wf = make_module(ALIGN_WORKFLOW, RUNS=runs.path, TEMPDIR=tempdir)
    File(f"{root}/100.1.fastq.gz").write("read1\n")
    File(f"{root}/100.2.fastq.gz").write("read2\n")

    def main():
        return wf.align_dna_reads_to_genome(
            File(f"{root}/100.1.fastq.gz"),
            File(f"{root}/100.2.fastq.gz"),
            f"{root}/100.aln.bam",
            f"{root}/100.depth_out.txt",
            "100",
        )

    result = make_scheduler().run(main())
    assert set(result) == {"align", "metrics"}
    assert isinstance(result["align"], File) and not isinstance(result["align"], StagingFile)
    assert result["align"].path == f"{root}/100.aln.bam"
    assert result["align"].read() == "read1\nread2\n@RG ID:100\n"
    assert result["metrics"].read().strip() == "3"
    assert runs() == 1
    # Staged copies live in the working directory only without a tempdir.
    assert (workdir / "sample.aln.bam").exists() is not tempdir

    # Same inputs: cached, the script does not run again.
    assert make_scheduler().run(main()) == result
    assert runs() == 1

    # A deleted output makes the script run again (the output File is no longer valid).
    File(f"{root}/100.aln.bam").remove()
    again = make_scheduler().run(main())
    assert runs() == 2
    assert again["align"].read() == "read1\nread2\n@RG ID:100\n"

    # An edited input makes it run again too.
    File(f"{root}/100.2.fastq.gz").write("read2 edited\n")
    edited = make_scheduler().run(main())
    assert runs() == 3
    assert edited["align"].read() == "read1\nread2 edited\n@RG ID:100\n"


SHAPES_WORKFLOW = '''
from redun import File, script, task

redun_namespace = "scr_shapes"


@task()
def stdout_only(src: File):
    return script("wc -c < in.txt", inputs=[src.stage("in.txt")], tempdir=True)


@task()
def single(src: File, dest: str):
    return script(
        "tr a-z A-Z < in.txt > out.txt",
        inputs=src.stage("in.txt"),
        outputs=File(dest).stage("out.txt"),
        tempdir=True,
    )


@task()
def several(src: File, root: str):
    return script(
        """
        cp in.txt first.txt
        rev in.txt > second.txt
        mkdir -p sub && cat in.txt in.txt > sub/third.txt
        """,
        inputs={"main": [src.stage("in.txt")]},
        outputs=[
            File(root + "/first.txt").stage("first.txt"),
            {"second": File(root + "/second.txt").stage("second.txt"), "n": 2},
            (File(root + "/third.txt").stage("sub/third.txt"), "plain"),
        ],
        tempdir=True,
    )


@task()
def where(dest: str):
    return script("pwd > where.txt", outputs=File(dest).stage("where.txt"), tempdir=True)


@task()
def missing_input(src: str):
    return script("cat in.txt", inputs=[File(src).stage("in.txt")], tempdir=True)


@task()
def forgets_output(dest: str):
    return script(
        "echo run >> {RUNS}; touch made.txt",
        outputs=[File(dest + "/made.txt").stage("made.txt"), File(dest + "/x.txt").stage("x.txt")],
        tempdir=True,
    )


@task()
def fails(dest: str):
    return script(
        "echo partial > out.txt; echo bad news >&2; exit 7",
        outputs=File(dest).stage("out.txt"),
        tempdir=True,
    )


@task()
def on_executor(name: str):
    return script("echo on executor", executor=name)


@task()
def fails_on_executor(name: str):
    return script("echo nope >&2; exit 2", executor=name)
'''


@pytest.fixture
def shapes(make_module, runs):
    return make_module(SHAPES_WORKFLOW, RUNS=runs.path)


def test_without_outputs_the_result_is_stdout(shapes, make_scheduler, tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("hello")
    assert make_scheduler().run(shapes.stdout_only(File(str(src)))).strip() == b"5"


def test_single_output_local_to_memory(shapes, make_scheduler, memory_root, tmp_path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("shout\n")
    result = make_scheduler().run(shapes.single(File(str(src)), f"{memory_root}/out.txt"))
    assert type(result) is File
    assert result.path == f"{memory_root}/out.txt"
    assert result.read() == "SHOUT\n"


def test_nested_outputs_keep_their_shape(shapes, make_scheduler, memory_root, tmp_path) -> None:
    src = File(f"{memory_root}/in/in.txt")
    src.write("abc\n")
    dest = tmp_path / "results"
    first, middle, (third, plain) = make_scheduler().run(shapes.several(src, str(dest)))
    assert first.path == str(dest / "first.txt") and first.read() == "abc\n"
    assert set(middle) == {"second", "n"} and middle["n"] == 2
    assert middle["second"].read() == "cba\n"
    assert third.read() == "abc\nabc\n" and plain == "plain"


def test_tempdir_is_fresh_and_removed(shapes, make_scheduler, workdir: Path, tmp_path) -> None:
    result = make_scheduler().run(shapes.where(str(tmp_path / "where.txt")))
    ran_in = result.read().strip()
    assert ran_in != str(workdir) and os.path.basename(ran_in).startswith("redun-script-dir-")
    assert not os.path.exists(ran_in)
    assert not (workdir / "where.txt").exists()


def test_missing_staged_input_names_the_path(shapes, make_scheduler, memory_root) -> None:
    missing = f"{memory_root}/no-such-input.txt"
    with pytest.raises(StagingError) as info:
        make_scheduler().run(shapes.missing_input(missing))
    message = str(info.value)
    assert message == (
        f"script() in task scr_shapes.missing_input: staged input {missing} does not exist "
        "(it was to be copied to in.txt)"
    )


def test_missing_staged_output_records_nothing_valid(
    shapes, make_scheduler, memory_root, runs, query
) -> None:
    with pytest.raises(ScriptError) as info:
        make_scheduler().run(shapes.forgets_output(memory_root))
    message = str(info.value)
    assert message.startswith(
        "script() in task scr_shapes.forgets_output: the script did not create its staged "
        f"output x.txt (to be copied to {memory_root}/x.txt); script: echo run >> "
    )
    assert "\n" not in message
    # Nothing was staged out, not even the output the script did make.
    assert not File(f"{memory_root}/made.txt").exists()
    evaluations = query(
        "SELECT count(*) FROM evaluation JOIN task ON evaluation.task_hash = task.hash "
        "WHERE task.namespace = 'redun' AND task.name = 'script_task'"
    )
    assert evaluations == [(0,)]
    # So the next run runs the script again.
    with pytest.raises(ScriptError):
        make_scheduler().run(shapes.forgets_output(memory_root))
    assert runs() == 2


def test_failing_script_stages_nothing_out(shapes, make_scheduler, memory_root) -> None:
    with pytest.raises(ScriptError) as info:
        make_scheduler().run(shapes.fails(f"{memory_root}/out.txt"))
    message = str(info.value)
    assert message.startswith(
        "script() in task scr_shapes.fails: script exited with status 7; its stderr ends with:"
    )
    assert "  | bad news" in message
    assert not File(f"{memory_root}/out.txt").exists()


def test_builtin_task_names_and_options_pass_through(shapes, make_scheduler, query) -> None:
    config = {"executors": {"other": {"type": "local", "max_workers": "1"}}}
    assert make_scheduler(**config).run(shapes.on_executor("other")) == b"on executor\n"
    names = {row[0] for row in query("SELECT namespace || '.' || name FROM task")}
    assert {"redun.script", "redun.script_task", "scr_shapes.on_executor"} <= names

    with pytest.raises(SchedulerError, match="task redun.script_task asks for executor 'nowhere'"):
        make_scheduler().run(shapes.on_executor("nowhere"))


def test_script_outside_a_task(make_scheduler, tmp_path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("x")
    expr = script(["cat", "in.txt"], inputs=[File(str(src)).stage("in.txt")], tempdir=True)
    assert make_scheduler().run(expr) == b"x"


def test_process_executor_runs_script_and_reports_failure(shapes, make_scheduler) -> None:
    config = {"executors": {"proc": {"type": "local", "mode": "process", "max_workers": "1"}}}
    scheduler = make_scheduler(**config)
    assert scheduler.run(shapes.on_executor("proc")) == b"on executor\n"
    with pytest.raises(ScriptError) as info:
        scheduler.run(shapes.fails_on_executor("proc"))
    assert str(info.value) == (
        "script() in task scr_shapes.fails_on_executor: script exited with status 2; "
        "its stderr ends with:\n  | + echo nope\n  | nope\n  | + exit 2"
    )
