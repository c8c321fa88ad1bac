"""Reading a file as decoded byte blocks, plain or gzip, without giving up on damaged input.

Gzip is recognised by its magic bytes, not the extension (S3 downloads lose their names).
A truncated or corrupt gzip stream does not raise: the blocks decoded before the damage are
yielded and `error` says what went wrong, so the caller keeps the good records and
quarantines the rest.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
# Decoded bytes per block: large enough that per-block overhead vanishes, small enough that a
# couple of blocks in flight stay well under the memory of a small machine.
DEFAULT_BLOCK_SIZE = 32 * 1024 * 1024
_READ_SIZE = 4 * 1024 * 1024


class ByteStream:
    """Iterate a file's decoded content in blocks.

    After iteration, `error` is None for a clean read, or a sentence saying why the content
    stops early. `bytes_read` counts bytes read from disk (compressed size for gzip).
    """

    def __init__(self, path: Path, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
        self.path = path
        self.block_size = block_size
        self.bytes_read = 0
        self.error: str | None = None
        with path.open("rb") as handle:
            self.compressed = handle.read(2) == GZIP_MAGIC

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as handle:
            if self.compressed:
                yield from self._gunzip(handle)
            else:
                while chunk := handle.read(self.block_size):
                    self.bytes_read += len(chunk)
                    yield chunk

    def _gunzip(self, handle: object) -> Iterator[bytes]:
        read = handle.read  # type: ignore[attr-defined]
        # wbits=31: gzip header and trailer; one decompressor per gzip member.
        inflater = zlib.decompressobj(wbits=31)
        pending: list[bytes] = []
        pending_size = 0
        decoded_total = 0
        while True:
            compressed = read(_READ_SIZE)
            self.bytes_read += len(compressed)
            if not compressed:
                break
            data = compressed
            while data:
                try:
                    # max_length bounds memory on highly compressible input (gzip bombs).
                    out = inflater.decompress(data, self.block_size)
                except zlib.error as exc:
                    yield from _flush(pending)
                    self.error = f"gzip stream is corrupt after {decoded_total:,} decoded bytes ({exc})"
                    return
                if out:
                    pending.append(out)
                    pending_size += len(out)
                    decoded_total += len(out)
                    if pending_size >= self.block_size:
                        yield b"".join(pending)
                        pending, pending_size = [], 0
                if inflater.eof:
                    # Concatenated gzip members are legal (and what `cat a.gz b.gz` makes).
                    rest = inflater.unused_data
                    if rest.startswith(GZIP_MAGIC):
                        inflater = zlib.decompressobj(wbits=31)
                        data = rest
                        continue
                    if rest.strip(b"\x00"):
                        yield from _flush(pending)
                        self.error = f"unexpected bytes after the end of the gzip stream at decoded byte {decoded_total:,}"
                        return
                    data = b""
                else:
                    data = inflater.unconsumed_tail
        yield from _flush(pending)
        if not inflater.eof:
            self.error = f"gzip stream is truncated: it ends after {decoded_total:,} decoded bytes"


def _flush(pending: list[bytes]) -> Iterator[bytes]:
    if pending:
        yield b"".join(pending)
