"""What every test service fixture shares: a free loopback port, and what to do when the
service cannot be started (skip locally, fail in CI, where every test must run)."""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest


def missing(service: str, reason: str) -> NoReturn:
    """Skip the test for lack of ``service``; with CI=true, fail it instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{service} tests must run in CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
