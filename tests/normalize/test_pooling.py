"""Small files are normalized together but come back per file, in order, with nothing mixed up."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from lanner.normalize import read_events

SAMPLES = Path(__file__).parent.parent / "data" / "samples"


def by_file(paths: list[Path], batch_size: int) -> dict[str, tuple[list[str], list[int], int]]:
    out: dict[str, tuple[list[str], list[int], int]] = {}
    con = duckdb.connect()
    for path, norm, nbytes in read_events(paths, con=con, batch_size=batch_size):
        assert str(path) not in out, f"{path} yielded twice"
        assert norm.files is not None and set(norm.files.to_pylist()) <= {str(path)}
        assert set(norm.quarantine.column("file").to_pylist()) <= {str(path)}
        out[str(path)] = (sorted(norm.events.column("uid").to_pylist()), sorted(norm.quarantine.column("position").to_pylist()), nbytes)
    return out


def test_pooled_small_files_equal_one_file_at_a_time(tmp_path: Path) -> None:
    files = sorted(p for p in SAMPLES.rglob("*") if p.is_file())
    # Mix in a file with quarantine of its own and an empty file.
    junk = tmp_path / "zz-junk.jsonl"
    junk.write_text('{"eventID": "x", \n{"neither": "cloudtrail"}\n')
    empty = tmp_path / "zz-empty.jsonl"
    empty.write_text("")
    files += [junk, empty]
    pooled = by_file(files, batch_size=100_000)  # every sample file fits in one pool
    alone = {}
    for f in files:
        alone.update(by_file([f], batch_size=100_000))
    assert pooled == alone
    assert list(pooled) == [str(f) for f in files if f != empty]  # files in order; empty yields nothing
    assert pooled[str(junk)][1] == [1, 2]
    assert sum(len(v[0]) for v in pooled.values()) > 20


def test_pooling_keeps_big_batches_alone_and_files_in_order(tmp_path: Path) -> None:
    base = json.loads((SAMPLES / "aws.cloudtrail" / "s3_delivery.json").read_text())["Records"][0]
    big = tmp_path / "b-big.jsonl"
    big.write_text("".join(json.dumps({**base, "eventID": f"e{i}"}) + "\n" for i in range(300)))
    small1, small2 = tmp_path / "a-small.jsonl", tmp_path / "c-small.jsonl"
    small1.write_text(json.dumps({**base, "eventID": "s1"}) + "\n")
    small2.write_text(json.dumps({**base, "eventID": "s2"}) + "\n")
    got = [(p.name, n.events.num_rows) for p, n, _ in read_events([small1, big, small2], batch_size=200)]
    # The pooled small file is flushed before big's batches, which go alone; then the last file.
    assert got == [("a-small.jsonl", 1), ("b-big.jsonl", 200), ("b-big.jsonl", 100), ("c-small.jsonl", 1)]
