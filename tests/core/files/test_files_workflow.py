"""A task whose output lives on S3: cached while the object is unchanged, re-run otherwise."""

from __future__ import annotations

import fsspec

from redun import File


def test_s3_output_is_cached_until_deleted_or_overwritten(
    s3_bucket: str, make_scheduler, write_module
) -> None:
    module = write_module(
        "s3_output_flow",
        """
        from redun import File, task
        RUNS = []

        @task()
        def shout(src: File, dest: str) -> File:
            RUNS.append(dest)
            out = File(dest)
            out.write(src.read().upper())
            return out

        @task()
        def main(src: File, dest: str) -> list:
            return [shout(src, dest)]
        """,
    )
    src = File(f"{s3_bucket}/in.txt")
    src.write("hello")
    dest = f"{s3_bucket}/out/shout.txt"

    def run() -> File:
        return make_scheduler().run(module.main(File(src.path), dest))[0]

    assert run().read() == "HELLO"
    assert module.RUNS == [dest]
    assert run().read() == "HELLO"
    assert module.RUNS == [dest]  # cached: the object still has its ETag

    other = fsspec.filesystem("s3", skip_instance_cache=True)
    other.rm(dest)
    assert run().read() == "HELLO"
    assert len(module.RUNS) == 2  # the deleted output is made again

    with other.open(dest, "wb") as out:
        out.write(b"tampered")
    assert run().read() == "HELLO"
    assert len(module.RUNS) == 3

    with other.open(src.path, "wb") as out:
        out.write(b"world")  # a changed input: a new argument hash
    assert run().read() == "WORLD"
    assert len(module.RUNS) == 4
    assert run().read() == "WORLD" and len(module.RUNS) == 4
