"""Run the workloads on each engine as whole `redun` processes and collect the figures."""

from __future__ import annotations

import os
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from benchmarks.process import ProcessResult, run_process
from benchmarks.record import Expected, check_run
from benchmarks.workloads import (
    HUGE_FANOUT,
    Sizes,
    WorkflowRun,
    fanout,
    fanout_warm_expected,
    label,
    single_runs,
)

OURS, REFERENCE = "ours", "reference"
WORKFLOWS = Path(__file__).parent / "workflows"
MEASURED = ("ok", "wrong")
UNSUPPORTED_MARKERS = (
    "No such option",
    "unrecognized arguments",
    "invalid choice",
    "No such command",
)


@dataclass
class Cell:
    """One engine's figure for one workload: wall seconds per repeat and peak RSS.

    status: ok | wrong (ran, but the result or record is wrong) | fails | unsupported |
    timeout | skipped.
    """

    status: str = "ok"
    seconds: list[float] = field(default_factory=list)
    peak_rss: int = 0
    message: str = ""

    @property
    def measured(self) -> bool:
        """True when the figures are usable (the process ran to completion)."""
        return self.status in MEASURED and bool(self.seconds)

    @property
    def median(self) -> float | None:
        """Median wall seconds over the repeats."""
        return statistics.median(self.seconds) if self.measured else None

    @property
    def best(self) -> float | None:
        """Best (lowest) wall seconds over the repeats."""
        return min(self.seconds) if self.measured else None

    def set_failure(self, status: str, message: str) -> None:
        """Mark the cell as not measured, with the reason."""
        self.status, self.message = status, message


@dataclass
class Row:
    """One workload with a cell per engine; `checked` rows have a known correct result."""

    name: str
    description: str
    cells: dict[str, Cell]
    checked: bool


class Bench:
    """Runs workloads in fresh temporary directories under `base`."""

    def __init__(
        self,
        engines: dict[str, str | None],
        sizes: Sizes,
        base: Path,
        repeat: int = 1,
        timeout: float = 3600.0,
        full: bool = False,
        keep: bool = False,
        progress: TextIO | None = None,
    ) -> None:
        self.engines = engines
        self.sizes = sizes
        self.base = base
        self.repeat = repeat
        self.timeout = timeout
        self.full = full
        self.keep = keep
        self.progress = progress
        self.records: dict[int, Path] = {}
        self._counter = 0
        self.env = {k: v for k, v in os.environ.items() if k != "REDUN_CONFIG"}

    # -- plumbing ---------------------------------------------------------------------

    def _say(self, text: str) -> None:
        if self.progress is not None:
            print(text, file=self.progress, flush=True)

    def _fresh(self, name: str, engine: str) -> Path:
        """A new run directory holding an empty `work/` (the process's cwd)."""
        self._counter += 1
        run_dir = self.base / f"{self._counter:04d}-{name}-{engine}"
        (run_dir / "work").mkdir(parents=True)
        return run_dir

    def _discard(self, path: Path) -> None:
        if not self.keep:
            shutil.rmtree(path, ignore_errors=True)

    def _redun(self, engine: str, config: Path, *args: str) -> list[str]:
        redun = self.engines[engine]
        assert redun is not None
        return [redun, "--log-level", "WARN", "-c", str(config), *args]

    def _run(self, command: list[str], cwd: Path, out_dir: Path) -> ProcessResult:
        return run_process(command, cwd, out_dir, self.timeout, env=self.env)

    def _add(
        self, cell: Cell, result: ProcessResult, expected: Expected | None, work: Path
    ) -> bool:
        """Fold one process into `cell`; True when the process exited 0 in time."""
        if result.timed_out:
            cell.set_failure("timeout", f"killed after {self.timeout:g} s")
            return False
        if result.returncode != 0:
            text = result.stdout + result.stderr
            status = "unsupported" if any(m in text for m in UNSUPPORTED_MARKERS) else "fails"
            message = result.error_line() or f"exit status {result.returncode}"
            cell.set_failure(status, message)
            return False
        cell.seconds.append(result.seconds)
        cell.peak_rss = max(cell.peak_rss, result.peak_rss)
        if expected is not None:
            problem = check_run(result, work / ".redun" / "redun.db", expected)
            if problem is not None:
                cell.set_failure("wrong", problem)
        return True

    def _report(self, name: str, engine: str, cell: Cell) -> None:
        if cell.measured:
            text = f"{cell.median:.3f} s, peak RSS {cell.peak_rss / 1e6:.0f} MB"
            if cell.status == "wrong":
                text += f" WRONG: {cell.message}"
        else:
            text = f"{cell.status}: {cell.message}"
        self._say(f"  {name:<24} {engine:<10} {text}")

    def _reference_skip(self, n: int | None = None) -> str | None:
        if self.engines.get(REFERENCE) is None:
            return "skipped (--no-reference)"
        if n is not None and n >= HUGE_FANOUT:
            return "skipped (ours only)"
        if n is not None and n >= 100_000 and not self.full:
            return "skipped (use --full)"
        return None

    def _engines_for(self, n: int | None = None) -> list[tuple[str, str | None]]:
        """(engine, skip reason) pairs: ours always runs; the reference may be skipped."""
        return [(OURS, None), (REFERENCE, self._reference_skip(n))]

    # -- scenarios --------------------------------------------------------------------

    def warm_up(self) -> None:
        """Run `redun --help` once per engine, unmeasured (page cache, bytecode)."""
        for engine, redun in self.engines.items():
            if redun is not None:
                run_dir = self._fresh("warm-up", engine)
                self._run([redun, "--help"], run_dir / "work", run_dir)
                self._discard(run_dir)

    def help(self) -> list[Row]:
        """`redun --help` start-up, sampled at least `help_samples` times."""
        cells: dict[str, Cell] = {}
        samples = max(self.repeat, self.sizes.help_samples)
        for engine, skip in self._engines_for():
            cell = cells[engine] = Cell()
            if skip:
                cell.set_failure("skipped", skip)
                continue
            for _ in range(samples):
                run_dir = self._fresh("help", engine)
                redun = self.engines[engine]
                assert redun is not None
                result = self._run([redun, "--help"], run_dir / "work", run_dir)
                self._discard(run_dir)
                if not self._add(cell, result, None, run_dir / "work"):
                    break
            self._report("help", engine, cell)
        return [Row("help", "`redun --help` start-up", cells, checked=False)]

    def fanout(self, n: int, warm: bool = True) -> list[Row]:
        """Fan-out of n tasks: a cold run on a fresh repository, then a warm one on it."""
        spec = fanout(n)
        cold_cells: dict[str, Cell] = {}
        warm_cells: dict[str, Cell] = {}
        for engine, skip in self._engines_for(n):
            cold, hot = cold_cells[engine], warm_cells[engine] = Cell(), Cell()
            if skip:
                cold.set_failure("skipped", skip)
                hot.set_failure("skipped", skip)
                continue
            self._fanout_engine(engine, spec, n, cold, hot if warm else None)
            self._report(f"{spec.name}-cold", engine, cold)
            if warm:
                self._report(f"{spec.name}-warm", engine, hot)
        rows = [Row(f"{spec.name}-cold", f"{spec.description}, fresh repository", cold_cells, True)]
        if warm:
            desc = f"{spec.description}, second run on the same repository (all cached)"
            rows.append(Row(f"{spec.name}-warm", desc, warm_cells, True))
        return rows

    def _fanout_engine(
        self, engine: str, spec: WorkflowRun, n: int, cold: Cell, hot: Cell | None
    ) -> None:
        for attempt in range(self.repeat):
            run_dir = self._fresh(spec.name, engine)
            work = run_dir / "work"
            shutil.copy(WORKFLOWS / spec.file, work)
            command = self._redun(engine, work / ".redun", "run", spec.file, spec.task, *spec.args)
            self._say(f"  ... {spec.name}-cold on {engine}")
            cold_ok = self._add(
                cold, self._run(command, work, run_dir / "cold"), spec.expected, work
            )
            if cold_ok and cold.status == "ok" and engine == OURS and attempt == 0:
                if n == self.sizes.log_jobs and n not in self.records:
                    self.records[n] = self._snapshot(work / ".redun", n)
            if hot is not None and hot.status not in ("fails", "timeout", "unsupported"):
                if not cold_ok:
                    hot.set_failure("fails", "the cold run failed")
                else:
                    self._say(f"  ... {spec.name}-warm on {engine}")
                    result = self._run(command, work, run_dir / "warm")
                    self._add(hot, result, fanout_warm_expected(n, runs=2), work)
            self._discard(run_dir)
            if not cold_ok:
                break

    def _snapshot(self, config: Path, n: int) -> Path:
        target = self.base / "records" / f"fanout-{n}" / ".redun"
        shutil.copytree(config, target)
        return target

    def single(self, scenario: str) -> list[Row]:
        """One of the one-run workloads: chain, recurse, fib, bigvalues."""
        spec = single_runs(self.sizes)[scenario]
        cells: dict[str, Cell] = {}
        for engine, skip in self._engines_for():
            cell = cells[engine] = Cell()
            if skip:
                cell.set_failure("skipped", skip)
                continue
            self._say(f"  ... {spec.name} on {engine}")
            for _ in range(self.repeat):
                run_dir = self._fresh(spec.name, engine)
                work = run_dir / "work"
                shutil.copy(WORKFLOWS / spec.file, work)
                command = self._redun(
                    engine, work / ".redun", "run", spec.file, spec.task, *spec.args
                )
                ok = self._add(cell, self._run(command, work, run_dir), spec.expected, work)
                self._discard(run_dir)
                if not ok:
                    break
            self._report(spec.name, engine, cell)
        return [Row(spec.name, spec.description, cells, checked=True)]

    def log(self) -> list[Row]:
        """`redun log` and `redun log --job` on a record of a fan-out of `log_jobs` tasks."""
        n = self.sizes.log_jobs
        record = self.records.get(n) or self._build_record(n)
        names = (f"log-{label(n)}", f"log-job-{label(n)}")
        argvs = (("log",), ("log", "--job"))
        rows: list[Row] = []
        for name, argv in zip(names, argvs):
            cells: dict[str, Cell] = {}
            for engine, skip in self._engines_for():
                cell = cells[engine] = Cell()
                if skip:
                    cell.set_failure("skipped", skip)
                    continue
                if isinstance(record, str):
                    cell.set_failure("fails", record)
                    continue
                for _ in range(self.repeat):
                    run_dir = self._fresh(name, engine)
                    result = self._run(
                        self._redun(engine, record, *argv), run_dir / "work", run_dir
                    )
                    self._discard(run_dir)
                    if not self._add(cell, result, None, run_dir / "work"):
                        break
                self._report(name, engine, cell)
            command = "redun " + " ".join(argv)
            desc = f"`{command}` on a record of {n + 2} jobs (made by our engine)"
            rows.append(Row(name, desc, cells, checked=False))
        return rows

    def _build_record(self, n: int) -> Path | str:
        """Make the log record with our engine; the record's config dir, or the error."""
        spec = fanout(n)
        self._say(f"  ... building a {n}-task record for the log workloads")
        run_dir = self._fresh(f"record-{spec.name}", OURS)
        work = run_dir / "work"
        shutil.copy(WORKFLOWS / spec.file, work)
        command = self._redun(OURS, work / ".redun", "run", spec.file, spec.task, *spec.args)
        cell = Cell()
        self._add(cell, self._run(command, work, run_dir / "out"), spec.expected, work)
        if cell.status != "ok":
            return f"could not build the record: {cell.message}"
        self.records[n] = work / ".redun"
        return self.records[n]
