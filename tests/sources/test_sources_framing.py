"""Framing: file discovery, shapes (JSON lines, object, array, envelopes, gzip) and bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from lanner.errors import InputError
from lanner.model.event import QUARANTINE_SCHEMA
from lanner.sources import RECORDS_SCHEMA, frame_file, iter_files

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def frame_all(path: Path, **kwargs: int) -> tuple[list[dict], list[dict], int]:
    records, bad, total = [], [], 0
    for batch in frame_file(path, **kwargs):
        assert batch.records.schema == RECORDS_SCHEMA
        assert batch.quarantine.schema == QUARANTINE_SCHEMA
        records += batch.records.to_pylist()
        bad += batch.quarantine.to_pylist()
        total += batch.bytes_read
    return records, bad, total


def test_iter_files_expands_folders_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.json").write_text("{}")
    (tmp_path / "a.jsonl").write_text("{}")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.json").write_text("{}")
    (tmp_path / ".hidden.json").write_text("{}")
    assert [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])] == ["a.jsonl", "b/2.json"]


def test_iter_files_missing_path_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        list(iter_files([tmp_path / "nope.json"]))
    assert str(err.value) == f"{tmp_path / 'nope.json'}: no such file or folder; check the path"


def test_json_lines_positions_blank_lines_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b'{"a":1}\r\n\n   \n{"b":2}\r\n{"c":3}')  # no final newline
    records, bad, total = frame_all(path)
    assert [(r["position"], r["raw"]) for r in records] == [(1, '{"a":1}'), (4, '{"b":2}'), (5, '{"c":3}')]
    assert bad == [] and total == path.stat().st_size
    assert {r["file"] for r in records} == {str(path)}


def test_json_lines_are_not_parsed_while_framing(tmp_path: Path) -> None:
    # Validity is checked in SQL; framing keeps the malformed line verbatim at its position.
    path = tmp_path / "x.jsonl"
    path.write_text('{"a":1}\n{"broken": \n{"c":3}\n')
    records, bad, _ = frame_all(path)
    assert [(r["position"], r["raw"]) for r in records] == [(1, '{"a":1}'), (2, '{"broken": '), (3, '{"c":3}')]
    assert bad == []


def test_batches_respect_batch_size_across_blocks(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("".join(f'{{"n":{i}}}\n' for i in range(1, 1001)))
    batches = list(frame_file(path, batch_size=300, block_size=1000))
    assert [b.records.num_rows for b in batches] == [300, 300, 300, 100]
    positions = [p for b in batches for p in b.records["position"].to_pylist()]
    assert positions == list(range(1, 1001))
    assert sum(b.bytes_read for b in batches) == path.stat().st_size


def test_s3_records_envelope_gzip_detected_by_magic_not_extension(tmp_path: Path) -> None:
    path = tmp_path / "111122223333_CloudTrail_eu-west-1_20240514T1005Z_abc.json.dat"  # no .gz
    doc = json.loads((SAMPLES / "aws.cloudtrail" / "s3_delivery.json").read_text())
    path.write_bytes(gzip.compress(json.dumps(doc, separators=(",", ":")).encode()))
    records, bad, total = frame_all(path)
    assert [r["position"] for r in records] == [1, 2, 3, 4, 5]
    assert [json.loads(r["raw"]) for r in records] == doc["Records"]
    assert bad == [] and total == path.stat().st_size


def test_pretty_printed_envelope_and_non_object_items(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{\n  "records": [\n    {"a": 1},\n    "oops",\n    {"b": 2}\n  ]\n}\n')
    records, bad, _ = frame_all(path)
    assert [(r["position"], r["raw"]) for r in records] == [(1, '{"a":1}'), (3, '{"b":2}')]
    assert [(b["position"], b["reason"], b["raw"]) for b in bad] == [(2, "record is not a JSON object", '"oops"')]


def test_k8s_event_list_single_object_and_array(tmp_path: Path) -> None:
    records, bad, _ = frame_all(SAMPLES / "k8s.audit" / "eventlist.json")
    assert [json.loads(r["raw"])["auditID"][:8] for r in records] == ["5d6e7f80", "6e7f8091"]
    single = tmp_path / "one.json"
    single.write_text('{\n  "eventID": "e1",\n  "eventTime": "2024-01-01T00:00:00Z"\n}\n')
    records, bad, _ = frame_all(single)
    assert [(r["position"], json.loads(r["raw"])) for r in records] == [(1, {"eventID": "e1", "eventTime": "2024-01-01T00:00:00Z"})]
    array = tmp_path / "arr.json"
    array.write_text('[{"a": 1}, {"b": 2}]')
    records, bad, _ = frame_all(array)
    assert [(r["position"], r["raw"]) for r in records] == [(1, '{"a":1}'), (2, '{"b":2}')]
    assert bad == []


def test_several_one_line_envelopes_count_records_across_the_file(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    path.write_text('{"records":[{"a":1},{"b":2}]}\n{"records":[{"c":3}]}\n{"records":[\n')
    records, bad, _ = frame_all(path)
    assert [(r["position"], r["raw"]) for r in records] == [(1, '{"a":1}'), (2, '{"b":2}'), (3, '{"c":3}')]
    assert [(b["position"], b["reason"].split(":")[0]) for b in bad] == [(4, "malformed JSON on line 3")]


def test_malformed_whole_document_is_one_quarantine_entry(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "Records": [\n    {"eventID": "a"},\n    {"eventID": \n')
    records, bad, _ = frame_all(path)
    assert records == []
    assert len(bad) == 1 and bad[0]["position"] == 0
    assert bad[0]["reason"].startswith("malformed JSON document: ")
    assert bad[0]["raw"].startswith('{\n  "Records"')


def test_truncated_gzip_keeps_records_before_the_damage(tmp_path: Path) -> None:
    lines = [json.dumps({"eventID": f"id-{i}", "pad": "x" * 200}) for i in range(1, 2001)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    records, bad, total = frame_all(path)
    assert 0 < len(records) < 2000
    assert [r["position"] for r in records] == list(range(1, len(records) + 1))
    assert all(r["raw"] == lines[r["position"] - 1] for r in records)
    assert len(bad) == 1
    assert bad[0]["position"] == len(records) + 1
    assert bad[0]["reason"].startswith("gzip stream is truncated: it ends after ")
    assert bad[0]["reason"].endswith("the rest of the file (from this line on) is lost")
    assert lines[len(records)].startswith(bad[0]["raw"])  # the partial record, as far as it got
    assert total == path.stat().st_size


def test_corrupt_gzip_is_quarantined_with_reason(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(b'{"a":1}\n' * 5000))
    data[40:60] = b"\xff" * 20
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(data))
    records, bad, _ = frame_all(path)
    assert records == []
    assert [(b["position"], b["reason"]) for b in bad] == [
        (0, "gzip stream is corrupt after 0 decoded bytes (Error -3 while decompressing data: incorrect data check); "
         "no record could be read")
    ]


def test_gzip_member_corrupted_after_a_good_member_keeps_the_first(tmp_path: Path) -> None:
    good = gzip.compress(b'{"a":1}\n{"a":2}\n')
    broken = bytearray(gzip.compress(b'{"b":1}\n' * 100))
    broken[-8] ^= 0xFF  # wrong CRC in the second member's trailer
    path = tmp_path / "two_members.gz"
    path.write_bytes(good + bytes(broken))
    records, bad, _ = frame_all(path)
    assert [r["raw"] for r in records] == ['{"a":1}', '{"a":2}']
    assert len(bad) == 1 and bad[0]["position"] == 3
    assert bad[0]["reason"].startswith("gzip stream is corrupt after 16 decoded bytes")


def test_non_utf8_line_quarantines_just_that_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"a":"ok"}\n{"user":"Jos\xe9"}\n{"c":"\xc3\xa9t\xc3\xa9"}\n')
    records, bad, _ = frame_all(path)
    assert [(r["position"], r["raw"]) for r in records] == [(1, '{"a":"ok"}'), (3, '{"c":"été"}')]
    assert [(b["position"], b["reason"], b["raw"]) for b in bad] == [
        (2, "not valid UTF-8 (byte 13 of the line)", '{"user":"Jos\ufffd"}')
    ]


def test_huge_field_is_framed_and_oversized_record_is_quarantined(tmp_path: Path) -> None:
    big = "A" * (20 * 1024 * 1024)
    path = tmp_path / "big.jsonl"
    path.write_text('{"a":1}\n' + json.dumps({"blob": big}) + '\n{"b":2}\n')
    records, bad, _ = frame_all(path, block_size=4 * 1024 * 1024)
    assert [r["position"] for r in records] == [1, 2, 3] and len(records[1]["raw"]) == len(big) + 12
    assert bad == []
    # Same file with a 1 MiB limit: the big line is quarantined with a sample, neighbours kept.
    records, bad, _ = frame_all(path, block_size=256 * 1024, max_record_size=1024 * 1024)
    assert [(r["position"], r["raw"]) for r in records] == [(1, '{"a":1}'), (3, '{"b":2}')]
    assert [(b["position"], b["reason"]) for b in bad] == [(2, "record is larger than the 1 MiB limit")]
    assert bad[0]["raw"].startswith('{"blob": "AAAA') and len(bad[0]["raw"]) == 4096


def test_empty_and_whitespace_files_yield_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert list(frame_file(empty)) == []
    blank = tmp_path / "blank.jsonl"
    blank.write_bytes(b"\n \n\t\n")
    records, bad, total = frame_all(blank)
    assert records == [] and bad == [] and total == 5
    gz = tmp_path / "empty.gz"
    gz.write_bytes(gzip.compress(b""))
    records, bad, _ = frame_all(gz)
    assert records == [] and bad == []


def test_utf8_bom_is_not_part_of_the_first_record(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a":1}\n{"b":2}\n')
    records, _, _ = frame_all(path)
    assert [r["raw"] for r in records] == ['{"a":1}', '{"b":2}']


def test_workspace_reports_page_is_framed_into_its_activities(tmp_path: Path) -> None:
    page = {
        "kind": "admin#reports#activities",
        "etag": '"x"',
        "items": [
            {"kind": "admin#reports#activity", "id": {"time": "2026-11-28T10:00:00Z", "uniqueQualifier": str(i),
             "applicationName": "admin", "customerId": "C0"}, "events": [{"name": "ASSIGN_ROLE"}]}
            for i in range(3)
        ],
    }
    path = tmp_path / "activities.json"
    path.write_text(json.dumps(page))
    records, bad, _ = frame_all(path)
    assert [json.loads(r["raw"])["id"]["uniqueQualifier"] for r in records] == ["0", "1", "2"]
    assert bad == []
