"""Formatting `redun log`'s text: times, statuses, tags, and the one-line job listing.

Nothing here imports SQLAlchemy: the plain job listing uses it alone.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from redun.backends.db.joblines import JOB_STATUSES, JobLine, as_datetime

_STATUS_LABELS = {"RUNNING": "RUN"}

# Formatting helpers -------------------------------------------------------------------
_SECONDS: dict[tuple, str] = {}


def fmt_time(time: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored (naive UTC) time in the local time zone (formatted once per second)."""
    if time is None:
        return "?"
    key = (time.year, time.month, time.day, time.hour, time.minute, time.second, fmt)
    text = _SECONDS.get(key)
    if text is None:
        if len(_SECONDS) > 100_000:
            _SECONDS.clear()
        utc = dt.datetime(*key[:6], tzinfo=dt.timezone.utc)
        text = _SECONDS[key] = utc.astimezone().strftime(fmt)
    return text


def fmt_stored_time(time: str | dt.datetime | None) -> str:
    """:func:`fmt_time` of a time as a raw row holds it: SQLite's UTC text
    (``YYYY-MM-DD HH:MM:SS[.ffffff]``, read to the second) or a datetime (aware or naive UTC)."""
    if isinstance(time, str):
        return fmt_time(dt.datetime.fromisoformat(time[:19]))
    return fmt_time(as_datetime(time))


def fmt_duration(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """``H:MM:SS.ss`` between two times (hundredths truncated)."""
    if start is None or end is None:
        return "?"
    total = max((end - start).total_seconds(), 0.0)
    whole = int(total)
    hours, rest = divmod(whole, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{int((total - whole) * 100):02d}"


def indent(lines: list[str], prefix: str = "  ") -> list[str]:
    """Indent each line, leaving blank lines empty."""
    return [prefix + line if line.strip() else "" for line in lines]


def fmt_status(status: str) -> str:
    return f"[{_STATUS_LABELS.get(status, status):^6}]"


def fmt_tags(tags: dict[str, Any]) -> str:
    if not tags:
        return ""
    items = (f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(tags.items()))
    return f"({', '.join(items)})"


def short_name(task_name: str) -> str:
    return task_name.rsplit(".", 1)[-1]


def job_lines(jobs: list[JobLine], args: dict[str, str]) -> list[str]:
    """:func:`job_line` of each listed job (inlined: listings print 100,000s of them)."""
    return join_job_lines(job_line_heads(jobs), args)


def job_line_heads(jobs: list[JobLine]) -> list[tuple[str, str]]:
    """Each job's line up to its call's arguments, with its call hash: all of a line that
    is known before the arguments are read."""
    labels = {status: fmt_status(status) for status in JOB_STATUSES}
    seconds: dict[Any, str] = {}  # shown time by stored time (its second, when stored as text)
    heads = []
    for job_id, status, start, task_name, call_hash in jobs:
        key = start[:19] if type(start) is str else start
        shown = seconds.get(key)
        if shown is None:
            shown = seconds[key] = fmt_stored_time(start)
        heads.append((f"Job {job_id[:8]} {labels[status]} {shown}:  {task_name}(", call_hash or ""))
    return heads


def join_job_lines(heads: list[tuple[str, str]], args: dict[str, str]) -> list[str]:
    """The lines of :func:`job_line_heads`, each with its call's arguments."""
    get = args.get
    return [f"{head}{get(call_hash, '')})" for head, call_hash in heads]
