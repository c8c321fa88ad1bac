"""Framing JSON lines into Arrow without touching each line in Python.

Each block of complete lines becomes one Arrow binary value that Arrow's C++ kernels split on
newlines, validate as UTF-8 and filter; no record is parsed here (DuckDB checks JSON validity
during normalization). Python only loops per line in the rare block that holds invalid UTF-8.
Plain files are read block by block and framed from zero-copy views of each block (decoded
gzip arrives as a stream of byte blocks and is framed from those).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

# Above this a single record is quarantined: it is almost certainly not a log event, and
# holding several of them would exhaust memory.
MAX_RECORD_SIZE = 64 * 1024 * 1024
# How much of an oversized or undecodable record the quarantine keeps as a sample.
QUARANTINE_SAMPLE = 4096


@dataclass
class LinePiece:
    """Framed lines of one block: kept records and quarantined ones (as plain lists)."""

    positions: pa.Array  # int64, 1-based line numbers
    raw: pa.Array  # string
    bad_positions: list[int]
    bad_reasons: list[str]
    bad_raw: list[str]


@dataclass
class LineFramer:
    """Turn a stream of byte blocks into framed lines, tracking line numbers across blocks.

    After the blocks are exhausted, `tail` holds the unterminated last line (if any) and
    `tail_position` its line number, so the caller can decide whether it is a record (clean
    end of file) or the remnant of a damaged stream.
    """

    max_record_size: int = MAX_RECORD_SIZE
    lines_done: int = 0
    tail: bytes = b""
    tail_position: int = 0

    def frame(self, blocks: Iterable[bytes]) -> Iterator[LinePiece]:
        carry: list[bytes] = []
        carry_size = 0
        skipping = False  # inside an oversized line, dropping bytes until its newline
        for block in blocks:
            if not block:
                continue
            cut = block.rfind(b"\n")
            if cut < 0:
                if skipping:
                    continue
                carry.append(block)
                carry_size += len(block)
                if carry_size > self.max_record_size:
                    yield self._oversized(b"".join(carry)[:QUARANTINE_SAMPLE])
                    carry, carry_size, skipping = [], 0, True
                continue
            head, rest = block[: cut + 1], block[cut + 1 :]
            if skipping:
                # The oversized line ends at the first newline of this block.
                first = head.find(b"\n")
                head = head[first + 1 :]
                skipping = False
            elif carry:
                carry.append(head)
                head = b"".join(carry)
            carry, carry_size = ([rest], len(rest)) if rest else ([], 0)
            if head:
                yield self._split(head)
        self.tail = b"" if skipping else b"".join(carry)
        self.tail_position = self.lines_done + 1

    def frame_plain(self, path: Path, start: int, block_size: int, progress: Callable[[int], None]) -> Iterator[LinePiece]:
        """Frame a plain file from byte `start` to its end, block by block.

        Each block is read fresh from its first line, and the lines it holds whole are framed
        from a zero-copy view of it: the partial line at its end is simply read again with the
        next block, so nothing is joined or sliced in Python. A line longer than a block widens
        it, up to the record size limit. `progress(offset)` is called as blocks are consumed.
        The last line needs no newline (a plain file has no damaged-stream case).
        """
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            pos = start
            while pos < size:
                want = block_size
                while True:
                    handle.seek(pos)
                    data = handle.read(want)
                    at_end = pos + len(data) >= size
                    cut = data.rfind(b"\n")
                    if cut >= 0 or at_end or len(data) > self.max_record_size:
                        break
                    want *= 2
                if cut < 0 and not at_end:
                    yield self._oversized(data[:QUARANTINE_SAMPLE])
                    pos = _after_next_newline(handle, pos + len(data), block_size)
                    progress(pos)
                    continue
                n = len(data) if at_end else cut + 1
                if n:
                    has_cr = data.find(b"\r", 0, n) >= 0
                    yield self._split(pa.py_buffer(data).slice(0, n), has_cr, terminated=data[n - 1] == 0x0A)
                pos += n
                progress(pos)

    def frame_tail(self) -> LinePiece | None:
        """Frame the unterminated last line as an ordinary record (the file ended cleanly)."""
        if not self.tail:
            return None
        piece = self._split(self.tail + b"\n")
        self.tail = b""
        return piece

    def _oversized(self, sample: bytes) -> LinePiece:
        self.lines_done += 1
        return LinePiece(
            positions=pa.array([], pa.int64()),
            raw=pa.array([], pa.string()),
            bad_positions=[self.lines_done],
            bad_reasons=[f"record is larger than the {self.max_record_size // (1024 * 1024)} MiB limit"],
            bad_raw=[sample.decode("utf-8", "replace")],
        )

    def _split(self, data: bytes | pa.Buffer, has_cr: bool | None = None, terminated: bool = True) -> LinePiece:
        """Split `data` (complete lines, ending in a newline unless not `terminated`) into records."""
        buffer = data if isinstance(data, pa.Buffer) else pa.py_buffer(data)
        if has_cr is None:
            has_cr = b"\r" in data
        whole = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), 1, [None, pa.array([0, buffer.size], pa.int64()).buffers()[1], buffer]
        )
        lines = pc.list_flatten(pc.split_pattern(whole, b"\n"))
        if terminated:
            lines = lines.slice(0, len(lines) - 1)  # the empty string after the final newline
        first_line = self.lines_done + 1
        self.lines_done += len(lines)
        # Line numbers 1..n without a Python loop: cumulative sum of ones.
        ones = pc.add(pc.multiply(pc.binary_length(lines), 0), 1)
        positions = pc.add(pc.cumulative_sum(pc.cast(ones, pa.int64())), first_line - 1)

        bad_positions: list[int] = []
        bad_reasons: list[str] = []
        bad_raw: list[str] = []
        lengths = pc.binary_length(lines)
        too_long = pc.greater(lengths, self.max_record_size)
        if pc.any(too_long).as_py():
            for i in pc.indices_nonzero(too_long).to_pylist():
                bad_positions.append(positions[i].as_py())
                bad_reasons.append(f"record is larger than the {self.max_record_size // (1024 * 1024)} MiB limit")
                bad_raw.append(lines[i].as_py()[:QUARANTINE_SAMPLE].decode("utf-8", "replace"))
            keep = pc.invert(too_long)
            lines, positions = lines.filter(keep), positions.filter(keep)

        try:
            text = lines.cast(pa.string())
        except pa.ArrowInvalid:
            text, positions = self._decode_slowly(lines, positions, bad_positions, bad_reasons, bad_raw)

        if has_cr:  # CRLF files: the CR belongs to the line terminator, not the record
            text = pc.utf8_rtrim(text, characters="\r")
        # Blank and whitespace-only lines are layout, not records.
        blank = pc.or_(pc.equal(pc.binary_length(text), 0), pc.ascii_is_space(text))
        if pc.any(blank).as_py():
            keep = pc.invert(blank)
            text, positions = text.filter(keep), positions.filter(keep)
        return LinePiece(positions, text, bad_positions, bad_reasons, bad_raw)

    @staticmethod
    def _decode_slowly(
        lines: pa.Array,
        positions: pa.Array,
        bad_positions: list[int],
        bad_reasons: list[str],
        bad_raw: list[str],
    ) -> tuple[pa.Array, pa.Array]:
        # Only blocks containing invalid UTF-8 come here; find the offending lines one by one.
        good_text: list[str] = []
        good_pos: list[int] = []
        for position, value in zip(positions.to_pylist(), lines.to_pylist(), strict=True):
            try:
                good_text.append(value.decode("utf-8"))
                good_pos.append(position)
            except UnicodeDecodeError as exc:
                bad_positions.append(position)
                bad_reasons.append(f"not valid UTF-8 (byte {exc.start + 1} of the line)")
                bad_raw.append(value[:QUARANTINE_SAMPLE].decode("utf-8", "replace"))
        return pa.array(good_text, pa.string()), pa.array(good_pos, pa.int64())


def _after_next_newline(handle: BinaryIO, offset: int, block_size: int) -> int:
    """The offset just after the first newline at or after `offset` (or the end of file)."""
    handle.seek(offset)
    while chunk := handle.read(block_size):
        found = chunk.find(b"\n")
        if found >= 0:
            return offset + found + 1
        offset += len(chunk)
    return offset
