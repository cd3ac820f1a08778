"""S3 for the tests: moto's server on 127.0.0.1, started once per session.

Clients find it through ``AWS_ENDPOINT_URL`` (with fake credentials and a region),
so subprocesses reach it too. With CI=true a missing moto or s3fs is a failure;
elsewhere the tests that need S3 skip.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

import pytest

from tests.services.common import missing

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # never ask an instance-metadata address
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def clear_s3_clients() -> None:
    """Drop cached s3fs instances, whose clients point at the endpoint they were made for."""
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of a moto S3 server; the AWS_* environment points every client at it."""
    try:
        import s3fs  # noqa: F401
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        missing("S3", f"{error.name} is not installed (pip install 'moto[server]' s3fs)")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_PROFILE", raising=False)
        for name, value in {**S3_ENV, "AWS_ENDPOINT_URL": endpoint}.items():
            patch.setenv(name, value)
        clear_s3_clients()
        try:
            yield endpoint
        finally:
            clear_s3_clients()
            server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """``s3://NAME`` of a new, empty bucket for this test."""
    import fsspec

    name = f"redun-test-{uuid.uuid4().hex[:12]}"
    fsspec.filesystem("s3").mkdir(name)
    return f"s3://{name}"
