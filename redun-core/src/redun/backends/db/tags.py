"""Tags in the record: search, summaries, and edits recorded the way redun 0.44.1 does.

A tag row is immutable; an edit writes new rows. A tag that replaces others (``update``,
or re-adding a removed tag) lists them as parents: its hash covers them
(:func:`redun.hashing.hash_tag`), a ``tag_edit`` row links each parent to it, and the
parents stop being current. Removing tags links them to a new ``Null`` tag instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from redun.backends.db.ids import chunks
from redun.backends.db.models import TABLES
from redun.config import parse_text_value
from redun.hashing import hash_tag

tag_t, tag_edit_t = TABLES["tag"], TABLES["tag_edit"]

# record kind (as ids.ID_COLUMNS) -> tag entity type
ENTITY_TYPES = {
    "execution": "Execution",
    "job": "Job",
    "call_node": "CallNode",
    "task": "Task",
    "value": "Value",
}
NULL_ENTITY = "Null"


class AnyValue:
    """Matches every value of a key (``KEY`` without ``=VALUE``)."""

    def __repr__(self) -> str:
        return "ANY"


ANY = AnyValue()


class TagError(Exception):
    """A tag argument or edit that cannot be done; the message is one line."""


@dataclass(frozen=True)
class Tag:
    tag_hash: str
    entity_type: str
    entity_id: str
    key: str
    value: Any
    is_current: bool


def parse_tag(arg: str, need_value: bool = True) -> tuple[str, Any]:
    """``KEY=VALUE`` as (key, value); ``KEY`` alone as (key, ANY) unless a value is needed."""
    key, sep, text = arg.partition("=")
    if not key:
        raise TagError(f"tag {arg!r} has no key; write KEY=VALUE")
    if not sep:
        if need_value:
            raise TagError(f"tag {arg!r} has no value; write {arg}=VALUE")
        return key, ANY
    return key, parse_text_value(text)


def show_value(value: Any) -> str:
    """A tag value as `redun log` shows it: strings bare, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def show_tag(key: str, value: Any) -> str:
    """``key="value"``: the value as JSON, as the edit messages show it."""
    return f"{key}={json.dumps(value, sort_keys=True)}"


def _same(a: Any, b: Any) -> bool:
    return b is ANY or json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _rows(conn: Connection, *where: Any) -> list[Tag]:
    query = select(
        tag_t.c.tag_hash,
        tag_t.c.entity_type,
        tag_t.c.entity_id,
        tag_t.c.key,
        tag_t.c.value,
        tag_t.c.is_current,
    ).where(*where)
    return [
        Tag(r.tag_hash, str(r.entity_type), r.entity_id, r.key, r.value, bool(r.is_current))
        for r in conn.execute(query)
    ]


def current_tags(
    conn: Connection,
    keys: Iterable[str] | None = None,
    entity_types: Iterable[str] | None = None,
) -> list[Tag]:
    """Current tags (not the Null tags that mark removals), optionally of some keys and
    entity types."""
    where = [tag_t.c.is_current.is_(True), tag_t.c.entity_type != NULL_ENTITY]
    if keys is not None:
        where.append(tag_t.c.key.in_(list(keys)))
    if entity_types is not None:
        where.append(tag_t.c.entity_type.in_(list(entity_types)))
    return _rows(conn, *where)


def matching_tags(
    conn: Connection,
    filters: list[tuple[str, Any]],
    entity_types: Iterable[str] | None = None,
) -> list[Tag]:
    """Current tags of the entities that have every (key, value or ANY) in ``filters``.

    With no filters, every current tag.
    """
    types = list(entity_types) if entity_types is not None else None
    if not filters:
        return current_tags(conn, entity_types=types)
    tags = current_tags(conn, [key for key, _ in filters], types)
    entities: set[tuple[str, str]] | None = None
    for key, value in filters:
        found = {
            (t.entity_type, t.entity_id) for t in tags if t.key == key and _same(t.value, value)
        }
        entities = found if entities is None else entities & found
    return [
        t
        for t in tags
        if (t.entity_type, t.entity_id) in (entities or set())
        and any(t.key == key and _same(t.value, value) for key, value in filters)
    ]


def summarize(tags: Iterable[Tag], with_values: bool) -> list[tuple[str, str | None, Counter]]:
    """(key, shown value or None, count of entities per type), sorted by key and value."""
    counts: dict[tuple[str, str | None], Counter] = {}
    for tag in tags:
        shown = show_value(tag.value) if with_values else None
        counts.setdefault((tag.key, shown), Counter())[tag.entity_type] += 1
    return [(key, shown, count) for (key, shown), count in sorted(counts.items())]


def summarize_all(
    conn: Connection, with_values: bool, entity_types: Iterable[str] | None = None
) -> list[tuple[str, str | None, Counter]]:
    """:func:`summarize` over every current tag, counted by the database."""
    columns = [tag_t.c.key, tag_t.c.entity_type] + ([tag_t.c.value] if with_values else [])
    query = (
        select(*columns, func.count())
        .where(tag_t.c.is_current.is_(True), tag_t.c.entity_type != NULL_ENTITY)
        .group_by(*columns)
    )
    if entity_types is not None:
        query = query.where(tag_t.c.entity_type.in_(list(entity_types)))
    counts: dict[tuple[str, str | None], Counter] = {}
    for row in conn.execute(query):
        shown = show_value(row[2]) if with_values else None
        counts.setdefault((row.key, shown), Counter())[str(row.entity_type)] += row[-1]
    return [(key, shown, count) for (key, shown), count in sorted(counts.items())]


class TagEditor:
    """Edits the tags of one entity inside the caller's transaction."""

    def __init__(self, conn: Connection, entity_type: str, entity_id: str) -> None:
        self.conn = conn
        self.entity_type = entity_type
        self.entity_id = entity_id
        self.tags = _rows(conn, tag_t.c.entity_id == entity_id, tag_t.c.entity_type == entity_type)
        hashes = [t.tag_hash for t in self.tags]
        self.edits: set[tuple[str, str]] = set()
        for chunk in chunks(hashes):
            query = select(tag_edit_t.c.parent_id, tag_edit_t.c.child_id).where(
                tag_edit_t.c.parent_id.in_(chunk)
            )
            self.edits.update((parent, child) for parent, child in conn.execute(query))

    def current(self, key: str, value: Any = ANY) -> list[Tag]:
        return [t for t in self.tags if t.is_current and t.key == key and _same(t.value, value)]

    def heads(self, key: str, value: Any) -> list[str]:
        """Hashes of removed (key, value) tags that no later (key, value) tag replaced."""
        same = {t.tag_hash for t in self.tags if t.key == key and _same(t.value, value)}
        replaced = {parent for parent, child in self.edits if child in same}
        return [
            t.tag_hash
            for t in self.tags
            if t.tag_hash in same and not t.is_current and t.tag_hash not in replaced
        ]

    def add(self, pairs: list[tuple[str, Any]], replace: bool = False) -> list[Tag]:
        """Add tags; with ``replace`` (`tag update`) they supersede the current tags of
        their keys. Returns the new tags (a tag that is already current is left alone
        by a plain add)."""
        replaced = {key: self.current(key) for key, _ in pairs} if replace else {}
        new: dict[str, tuple[Tag, list[str]]] = {}
        for key, value in pairs:
            if not replace and self.current(key, value):
                continue
            parents = [t.tag_hash for t in replaced.get(key, [])] + self.heads(key, value)
            tag_hash = hash_tag(self.entity_id, key, value, parents)
            tag = Tag(tag_hash, self.entity_type, self.entity_id, key, value, True)
            new.setdefault(tag_hash, (tag, parents))
        superseded = [t for tags in replaced.values() for t in tags]
        self._write([tag for tag, _ in new.values()], new.values(), superseded)
        return [tag for tag, _ in new.values()]

    def remove(self, items: list[tuple[str, Any]]) -> list[Tag]:
        """Remove current tags by (key, value or ANY); all of them must exist."""
        removed: dict[str, Tag] = {}
        for key, value in items:
            found = self.current(key, value)
            if not found:
                shown = key if value is ANY else f"{key}={show_value(value)}"
                raise TagError(
                    f"{self.entity_type} {self.entity_id} has no tag {shown}; nothing removed"
                )
            removed.update((t.tag_hash, t) for t in found)
        parents = list(removed)
        marker = Tag(hash_tag("", "", None, parents), NULL_ENTITY, "", "", None, True)
        exists = self.conn.scalar(
            select(tag_t.c.tag_hash).where(tag_t.c.tag_hash == marker.tag_hash)
        )
        self._write([] if exists else [marker], [(marker, parents)], list(removed.values()))
        return list(removed.values())

    def _write(
        self,
        new: list[Tag],
        links: Iterable[tuple[Tag, list[str]]],
        superseded: list[Tag],
    ) -> None:
        if new:
            self.conn.execute(
                insert(tag_t),
                [
                    {
                        "tag_hash": t.tag_hash,
                        "entity_type": t.entity_type,
                        "entity_id": t.entity_id,
                        "key": t.key,
                        "value": t.value,
                        "is_current": True,
                    }
                    for t in new
                ],
            )
        edges = [
            {"parent_id": parent, "child_id": child.tag_hash}
            for child, parents in links
            for parent in parents
            if (parent, child.tag_hash) not in self.edits
        ]
        if edges:
            self.conn.execute(insert(tag_edit_t), edges)
        gone = [t.tag_hash for t in superseded]
        for chunk in chunks(gone):
            self.conn.execute(
                update(tag_t).where(tag_t.c.tag_hash.in_(chunk)).values(is_current=False)
            )
