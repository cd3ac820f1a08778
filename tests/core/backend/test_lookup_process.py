"""Cache lookups announced ahead run in a child process; the answers match direct ones."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest

from redun import task
from redun.backends.db import RedunBackend
from redun.backends.db.sqlite_process import SqliteProcess
from redun.scheduler import Scheduler, core


@task(namespace="tests.lookup")
def leaf(i: int) -> int:
    return i


@task(namespace="tests.lookup")
def fan_out(n: int) -> list:
    return [leaf(i) for i in range(n)]


def value_hashes(found: dict[str, tuple]) -> dict[str, tuple[str, str | None]]:
    """eval_hash -> (value hash, recorded leaf call)."""
    return {eval_hash: (value_hash, leaf) for eval_hash, (value_hash, _, leaf) in found.items()}


@pytest.fixture
def recorded(db_path: Path, make_scheduler) -> list[str]:
    """A record of fan_out(30); the eval hashes it holds."""
    scheduler = make_scheduler()
    assert scheduler.run(fan_out(30)) == list(range(30))
    scheduler.backend.close()
    backend = RedunBackend(f"sqlite:///{db_path}")
    backend.load()
    with backend.read_cursor() as cursor:
        cursor.execute("SELECT eval_hash FROM evaluation")
        hashes = [eval_hash for (eval_hash,) in cursor.fetchall()]
    backend.close()
    assert len(hashes) == 31
    return hashes


@pytest.fixture
def no_direct_reads(monkeypatch: pytest.MonkeyPatch):
    """``forbid(backend)``: the backend's own read cursor fails from now on."""

    def forbid(backend: RedunBackend) -> None:
        @contextlib.contextmanager
        def read_cursor():
            raise AssertionError("looked up in this process, not in the lookup process")
            yield

        monkeypatch.setattr(backend._db, "read_cursor", read_cursor)

    return forbid


def test_a_warm_fan_out_looks_up_its_next_slices_in_a_lookup_process(
    make_scheduler, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core, "CHECK_BATCH", 7)  # five slices of leaves
    cold = make_scheduler()
    assert cold.run(fan_out(30)) == list(range(30))
    cold.backend.close()
    warm = make_scheduler()
    assert warm.run(fan_out(30)) == list(range(30))
    process = warm.backend._reader._process
    assert isinstance(process, SqliteProcess) and process.role == "lookup"
    child = process._process
    warm.backend.close()
    assert child.returncode == 0  # ended with the backend
    assert query("SELECT cached, count(*) FROM job GROUP BY cached") == [(0, 31), (1, 31)]


def test_prefetched_answers_equal_direct_ones_misses_included(
    db_path: Path, recorded: list[str], no_direct_reads
) -> None:
    wanted = recorded + ["0" * 40, "f" * 40]  # two hashes the record lacks
    direct = RedunBackend(f"sqlite:///{db_path}")
    direct.load()
    expected = value_hashes(direct.get_evaluations(wanted))
    with direct.read_cursor() as cursor:
        cursor.execute("SELECT call_hash FROM job WHERE parent_id IS NOT NULL")
        leaf_calls = {call_hash for (call_hash,) in cursor.fetchall()}
    direct.close()
    assert len(expected) == 31
    # The leaves' calls are recorded as the cache finds them; fan_out's call has children.
    assert {leaf for _, leaf in expected.values()} == leaf_calls | {None}

    backend = RedunBackend(f"sqlite:///{db_path}")
    backend.load()
    backend.prefetch_evaluations(wanted)
    no_direct_reads(backend)  # every hash, found or not, comes from the lookup process
    assert value_hashes(backend.get_evaluations(wanted)) == expected
    backend.close()


def test_lookups_not_announced_are_asked_directly(db_path: Path, recorded: list[str]) -> None:
    backend = RedunBackend(f"sqlite:///{db_path}")
    backend.load()
    backend.prefetch_evaluations(recorded[:10])
    found = backend.get_evaluations(recorded[5:])  # half announced, half not
    assert set(found) == set(recorded[5:])
    assert set(backend.get_evaluations(recorded[:5])) == set(recorded[:5])  # (asked again)
    backend.close()


def test_a_killed_lookup_process_leaves_lookups_to_this_process(
    db_path: Path, recorded: list[str]
) -> None:
    backend = RedunBackend(f"sqlite:///{db_path}")
    backend.load()
    backend.prefetch_evaluations(recorded)
    child = backend._reader._process._process
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert set(backend.get_evaluations(recorded)) == set(recorded)
    assert backend._reader._process is None  # no more lookups ahead
    backend.prefetch_evaluations(recorded)
    assert set(backend.get_evaluations(recorded)) == set(recorded)
    backend.close()


def test_an_in_memory_record_has_no_lookup_process() -> None:
    scheduler = Scheduler()
    scheduler.load()
    scheduler.backend.prefetch_evaluations(["e" * 40])
    assert scheduler.backend._reader._process is None
    assert scheduler.backend.get_evaluations(["e" * 40]) == {}
