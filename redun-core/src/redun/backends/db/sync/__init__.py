"""Sharing records: copying what one record lacks from another (push, pull) and
JSON-lines export and import. Values travel as stored bytes and are never unpickled."""

from redun.backends.db.sync.closure import execution_selection, resolve_executions
from redun.backends.db.sync.counts import Counts
from redun.backends.db.sync.jsonl import (
    RecordFormatError,
    export_records,
    import_records,
    read_records,
)
from redun.backends.db.sync.transfer import copy_records, snapshot

__all__ = [
    "Counts",
    "RecordFormatError",
    "copy_records",
    "execution_selection",
    "export_records",
    "import_records",
    "read_records",
    "resolve_executions",
    "snapshot",
]
