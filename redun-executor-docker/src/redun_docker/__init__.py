"""redun-executor-docker: the ``docker`` executor type, running jobs as containers."""

from redun_docker.executor import DockerExecutor

__all__ = ["DockerExecutor"]
__version__ = "0.1.0"
