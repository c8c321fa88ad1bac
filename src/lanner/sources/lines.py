"""Framing JSON lines into Arrow without touching each line in Python.

Each block of complete lines becomes one Arrow binary value that Arrow's C++ kernels split on
newlines, validate as UTF-8 and filter; no record is parsed here (DuckDB checks JSON validity
during normalization). Python only loops per line in the rare block that holds invalid UTF-8.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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

    def _split(self, data: bytes) -> LinePiece:
        """Split `data` (complete lines, ending in a newline) into records."""
        whole = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), 1, [None, pa.array([0, len(data)], pa.int64()).buffers()[1], pa.py_buffer(data)]
        )
        lines = pc.list_flatten(pc.split_pattern(whole, b"\n"))
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
            text = lines.cast(pa.large_string())
        except pa.ArrowInvalid:
            text, positions = self._decode_slowly(lines, positions, bad_positions, bad_reasons, bad_raw)

        if b"\r" in data:  # CRLF files: the CR belongs to the line terminator, not the record
            text = pc.utf8_rtrim(text, characters="\r")
        # Blank and whitespace-only lines are layout, not records.
        blank = pc.or_(pc.equal(pc.binary_length(text), 0), pc.ascii_is_space(text))
        if pc.any(blank).as_py():
            keep = pc.invert(blank)
            text, positions = text.filter(keep), positions.filter(keep)
        return LinePiece(positions, text.cast(pa.string()), bad_positions, bad_reasons, bad_raw)

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
        return pa.array(good_text, pa.large_string()), pa.array(good_pos, pa.int64())
