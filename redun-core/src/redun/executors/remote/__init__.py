"""The remote-job protocol: code packages, the scratch layout and a base for remote executors.

A remote executor writes a job's pickled input under ``{scratch}/jobs/{eval_hash}/``,
starts ``python -m redun oneshot`` somewhere else, and reads back the pickled output
(or error) when that command ends.
"""

from redun.executors.remote.base import RemoteCommand, RemoteExecutor
from redun.executors.remote.code import CodePackage, package_code, unpack_code
from redun.executors.remote.scratch import JobPaths, job_paths

__all__ = [
    "CodePackage",
    "JobPaths",
    "RemoteCommand",
    "RemoteExecutor",
    "job_paths",
    "package_code",
    "unpack_code",
]
