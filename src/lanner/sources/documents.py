"""Framing whole JSON documents: a single object, an array, or a provider envelope.

These shapes need a real parse to find the record boundaries, so each is parsed with orjson
and every record re-serialized as compact JSON text. They are delivery formats (one S3
object, one export file), typically far smaller than JSON-lines streams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from lanner.sources.lines import QUARANTINE_SAMPLE


@dataclass
class DocumentRecords:
    """Records (position, compact JSON text) and quarantine entries (position, reason, raw)."""

    records: list[tuple[int, str]] = field(default_factory=list)
    bad: list[tuple[int, str, str]] = field(default_factory=list)


def envelope_items(doc: Any) -> tuple[str, list[Any]] | None:
    """If `doc` is a provider envelope, return (envelope name, its records); else None.

    CloudTrail S3 delivery uses `Records`, Azure diagnostic exports `records`, and the
    Kubernetes API returns lists as `{"kind": "EventList", "items": [...]}` (Google Workspace
    Reports API pages likewise).
    """
    if not isinstance(doc, dict):
        return None
    for key in ("Records", "records"):
        items = doc.get(key)
        if isinstance(items, list) and len(doc) <= 2:
            return key, items
    kind = doc.get("kind")
    items = doc.get("items")
    # Google's Admin SDK pages the same way: `{"kind": "admin#reports#activities", "items": [...]}`.
    if isinstance(kind, str) and (kind.endswith("List") or kind == "admin#reports#activities") and isinstance(items, list):
        return kind, items
    return None


def frame_document(data: bytes, first_position: int = 1) -> DocumentRecords:
    """Frame one JSON document (object, array or envelope) whose bytes are `data`."""
    out = DocumentRecords()
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        sample = data[:QUARANTINE_SAMPLE].decode("utf-8", "replace")
        out.bad.append((0, f"malformed JSON document: {exc}", sample))
        return out
    add_document(doc, data, first_position, out)
    return out


def add_document(doc: Any, data: bytes, first_position: int, out: DocumentRecords) -> int:
    """Append the records of one parsed document to `out`; return the next free position."""
    envelope = envelope_items(doc)
    if envelope is not None:
        items = envelope[1]
    elif isinstance(doc, list):
        items = doc
    elif isinstance(doc, dict):
        # A lone object keeps its text verbatim (it may be pretty-printed evidence).
        out.records.append((first_position, data.decode("utf-8").strip().lstrip("\ufeff")))
        return first_position + 1
    else:
        out.bad.append((first_position, "JSON document is neither an object nor an array", data[:QUARANTINE_SAMPLE].decode("utf-8", "replace")))
        return first_position + 1
    position = first_position
    for item in items:
        text = orjson.dumps(item).decode("utf-8")
        if isinstance(item, dict):
            out.records.append((position, text))
        else:
            out.bad.append((position, "record is not a JSON object", text[:QUARANTINE_SAMPLE]))
        position += 1
    return position
