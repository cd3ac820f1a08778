"""`redun log`'s views through SQLAlchemy: records by id, listings, counts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from operator import attrgetter, itemgetter
from typing import Any

import click
from sqlalchemy import Connection

from redun.backends.db import listing, queries
from redun.backends.db.listing import RecordFilter, parse_tag
from redun.backends.db.queries import job_t
from redun.cli import log_json, log_text
from redun.cli.log import LABELS, LogOptions

_RELATIVE = re.compile(r"~(\d+)")
MATCHES_PER_KIND = 3  # ids per kind an ambiguous prefix error names
_ID_LIKE = re.compile(r"[0-9A-Za-z-]+")


def render(conn: Connection, options: LogOptions) -> list[str]:
    """The lines `redun log` prints for ``options``."""
    record_filter = build_filter(conn, options.filters)
    if options.record_id is None:
        return render_listing(conn, options, record_filter)
    kind, target = resolve(conn, options.record_id)
    if kind == "execution" and options.kinds:
        record_filter.exec_ids = [target]
        return render_listing(conn, options, record_filter)
    return show_record(conn, kind, target, options.json)


def build_filter(conn: Connection, filters: dict[str, Any]) -> Any:
    """The RecordFilter for the parsed filter options (ids and prefixes resolved)."""
    try:
        tags = [parse_tag(t) for t in filters["tags"]]
        exec_tags = [parse_tag(t) for t in filters["exec_tags"]]
    except ValueError as error:
        raise click.ClickException(f"-t/--exec-tag: {error}") from None
    file_paths = []
    if filters["file_path"]:
        from redun.backends.db import provenance  # imported when needed: keeps `redun log` quick

        file_paths = provenance.path_candidates(filters["file_path"])
    return RecordFilter(
        exec_ids=[_resolve_kind(conn, "execution", p, "--exec-id") for p in filters["exec_ids"]],
        exec_statuses=filters["exec_statuses"],
        exec_tags=exec_tags,
        tags=tags,
        job_statuses=filters["job_statuses"],
        task_name=filters["task_name"],
        task_hash=filters["task_hash"],
        value_type=filters["value_type"],
        file_paths=file_paths,
        arg_hashes=[_resolve_kind(conn, "value", p, "--arg") for p in filters["arg_ids"]],
        result_hashes=[_resolve_kind(conn, "value", p, "--result") for p in filters["result_ids"]],
    )


def _resolve_kind(conn: Connection, kind: str, prefix: str, option: str) -> str:
    """The full id of the one record of ``kind`` whose id starts with ``prefix``."""
    ids = [found for k, found in queries.match_ids(conn, prefix, limit=2) if k == kind]
    label = queries.KIND_LABELS[kind]
    if prefix in ids:
        return prefix
    if not ids:
        raise click.ClickException(f"{option}: no {label} has an id starting with {prefix!r}")
    if len(ids) > 1:
        raise click.ClickException(
            f"{option}: id prefix {prefix!r} matches several {label}s; give more characters"
        )
    return ids[0]


# Resolving `redun log ID` -------------------------------------------------------------------
def resolve(conn: Connection, record_id: str) -> tuple[str, Any]:
    """(kind, id) of the record ``record_id`` names, or ("file", [(value_hash, path)])."""
    from redun.backends.db import provenance  # imported when needed: keeps `redun log` quick

    if record_id == "-":
        latest = queries.latest_execution_id(conn)
        if latest is None:
            raise click.ClickException("the redun database has no executions yet")
        return "execution", latest
    relative = _RELATIVE.fullmatch(record_id)
    if relative:
        n = int(relative.group(1))  # as redun 0.4x: ~1 is the latest, ~2 the one before
        found = queries.nth_execution_id(conn, n - 1) if n >= 1 else None
        if found is None:
            total = len(queries.list_executions(conn))
            raise click.ClickException(
                f"{record_id} is out of range: the redun database has {total} execution(s) "
                f"(~1 is the latest, ~{max(total, 1)} the oldest)"
            )
        return "execution", found
    matches = queries.match_ids(conn, record_id, limit=MATCHES_PER_KIND)
    exact = [(kind, found) for kind, found in matches if found == record_id]
    if exact:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise click.ClickException(_ambiguous(record_id, matches))
    files = provenance.files_at(conn, record_id)
    if files:
        return "file", files
    if _ID_LIKE.fullmatch(record_id):
        raise click.ClickException(
            f"no execution, job, call node, task or value has an id starting with {record_id!r}"
        )
    raise click.ClickException(
        f"no record has the id {record_id!r} and no recorded File has that path; "
        "`redun log --file` lists the recorded files"
    )


def _ambiguous(prefix: str, matches: list[tuple[str, str]]) -> str:
    """One line naming the records a prefix matches (up to 3 of each kind)."""
    kinds = [kind for kind, _ in matches]
    what = f"{queries.KIND_LABELS[kinds[0]]}s" if len(set(kinds)) == 1 else "records"
    width = max(8, len(prefix) + 2)
    shown = ", ".join(f"{queries.KIND_LABELS[kind]} {found[:width]}" for kind, found in matches)
    more = ", ..." if any(kinds.count(kind) >= MATCHES_PER_KIND for kind in kinds) else ""
    return f"id prefix {prefix!r} matches several {what} ({shown}{more}); give more characters"


def show_record(conn: Connection, kind: str, target: Any, as_json: bool) -> list[str]:
    """The full view of one record."""
    loaders = {"execution": queries.get_execution, "job": queries.get_job}
    if kind in loaders:
        record = loaders[kind](conn, target)
        if record is None:
            raise click.ClickException(f"{kind} {target} is not in the redun database")
        target = record
    details: dict[str, tuple[Callable, Callable]] = {
        "file": (log_json.file_detail, log_text.render_file),
        "execution": (log_json.execution_detail, log_text.render_execution),
        "job": (log_json.job_detail, log_text.render_job),
        "call_node": (log_json.call_node_detail, log_text.render_call_node),
        "task": (log_json.task_detail, partial(log_text.render_task, first_job=True)),
        "value": (log_json.value_detail, log_text.render_value),
    }
    to_json, to_text = details[kind]
    if as_json:
        return [log_json.dumps(to_json(conn, target))]
    return to_text(conn, target)


# Listings -------------------------------------------------------------------------------------
def render_listing(conn: Connection, options: LogOptions, record_filter: Any) -> list[str]:
    """Records of each asked-for kind, or their counts."""
    lines = ["Recent executions:", ""] if options.implicit_executions and not options.json else []
    for kind in options.kinds:
        if options.count:
            count = listing.count_records(conn, kind, record_filter)
            if options.json:
                lines.append(log_json.dumps(log_json.count_json(LABELS[kind], count)))
            else:
                lines.append(f"{count:>8} {LABELS[kind]}")
            continue
        lines += LISTERS[kind](conn, record_filter, options)
    return lines


def _list_jobs(conn: Connection, f: Any, options: LogOptions) -> list[str]:
    if not (options.detail or options.json):  # one line per job: the lean rows suffice
        rows = listing.list_job_lines(conn, f, options.limit)
        calls = (call_hash for *_, call_hash in rows)
        return log_text.job_lines(rows, _job_args(conn, f, options, calls))
    jobs = listing.list_jobs(conn, f, options.limit)
    if options.detail:
        if options.json:
            return [log_json.dumps(log_json.job_detail(conn, job)) for job in jobs]
        return [line for job in jobs for line in log_text.render_job(conn, job)]
    args = _job_args(conn, f, options, (job.call_hash for job in jobs))
    return [log_json.dumps(log_json.job_json(j, args.get(j.call_hash or ""))) for j in jobs]


def _job_args(
    conn: Connection, f: Any, options: LogOptions, call_hashes: Iterable[str | None]
) -> dict[str, str]:
    """Formatted arguments of the listed jobs' calls (``call_hashes``), by call hash."""
    calls: list[str] | None = None  # every call: one plain scan of the argument table
    if f != RecordFilter() or options.limit is not None:
        calls = [call_hash for call_hash in call_hashes if call_hash]
    source = listing.job_query(conn, f).with_only_columns(job_t.c.call_hash)
    return queries.call_args_text(conn, calls, source)


@dataclass(frozen=True)
class _Lister:
    """How one kind of record is listed: its rows, and each row in full or as one line."""

    rows: Callable[[Connection, Any, int | None], list]
    line_json: Callable[[Any], Any]
    line_text: Callable[[Any], str]
    detail_json: Callable[[Connection, Any], Any]
    detail_text: Callable[[Connection, Any], list[str]]
    record: Callable[[Any], Any] = lambda row: row  # what the detail views take

    def __call__(self, conn: Connection, f: Any, options: LogOptions) -> list[str]:
        rows = self.rows(conn, f, options.limit)
        if options.detail:
            records = [self.record(row) for row in rows]
            if options.json:
                return [log_json.dumps(self.detail_json(conn, record)) for record in records]
            return [line for record in records for line in self.detail_text(conn, record)]
        if options.json:
            return [log_json.dumps(self.line_json(row)) for row in rows]
        return [self.line_text(row) for row in rows]


LISTERS: dict[str, Callable[[Connection, Any, LogOptions], list[str]]] = {
    "execution": _Lister(
        listing.list_executions,
        log_json.execution_json,
        log_text.exec_line,
        log_json.execution_detail,
        log_text.render_execution,
    ),
    "job": _list_jobs,
    "call_node": _Lister(
        listing.list_call_nodes,
        log_json.call_node_json,
        log_text.call_node_line,
        log_json.call_node_detail,
        log_text.render_call_node,
        attrgetter("call_hash"),
    ),
    "task": _Lister(
        listing.list_tasks,
        log_json.task_json,
        log_text.task_line,
        log_json.task_detail,
        partial(log_text.render_task, first_job=True),
        itemgetter(0),
    ),
    "value": _Lister(
        listing.list_values,
        log_json.value_json,
        log_text.value_line,
        log_json.value_detail,
        log_text.render_value,
        attrgetter("value_hash"),
    ),
    "file": _Lister(
        listing.list_files,
        lambda row: log_json.file_json(*row),
        lambda row: log_text.file_line(*row),
        log_json.file_detail,
        log_text.render_file,
        lambda row: [tuple(row)],
    ),
}
