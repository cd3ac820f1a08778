"""Google Cloud Storage for the tests: gcp-storage-emulator on 127.0.0.1, once per session.

Clients find it through ``STORAGE_EMULATOR_HOST`` (redun then sends no credentials).
With CI=true a missing emulator or gcsfs is a failure; elsewhere the tests skip.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator

import pytest

from tests.services.common import free_port, missing

ZB_HNS = "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"
GCS_ENV = {
    ZB_HNS: "false",  # read when gcsfs is imported; else gcsfs stalls on the emulator
    "GOOGLE_CLOUD_PROJECT": "redun-test",
    "NO_GCE_CHECK": "true",  # never ask a metadata-server address
}


def clear_gcs_clients() -> None:
    """Drop cached gcsfs instances, whose sessions point at the emulator they were made for."""
    import gcsfs

    gcsfs.GCSFileSystem.clear_instance_cache()


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[str]:
    """URL of a GCS emulator; STORAGE_EMULATOR_HOST points every client at it."""
    for package in ("gcsfs", "gcp_storage_emulator"):
        if importlib.util.find_spec(package) is None:
            missing("GCS", f"{package} is not installed (pip install gcp-storage-emulator gcsfs)")
    if "gcsfs" in sys.modules and os.environ.get(ZB_HNS) != "false":
        missing("GCS", f"gcsfs was imported before {ZB_HNS}=false was set; it would stall")
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    httpd = getattr(getattr(server, "_api", None), "_httpd", None)
    if httpd is not None:
        # Clients that close a connection early (gcsfs does) are no test failure: without
        # this the emulator prints a traceback into whatever captures stderr at the time.
        httpd.handle_error = lambda request, client_address: None
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        # Set before gcsfs is first imported: it reads ZB_HNS then.
        for name, value in {**GCS_ENV, "STORAGE_EMULATOR_HOST": endpoint}.items():
            patch.setenv(name, value)
        clear_gcs_clients()
        try:
            yield endpoint
        finally:
            clear_gcs_clients()
            server.stop()


@pytest.fixture
def gcs_bucket(gcs_endpoint: str) -> str:
    """``gs://NAME`` of a new, empty bucket for this test."""
    import gcsfs

    name = f"redun-test-{uuid.uuid4().hex[:12]}"
    gcsfs.GCSFileSystem(token="anon", project="redun-test").mkdir(name)
    return f"gs://{name}"
