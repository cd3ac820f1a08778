"""The performance targets from the issue, checked against measured rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.runner import OURS, REFERENCE, Cell, Row

GB = 10**9


@dataclass(frozen=True)
class Verdict:
    """PASS, FAIL or SKIP for one target, with the figures behind it."""

    target: str
    status: str
    detail: str


def _ratio(rows: dict[str, Row], name: str, at_least: float) -> Verdict:
    target = f"{name}: at least {at_least:g}x faster than redun 0.44.1"
    row = rows.get(name)
    if row is None:
        return Verdict(target, "SKIP", "not measured")
    ours, ref = row.cells[OURS], row.cells[REFERENCE]
    if not ref.measured:
        return Verdict(target, "SKIP", f"reference {ref.status}: {ref.message}")
    if not ours.measured or ours.status != "ok":
        return Verdict(target, "FAIL", f"ours {ours.status}: {ours.message}")
    assert ours.median is not None and ref.median is not None
    ratio = ref.median / ours.median
    status = "PASS" if ratio >= at_least else "FAIL"
    return Verdict(target, status, f"{ratio:.1f}x ({ours.median:.3f} s vs {ref.median:.3f} s)")


def _ours(
    rows: dict[str, Row], name: str, target: str, passes: Callable[[Cell], bool], detail: str
) -> Verdict:
    row = rows.get(name)
    if row is None:
        return Verdict(target, "SKIP", "not measured")
    cell = row.cells[OURS]
    if not cell.measured or cell.status != "ok":
        return Verdict(target, "FAIL", f"ours {cell.status}: {cell.message}")
    values = {"median": cell.median or 0.0, "rss": cell.peak_rss / GB}
    return Verdict(target, "PASS" if passes(cell) else "FAIL", detail.format(**values))


def _time(rows: dict[str, Row], name: str, seconds: float) -> Verdict:
    return _ours(
        rows,
        name,
        f"{name}: within {seconds:g} s",
        lambda c: (c.median or 0.0) <= seconds,
        "{median:.3f} s",
    )


def _rss(rows: dict[str, Row], name: str, gigabytes: float) -> Verdict:
    return _ours(
        rows,
        name,
        f"{name}: peak RSS under {gigabytes:g} GB",
        lambda c: c.peak_rss < gigabytes * GB,
        "{rss:.2f} GB",
    )


def check_targets(rows: list[Row]) -> list[Verdict]:
    """Every target of the issue; SKIP when its workload was not measured."""
    by_name = {row.name: row for row in rows}
    return [
        _ratio(by_name, "fanout-1k-cold", 50),
        _ratio(by_name, "fanout-1k-warm", 50),
        _time(by_name, "fanout-100k-cold", 20),
        _time(by_name, "fanout-100k-warm", 5),
        _rss(by_name, "fanout-100k-cold", 1),
        _rss(by_name, "fanout-100k-warm", 1),
        _rss(by_name, "fanout-1M-cold", 4),
        _time(by_name, "help", 0.25),
        _time(by_name, "log-job-100k", 1),
        correctness(rows),
    ]


def correctness(rows: list[Row]) -> Verdict:
    """Every run of ours with a known answer printed it and left a complete record."""
    target = "our runs print the right result and leave a complete record (job, call_node, value)"
    checked = [row for row in rows if row.checked]
    if not checked:
        return Verdict(target, "SKIP", "no checked workload measured")
    bad = [
        f"{row.name}: {row.cells[OURS].status}: {row.cells[OURS].message}"
        for row in checked
        if row.cells[OURS].status != "ok"
    ]
    if bad:
        return Verdict(target, "FAIL", "; ".join(bad))
    return Verdict(target, "PASS", f"{len(checked)} workloads checked")
