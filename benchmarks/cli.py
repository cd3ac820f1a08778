"""Command line of the benchmark harness: parse options, run the workloads, report."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.machine import describe
from benchmarks.report import print_report, write_json
from benchmarks.runner import OURS, REFERENCE, Bench, Row
from benchmarks.targets import check_targets
from benchmarks.workloads import FULL, HUGE_FANOUT, QUICK, SCENARIOS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time our `redun` against redun 0.44.1 on the same workloads, "
        "as whole processes in fresh temporary directories.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds, for tests)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these scenarios (repeatable or comma separated): {', '.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, metavar="K", help="runs per cell; median shown"
    )
    parser.add_argument("--no-reference", action="store_true", help="measure ours only")
    parser.add_argument(
        "--full", action="store_true", help="also run the reference's 100k fan-out (~20+ min)"
    )
    parser.add_argument(
        "--huge", action="store_true", help=f"add a {HUGE_FANOUT:,}-task fan-out (ours only)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    parser.add_argument("--ours", metavar="PATH", help="our `redun` (default: next to python)")
    parser.add_argument("--reference", metavar="PATH", help="redun 0.44.1's `redun` executable")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, metavar="S", help="per process (default 3600)"
    )
    parser.add_argument("--workdir", type=Path, metavar="DIR", help="where temp dirs go")
    parser.add_argument("--keep", action="store_true", help="keep the run directories")
    return parser


def _executable(path: str | None, what: str, flag: str) -> str:
    if path is None:
        sibling = Path(sys.executable).parent / "redun"
        path = str(sibling) if sibling.exists() else shutil.which("redun")
    if path is None or not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise SystemExit(f"benchmarks: no executable `redun` for {what} at {path}; pass {flag}")
    return str(Path(path).absolute())


def _scenarios(only: list[str] | None) -> list[str]:
    if not only:
        return list(SCENARIOS)
    names = [name.strip() for item in only for name in item.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise SystemExit(
            f"benchmarks: unknown --only {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    return [name for name in SCENARIOS if name in names]


def _run(bench: Bench, scenarios: list[str], huge: bool) -> list[Row]:
    rows: list[Row] = []
    bench.warm_up()
    for scenario in scenarios:
        print(f"{scenario}:", file=sys.stderr, flush=True)
        if scenario == "help":
            rows += bench.help()
        elif scenario == "fanout":
            for n in bench.sizes.fanout:
                rows += bench.fanout(n)
            if huge:
                rows += bench.fanout(HUGE_FANOUT, warm=False)
        elif scenario == "log":
            rows += bench.log()
        else:
            rows += bench.single(scenario)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; exit status 1 when one of our runs gave a wrong answer."""
    args = _parser().parse_args(argv)
    if args.repeat < 1:
        raise SystemExit("benchmarks: --repeat must be at least 1")
    if args.no_reference and args.reference:
        raise SystemExit("benchmarks: --reference and --no-reference contradict; pass one")
    if not args.no_reference and args.reference is None:
        raise SystemExit(
            "benchmarks: pass --reference PATH (redun 0.44.1's `redun`), or --no-reference"
        )
    engines = {
        OURS: _executable(args.ours, "our engine", "--ours PATH"),
        REFERENCE: None
        if args.no_reference
        else _executable(args.reference, "redun 0.44.1", "--reference PATH"),
    }
    scenarios = _scenarios(args.only)
    command = shlex.join(
        [sys.executable, "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)]
    )
    base = Path(tempfile.mkdtemp(prefix="redun-bench-", dir=args.workdir))
    bench = Bench(
        engines,
        QUICK if args.quick else FULL,
        base,
        repeat=args.repeat,
        timeout=args.timeout,
        full=args.full,
        keep=args.keep,
        progress=sys.stderr,
    )
    try:
        rows = _run(bench, scenarios, args.huge)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    machine = describe({k: v for k, v in engines.items() if v is not None})
    verdicts = check_targets(rows)
    print_report(sys.stdout, rows, verdicts, machine, command)
    if args.json:
        write_json(args.json, rows, verdicts, machine, command)
    if args.keep:
        print(f"run directories kept in {base}", file=sys.stderr)
    return 1 if verdicts[-1].status == "FAIL" else 0
