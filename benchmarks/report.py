"""Print the results as an aligned text table and write them as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from benchmarks.runner import OURS, REFERENCE, Cell, Row
from benchmarks.targets import Verdict

ENGINE_TITLES = {OURS: "ours", REFERENCE: "redun 0.44.1"}


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def ratio(row: Row) -> float | None:
    """How many times faster ours is than the reference (reference / ours median)."""
    ours, ref = row.cells[OURS].median, row.cells[REFERENCE].median
    return ref / ours if ours and ref else None


def _ratio_text(row: Row) -> str:
    value = ratio(row)
    return "-" if value is None else f"{value:.1f}x"


class _Notes:
    """Footnotes for failure messages, so the table stays narrow."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str) -> str:
        self.lines.append(text)
        return f"[{len(self.lines)}]"


def _cell_text(row: Row, engine: str, cell: Cell, notes: _Notes) -> str:
    if cell.status == "skipped":
        return cell.message
    if not cell.measured:
        mark = notes.add(f"{ENGINE_TITLES[engine]}, {row.name}: {cell.status}: {cell.message}")
        return f"{cell.status} {mark}"
    assert cell.median is not None and cell.best is not None
    text = _seconds(cell.median)
    if len(cell.seconds) > 1:
        text += f" (best {_seconds(cell.best)})"
    if cell.status == "wrong":
        text += " WRONG " + notes.add(f"{ENGINE_TITLES[engine]}, {row.name}: {cell.message}")
    return text


def _check_text(row: Row) -> str:
    cell = row.cells[OURS]
    if not row.checked:
        return "-"
    return {"ok": "ok", "wrong": "WRONG"}.get(cell.status, cell.status)


def table_lines(rows: list[Row]) -> list[str]:
    """The results table, then footnotes for failures and wrong results."""
    notes = _Notes()
    header = ("workload", "ours", "redun 0.44.1", "ratio", "our peak RSS", "check")
    body = []
    for row in rows:
        ours = row.cells[OURS]
        rss = f"{ours.peak_rss / 1e6:.0f} MB" if ours.measured else "-"
        body.append(
            (
                row.name,
                _cell_text(row, OURS, ours, notes),
                _cell_text(row, REFERENCE, row.cells[REFERENCE], notes),
                _ratio_text(row),
                rss,
                _check_text(row),
            )
        )
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    aligned = [
        "  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip()
        for line in [header, *body]
    ]
    rule = "-" * len(aligned[0])
    lines = [aligned[0], rule, *aligned[1:], rule]
    lines += [f"[{number}] {text}" for number, text in enumerate(notes.lines, start=1)]
    return lines


def machine_lines(machine: dict[str, object], command: str) -> list[str]:
    """The machine, the engines and the exact command."""
    ram = int(machine["ram_bytes"]) / 2**30  # type: ignore[call-overload]
    lines = [
        f"machine: {machine['cpu']}, {machine['cores']} cores, {ram:.1f} GiB RAM, "
        f"{machine['platform']}",
        f"harness: Python {machine['harness_python']}",
    ]
    engines = machine["engines"]
    assert isinstance(engines, dict)
    for engine, facts in engines.items():
        lines.append(
            f"{ENGINE_TITLES.get(engine, engine)}: {facts['redun']} "
            f"(version {facts['version']}, Python {facts['python']})"
        )
    lines.append(f"command: {command}")
    return lines


def target_lines(verdicts: list[Verdict]) -> list[str]:
    """One PASS/FAIL/SKIP line per target."""
    return [f"{v.status:<4}  {v.target} -- {v.detail}" for v in verdicts]


def print_report(
    out: TextIO,
    rows: list[Row],
    verdicts: list[Verdict],
    machine: dict[str, object],
    command: str,
) -> None:
    """Machine, table, notes and target checks, in that order."""
    print(file=out)
    for line in machine_lines(machine, command):
        print(line, file=out)
    print(file=out)
    for line in table_lines(rows):
        print(line, file=out)
    print(file=out)
    print("targets:", file=out)
    for line in target_lines(verdicts):
        print(line, file=out)


def _cell_json(cell: Cell) -> dict[str, object]:
    return {
        "status": cell.status,
        "seconds": cell.seconds,
        "median": cell.median,
        "best": cell.best,
        "peak_rss_bytes": cell.peak_rss if cell.measured else None,
        "message": cell.message,
    }


def write_json(
    path: Path,
    rows: list[Row],
    verdicts: list[Verdict],
    machine: dict[str, object],
    command: str,
) -> None:
    """Everything the table shows, plus every repeat's figure, as JSON."""
    data = {
        "machine": machine,
        "command": command,
        "rows": [
            {
                "name": row.name,
                "description": row.description,
                "checked": row.checked,
                "ours": _cell_json(row.cells[OURS]),
                "reference": _cell_json(row.cells[REFERENCE]),
                "ratio": ratio(row),
            }
            for row in rows
        ],
        "targets": [{"target": v.target, "status": v.status, "detail": v.detail} for v in verdicts],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
