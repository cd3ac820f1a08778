"""Counting the rows a push, pull, export or import moved, and saying so in one line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from redun.backends.db.sync.tables import SPEC_BY_NAME, SUMMARY_ORDER, plural


@dataclass
class Counts:
    """Rows inserted and updated, per table."""

    inserted: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)

    def add(self, inserted: Mapping[str, int], updated: Mapping[str, int] = {}) -> None:
        self.inserted.update(inserted)
        self.updated.update(updated)

    @property
    def total(self) -> int:
        return sum(self.inserted.values()) + sum(self.updated.values())

    def describe(self) -> str:
        """``2 executions, 14 jobs, ...`` (tables with rows only), then what was updated."""
        text = _list(self.inserted) or "nothing new"
        updated = _list(self.updated)
        return f"{text} (updated {updated})" if updated else text


def _list(counter: Mapping[str, int]) -> str:
    return ", ".join(
        plural(counter[name], SPEC_BY_NAME[name].label)
        for name in SUMMARY_ORDER
        if counter.get(name)
    )
