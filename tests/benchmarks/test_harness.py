"""The benchmark harness runs end to end on tiny sizes and reports correct figures."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.process import run_process
from benchmarks.record import Expected, check_run

ROOT = Path(__file__).resolve().parents[2]
QUICK_ROWS = [
    "help",
    "fanout-20-cold",
    "fanout-20-warm",
    "fanout-200-cold",
    "fanout-200-warm",
    "chain-100",
    "recurse-100",
    "fib-12",
    "bigvalues-4x1MB",
    "log-200",
    "log-job-200",
]


def _harness(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)]
        + ["--workdir", str(tmp_path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.exists(), done.stderr
    return done, json.loads(out.read_text())


def test_quick_run_on_our_engine(tmp_path: Path) -> None:
    done, results = _harness(tmp_path, "--no-reference")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {row["name"]: row for row in results["rows"]}
    assert list(rows) == QUICK_ROWS
    for row in rows.values():
        assert row["reference"]["status"] == "skipped"
        assert row["ratio"] is None
        ours = row["ours"]
        if row["checked"] or row["name"] == "log-200":
            assert ours["status"] == "ok", (row["name"], ours["message"])
            assert len(ours["seconds"]) == 1 and ours["seconds"][0] > 0
            assert ours["peak_rss_bytes"] > 10**6
    assert len(rows["help"]["ours"]["seconds"]) == 3
    assert rows["log-job-200"]["ours"]["status"] in ("ok", "unsupported", "fails")
    verdicts = {v["target"]: v["status"] for v in results["targets"]}
    assert verdicts[next(t for t in verdicts if t.startswith("our runs"))] == "PASS"
    assert "workload" in done.stdout and "fanout-200-warm" in done.stdout
    assert results["machine"]["cores"] >= 1
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_reference_failures_are_recorded_not_raised(tmp_path: Path) -> None:
    fake = tmp_path / "fake-redun"
    fake.write_text(
        "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
        "echo 'RecursionError: maximum recursion depth exceeded' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    done, results = _harness(tmp_path, "--only", "chain", "--reference", str(fake))
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = results["rows"]
    assert row["ours"]["status"] == "ok"
    assert row["reference"] == {
        "status": "fails",
        "seconds": [],
        "median": None,
        "best": None,
        "peak_rss_bytes": None,
        "message": "RecursionError: maximum recursion depth exceeded",
    }
    assert "fails [1]" in done.stdout
    assert "RecursionError: maximum recursion depth exceeded" in done.stdout


def test_unknown_scenario_is_a_one_line_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--no-reference", "--only", "fanout,nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "benchmarks: unknown --only nope; choose from help, fanout, chain, recurse, fib, "
        "bigvalues, log"
    ]


def test_process_measures_peak_rss_and_timeout(tmp_path: Path) -> None:
    grow = "b = bytearray(200 * 10**6); print(len(b))"
    result = run_process([sys.executable, "-c", grow], tmp_path, tmp_path / "a", timeout=60)
    assert result.ok and result.last_stdout_line() == str(200 * 10**6)
    assert result.peak_rss >= 200 * 10**6
    small = run_process([sys.executable, "-c", "pass"], tmp_path, tmp_path / "b", timeout=60)
    assert small.peak_rss < 100 * 10**6

    slow = run_process(["sleep", "30"], tmp_path, tmp_path / "c", timeout=0.2)
    assert slow.timed_out and not slow.ok and slow.seconds < 10


@pytest.mark.parametrize(
    ("jobs", "call_nodes", "values", "printed", "problem"),
    [
        (3, 3, 3, "45", None),
        (2, 3, 3, "45", "job rows 2, expected 3"),
        (3, 2, 3, "45", "call_node rows 2, expected 3"),
        (3, 3, 3, "44", "printed '44', expected '45'"),
        (3, 3, 2, "45", "3 rows name a value the value table lacks"),
    ],
)
def test_record_check(
    tmp_path: Path, jobs: int, call_nodes: int, values: int, printed: str, problem: str | None
) -> None:
    (tmp_path / ".redun").mkdir()
    db = tmp_path / ".redun" / "redun.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE job (id TEXT)")
        for table in ("value", "call_node", "evaluation", "argument"):
            conn.execute(f"CREATE TABLE {table} (value_hash TEXT)")
        conn.executemany("INSERT INTO job VALUES (?)", [(str(i),) for i in range(jobs)])
        # Values 0, 1, 2 (the last missing with values=2), each named once per table.
        conn.executemany("INSERT INTO value VALUES (?)", [(str(i),) for i in range(values)])
        for table in ("call_node", "evaluation", "argument"):
            rows = [(str(i % 3),) for i in range(call_nodes if table == "call_node" else 3)]
            conn.executemany(f"INSERT INTO {table} VALUES (?)", rows)
    conn.close()
    result = run_process(["echo", f"log line\n{printed}"], tmp_path, tmp_path / "out", 60)
    assert check_run(result, db, Expected(result="45", jobs=3, call_nodes=3)) == problem
    at_least = Expected(result="45", jobs=None, call_nodes=3)
    assert (check_run(result, db, at_least) is None) == (jobs >= 3 and problem is None)
