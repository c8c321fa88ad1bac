"""Turning one log file into verbatim record texts: shape sniffing, batching, quarantine.

The shape is decided from the first bytes: `[` is a JSON array; `{` is JSON lines when the
first line is a complete object (unless that object is a provider envelope), otherwise one
pretty-printed document. Anything else is framed as JSON lines so every undecodable line is
quarantined with its line number rather than the file being rejected as a whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa

from lanner.model.event import QUARANTINE_SCHEMA
from lanner.sources.bytestream import DEFAULT_BLOCK_SIZE, ByteStream
from lanner.sources.documents import DocumentRecords, add_document, envelope_items, frame_document
from lanner.sources.lines import MAX_RECORD_SIZE, QUARANTINE_SAMPLE, LineFramer, LinePiece

RECORDS_SCHEMA = pa.schema([("file", pa.string()), ("position", pa.int64()), ("raw", pa.string())])
_BOM = b"\xef\xbb\xbf"
_SNIFF_BLOCK = 1024 * 1024
_WHITESPACE = b" \t\r\n"


@dataclass
class Framed:
    """One batch of a file: records to normalize, quarantined input, and disk bytes consumed."""

    records: pa.Table  # RECORDS_SCHEMA
    quarantine: pa.Table  # QUARANTINE_SCHEMA
    bytes_read: int


def frame_file(
    path: str | Path,
    batch_size: int = 100_000,
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    max_record_size: int = MAX_RECORD_SIZE,
) -> Iterator[Framed]:
    """Frame `path` into batches of at most `batch_size` records.

    Never raises for bad content: damaged gzip, invalid UTF-8, malformed documents and
    oversized records become quarantine rows with the file, position and reason. An empty
    file yields nothing. `bytes_read` over all batches sums to the bytes read from disk.
    """
    path = Path(path)
    name = str(path)
    stream = ByteStream(path, block_size)
    if not stream.compressed:
        # Plain JSON lines are framed straight from the file: sniff from a small first block.
        stream.block_size = min(block_size, _SNIFF_BLOCK)
    blocks = iter(stream)
    head, shape = _sniff(blocks)
    batcher = _Batcher(name, batch_size, stream)
    if shape == "empty":
        if stream.error is not None:  # damaged before the first decodable byte
            batcher.add_bad(0, f"{stream.error}; no record could be read", "")
    elif shape == "lines" and not stream.compressed:
        framer = LineFramer(max_record_size=max_record_size)

        def progress(offset: int) -> None:
            stream.bytes_read = offset

        start = len(_BOM) if _starts_with_bom(path) else 0  # _sniff dropped it from `head`
        for piece in framer.frame_plain(path, start, block_size, progress):
            yield from batcher.add_piece(piece)
    elif shape == "lines":
        framer = LineFramer(max_record_size=max_record_size)
        for piece in framer.frame(itertools.chain(head, blocks)):
            yield from batcher.add_piece(piece)
        if stream.error is None:
            tail = framer.frame_tail()
            if tail is not None:
                yield from batcher.add_piece(tail)
        else:
            sample = framer.tail[:QUARANTINE_SAMPLE].decode("utf-8", "replace")
            where = "the rest of the file (from this line on) is lost" if framer.tail else "nothing after this point could be read"
            batcher.add_bad(framer.tail_position, f"{stream.error}; {where}", sample)
    else:
        data = b"".join(itertools.chain(head, blocks))
        if stream.error is not None:
            sample = data[:QUARANTINE_SAMPLE].decode("utf-8", "replace")
            batcher.add_bad(0, f"{stream.error}; the JSON document is incomplete", sample)
        else:
            docs = frame_document(data) if shape == "document" else _frame_envelope_lines(data)
            yield from batcher.add_documents(docs)
    yield from batcher.finish()


def _sniff(blocks: Iterator[bytes]) -> tuple[list[bytes], str]:
    """Read just enough to decide the shape; return the bytes read and the shape name.

    Shapes: "empty", "lines" (JSON lines or non-JSON text), "document" (object, array or
    envelope), "envelope-lines" (several envelopes, one per line).
    """
    head: list[bytes] = []
    seen = b""
    for block in blocks:
        if not head and block.startswith(_BOM):
            block = block[len(_BOM) :]
        head.append(block)
        seen = seen + block if len(seen) < 1024 else seen
        if seen.lstrip(_WHITESPACE):
            break
    start = seen.lstrip(_WHITESPACE)[:1]
    if not start:
        return head, "empty"
    if start == b"[":
        return head, "document"
    if start != b"{":
        return head, "lines"
    # Read up to the end of the first non-blank line (it may span blocks for a huge record).
    while True:
        joined = b"".join(head)
        body = joined.lstrip(_WHITESPACE)
        newline = body.find(b"\n")
        if newline >= 0 or len(body) > MAX_RECORD_SIZE:
            break
        more = next(blocks, None)
        if more is None:
            break
        head.append(more)
    head = [joined]
    first_line = body[:newline] if newline >= 0 else body
    try:
        first = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        stripped = first_line.rstrip()
        # A pretty-printed document opens with "{" alone or `"key": [`/`{` on its first line.
        if stripped.endswith((b"{", b"[")):
            return head, "document"
        return head, "lines"
    # A one-line envelope (how CloudTrail writes its S3 objects) or several of them.
    if envelope_items(first) is not None:
        return head, "envelope-lines"
    return head, "lines"


def _frame_envelope_lines(data: bytes) -> DocumentRecords:
    """Frame a file of envelopes one per line (e.g. a CloudTrail S3 object, or Event Hub
    captures written as JSON lines); positions count records across the whole file."""
    out = DocumentRecords()
    position = 1
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip(_WHITESPACE):
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            out.bad.append((position, f"malformed JSON on line {number}: {exc}", line[:QUARANTINE_SAMPLE].decode("utf-8", "replace")))
            position += 1
            continue
        position = add_document(doc, line, position, out)
    return out


class _Batcher:
    """Accumulate framed records and quarantine rows; emit batches of `batch_size` records."""

    def __init__(self, name: str, batch_size: int, stream: ByteStream) -> None:
        self.name = name
        self.batch_size = max(1, batch_size)
        self.stream = stream
        self.positions: list[pa.Array] = []
        self.raws: list[pa.Array] = []
        self.count = 0
        self.bad: list[tuple[int, str, str]] = []
        self.bytes_reported = 0
        self.emitted = False

    def add_bad(self, position: int, reason: str, raw: str) -> None:
        self.bad.append((position, reason, raw))

    def add_piece(self, piece: LinePiece) -> Iterator[Framed]:
        self.bad.extend(zip(piece.bad_positions, piece.bad_reasons, piece.bad_raw, strict=True))
        if len(piece.raw):
            self.positions.append(piece.positions)
            self.raws.append(piece.raw)
            self.count += len(piece.raw)
        while self.count >= self.batch_size:
            yield self._emit(self.batch_size)

    def add_documents(self, docs: DocumentRecords) -> Iterator[Framed]:
        self.bad.extend(docs.bad)
        for start in range(0, len(docs.records), self.batch_size):
            chunk = docs.records[start : start + self.batch_size]
            self.positions.append(pa.array([p for p, _ in chunk], pa.int64()))
            self.raws.append(pa.array([r for _, r in chunk], pa.string()))
            self.count += len(chunk)
            while self.count >= self.batch_size:
                yield self._emit(self.batch_size)

    def finish(self) -> Iterator[Framed]:
        if self.count or self.bad or not self.emitted and self.stream.bytes_read:
            yield self._emit(self.count)

    def _emit(self, n: int) -> Framed:
        # Chunked and sliced, never concatenated: the record texts are not copied here.
        positions = pa.chunked_array(self.positions, pa.int64())
        raws = pa.chunked_array(self.raws, pa.string())
        records = pa.Table.from_arrays(
            [pa.repeat(pa.scalar(self.name, pa.string()), n), positions.slice(0, n), raws.slice(0, n)],
            schema=RECORDS_SCHEMA,
        )
        rest = len(raws) - n
        self.positions = positions.slice(n).chunks if rest else []
        self.raws = raws.slice(n).chunks if rest else []
        self.count = rest
        quarantine = _quarantine_table(self.name, self.bad)
        self.bad = []
        bytes_now = self.stream.bytes_read - self.bytes_reported
        self.bytes_reported = self.stream.bytes_read
        self.emitted = True
        return Framed(records=records, quarantine=quarantine, bytes_read=bytes_now)


def _quarantine_table(name: str, bad: list[tuple[int, str, str]]) -> pa.Table:
    return pa.Table.from_pydict(
        {
            "file": [name] * len(bad),
            "position": [p for p, _, _ in bad],
            "source": [None] * len(bad),
            "reason": [r for _, r, _ in bad],
            "raw": [t for _, _, t in bad],
        },
        schema=QUARANTINE_SCHEMA,
    )


def _starts_with_bom(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(_BOM)) == _BOM
