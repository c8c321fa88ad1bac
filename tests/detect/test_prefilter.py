"""Typed-column mappings and implied prefilters for CloudTrail (detect/sigma/fields/aws.py).

An exact mapping (`column:`) replaces the raw read; an implied one adds the leaf's predicate on a
typed column as a necessary condition next to the raw read. Both are checked against the
normalizer's own column map, proved on edge cases, and cross-checked by running every AWS rule
with and without implied prefilters over real labelled CloudTrail events.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
import sqlglot
from sqlglot import exp

import lanner.testing.events as _events
from lanner.detect.engine import detect, group_query, rule_query
from lanner.detect.sigma import compiler, load_rules
from lanner.detect.sigma.fields import aws
from lanner.detect.sigma.loader import RuleSet
from lanner.normalize.aws_cloudtrail import CLOUDTRAIL
from lanner.paths import BUNDLED_RULES_DIR, SHARED_DATASETS_DIR

event_row = _events.event_row
load_events = _events.load_events

(SPEC,) = aws.FIELDS


# --------------------------------------------------------------------------------------------
# The mappings' justifications, checked against the normalizer


def test_exact_mappings_are_verbatim_copies_in_the_normalizer() -> None:
    for name, target in SPEC.names.items():
        col = target.removeprefix("column:")
        assert target.startswith("column:"), name
        assert CLOUDTRAIL.columns[col] == f"r.{name}", f"{name} -> {col} is not a verbatim copy"


def test_implied_columns_are_coalesces_led_by_the_path() -> None:
    assert SPEC.implied, "no implied prefilters declared"
    for path, col in SPEC.implied.items():
        sql = CLOUDTRAIL.columns[col]
        assert sql.startswith(f"coalesce(r.{path}, "), f"{path} -> {col}: {sql}"
        assert path not in SPEC.names  # an implied path must still be read from raw


# --------------------------------------------------------------------------------------------
# Compiled SQL

RULE = """\
title: {name}
id: {id}
logsource: {{product: aws, service: cloudtrail}}
detection:
{detection}
"""


def _rules(tmp_path: Path, **rules: str) -> RuleSet:
    for name, det in rules.items():
        body = "\n".join("  " + line for line in det.strip().splitlines())
        (tmp_path / f"{name}.yml").write_text(RULE.format(name=name, id=uuid.uuid4(), detection=body))
    rs = load_rules([tmp_path])
    assert not rs.errors and not rs.unsupported, (rs.errors, rs.unsupported)
    return rs


def _top_conjuncts(sql: str) -> list[exp.Expr]:
    out: list[exp.Expr] = []
    todo = [sqlglot.parse_one(sql, read="duckdb")]
    while todo:
        e = todo.pop()
        while isinstance(e, exp.Paren):
            e = e.this
        if isinstance(e, exp.And):
            todo += [e.this, e.expression]
        else:
            out.append(e)
    return out


def _raw_free(e: exp.Expr) -> bool:
    return not any(c.name == "raw" for c in e.find_all(exp.Column))


def _columns(e: exp.Expr) -> set[str]:
    return {c.name for c in e.find_all(exp.Column)}


def test_user_identity_type_reads_the_actor_type_column(tmp_path: Path) -> None:
    rs = _rules(tmp_path, t="sel: {userIdentity.type: AssumedRole}\ncondition: sel")
    where = rs.rules[0].where
    assert "raw" not in where and "actor_type" in where


def test_positive_arn_leaf_gets_a_top_level_actor_id_conjunct(tmp_path: Path) -> None:
    rs = _rules(tmp_path, imds="sel: {userIdentity.arn|re: ':assumed-role/[^/]+/i-[0-9a-f]+$'}\ncondition: sel")
    rule = rs.rules[0]
    cheap = [c for c in _top_conjuncts(rule.where) if _raw_free(c)]
    assert cheap and all(_columns(c) == {"actor_id"} for c in cheap)
    # The raw read is still there: the prefilter is an addition, never a replacement.
    assert "$.userIdentity.arn" in rule.where
    # And the engine's group scan uses it to skip rows (and their JSON parse).
    scan = group_query("ev", rs.rules)
    scan_where = scan[scan.rindex("WHERE") :]
    assert "actor_id" in scan_where


def test_negated_leaf_gets_no_prefilter(tmp_path: Path) -> None:
    rs = _rules(
        tmp_path,
        neg="sel: {userIdentity.arn|contains: ':assumed-role/'}\ncondition: not sel",
        mixed="op: {eventName: GetObject}\nsel: {userIdentity.arn|contains: admin}\ncondition: op and not sel",
    )
    for rule in rs.rules:
        assert "actor_id" not in rule.where, rule.where


def test_or_hoists_only_when_every_branch_has_a_cheap_condition(tmp_path: Path) -> None:
    rs = _rules(
        tmp_path,
        values="sel: {userIdentity.arn|endswith: [/alice, /bob]}\ncondition: sel",
        branches="a: {userIdentity.arn|contains: admin}\nb: {eventName: GetObject, requestParameters.x: 1}\ncondition: a or b",
        uncovered="a: {userIdentity.arn|contains: admin}\nb: {requestParameters.x: 1}\ncondition: a or b",
    )
    by_name = {r.meta.title: r for r in rs.rules}
    for name in ("values", "branches"):
        cheap = [c for c in _top_conjuncts(by_name[name].where) if _raw_free(c)]
        assert len(cheap) == 1 and isinstance(cheap[0], exp.Or), (name, by_name[name].where)
    branches_cheap = [c for c in _top_conjuncts(by_name["branches"].where) if _raw_free(c)]
    assert _columns(branches_cheap[0]) == {"actor_id", "operation"}
    assert not [c for c in _top_conjuncts(by_name["uncovered"].where) if _raw_free(c)]


def test_null_and_exists_leaves_get_no_prefilter(tmp_path: Path) -> None:
    # Both can be true when the path is missing, where the column may hold another field.
    rs = _rules(
        tmp_path,
        isnull="sel: {userIdentity.arn: null}\ncondition: sel",
        exists="sel: {userIdentity.arn|exists: false}\ncondition: sel",
    )
    for rule in rs.rules:
        assert "actor_id" not in rule.where, rule.where


# --------------------------------------------------------------------------------------------
# Semantics on real DuckDB, typed columns filled by the normalizer's own SQL


def _uids(rs: RuleSet, events: list[dict[str, Any]]) -> dict[str, list[str]]:
    con = duckdb.connect()
    load_events(con, "ev", [event_row(e, i) for i, e in enumerate(events)])
    got: dict[str, list[str]] = {}
    for m in detect(con, "ev", rs):
        got.setdefault(m.rule.title, []).append(str(m.events[0]["uid"]))
    return {k: sorted(v) for k, v in got.items()}


def test_arn_missing_but_principal_id_matching_does_not_match(tmp_path: Path) -> None:
    rs = _rules(
        tmp_path,
        pos="sel: {userIdentity.arn|endswith: /bob}\ncondition: sel",
        neg="sel: {userIdentity.arn|endswith: /bob}\nop: {eventName: GetObject}\ncondition: op and not sel",
    )
    events = [
        # actor_id = principalId / invokedBy here: it satisfies the predicate, the rule must not.
        {"uid": "principal", "raw": {"eventName": "GetObject", "userIdentity": {"principalId": "AIDA/bob"}}},
        {"uid": "invoked", "raw": {"eventName": "GetObject", "userIdentity": {"invokedBy": "svc/bob"}}},
        {"uid": "arn", "raw": {"eventName": "GetObject", "userIdentity": {"arn": "arn:aws:iam::1:user/bob", "principalId": "x"}}},
        {"uid": "other", "raw": {"eventName": "GetObject", "userIdentity": {"arn": "arn:aws:iam::1:user/eve", "principalId": "a/bob"}}},
        # A JSON array: the leaf tests each element; actor_id holds the array's text, which
        # does not end with /bob, so the prefilter must let it through on its own.
        {"uid": "array", "raw": {"eventName": "GetObject", "userIdentity": {"arn": ["arn:x:user/BOB", "arn:x:eve"]}}},
        {"uid": "empty", "raw": {"eventName": "GetObject", "userIdentity": {"arn": ""}}},
    ]
    rows = [event_row(e, i) for i, e in enumerate(events)]
    assert [r["actor_id"] for r in rows[:2]] == ["AIDA/bob", "svc/bob"]  # as ingested
    assert rows[4]["actor_id"] == '["arn:x:user/BOB","arn:x:eve"]'
    got = _uids(rs, events)
    assert got["pos"] == ["arn", "array"]
    assert got["neg"] == ["empty", "invoked", "other", "principal"]


def test_recipient_account_id_no_longer_matches_the_callers_account(tmp_path: Path) -> None:
    rs = _rules(tmp_path, acct="sel: {recipientAccountId: '111122223333'}\ncondition: sel")
    events = [
        {"uid": "caller-only", "raw": {"userIdentity": {"accountId": "111122223333"}}},
        {"uid": "recipient", "raw": {"recipientAccountId": "111122223333", "userIdentity": {"accountId": "9"}}},
        {"uid": "other", "raw": {"recipientAccountId": "444455556666", "userIdentity": {"accountId": "111122223333"}}},
    ]
    assert event_row(events[0])["account"] == "111122223333"  # the column alone would match it
    assert _uids(rs, events) == {"acct": ["recipient"]}


def test_user_name_prefilter_does_not_use_the_session_name_fallback(tmp_path: Path) -> None:
    rs = _rules(tmp_path, name="sel: {userIdentity.userName: alice}\ncondition: sel")
    events = [
        # actor_name falls back to the session name from the ARN: 'alice'; no userName field.
        {"uid": "session", "raw": {"userIdentity": {"arn": "arn:aws:sts::1:assumed-role/R/alice"}}},
        {"uid": "user", "raw": {"userIdentity": {"userName": "Alice", "arn": "arn:aws:iam::1:user/x"}}},
    ]
    assert event_row(events[0])["actor_name"] == "alice"
    assert _uids(rs, events) == {"name": ["user"]}


# --------------------------------------------------------------------------------------------
# Differential: implied prefilters never change a result, on real labelled CloudTrail events

PANTHER = SHARED_DATASETS_DIR / "panther-dev" / "tests.jsonl"
SIGMAHQ_AWS = SHARED_DATASETS_DIR / "sigmahq" / "rules" / "cloud" / "aws"


def _cloudtrail_events() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in PANTHER.read_bytes().splitlines():
        t = orjson.loads(line)
        if t["log_type"] == "AWS.CloudTrail" and isinstance(t.get("log"), dict):
            out.append({"uid": f"p{len(out)}", "raw": t["log"]})
    return out


@pytest.mark.skipif(not PANTHER.is_file(), reason=f"shared Panther test events absent at {PANTHER}")
@pytest.mark.skipif(not SIGMAHQ_AWS.is_dir(), reason=f"shared SigmaHQ AWS rules absent at {SIGMAHQ_AWS}")
def test_prefilters_do_not_change_results_on_real_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = _cloudtrail_events()
    assert len(events) > 200
    # Rules on every implied path; the value list takes ARNs from the events so that it matches.
    arns = sorted({str(a) for e in events if (a := e["raw"].get("userIdentity", {}).get("arn"))})[:5]
    _rules(
        tmp_path,
        arn_re="sel: {userIdentity.arn|re: ':assumed-role/'}\ncondition: sel",
        arn_list=f"sel: {{userIdentity.arn: {orjson.dumps(arns).decode()}}}\ncondition: sel",
        arn_or="a: {userIdentity.arn|contains: root}\nb: {eventName: ConsoleLogin}\ncondition: a or b",
        user="sel: {userIdentity.userName|contains: a}\ncondition: sel",
        acct="sel: {recipientAccountId|startswith: '1'}\ncondition: sel",
        neg="sel: {userIdentity.arn|contains: user}\ncondition: not sel",
    )
    dirs = [tmp_path, SIGMAHQ_AWS, BUNDLED_RULES_DIR / "aws"]
    with_prefilters = [r for d in dirs for r in load_rules([d]).rules]
    monkeypatch.setattr(compiler, "_implied_column", lambda sources, name: None)
    without = [r for d in dirs for r in load_rules([d]).rules]
    monkeypatch.undo()
    assert [r.meta.id for r in with_prefilters] == [r.meta.id for r in without]
    changed = [a.meta.title for a, b in zip(with_prefilters, without, strict=True) if a.where != b.where]
    # Every synthetic positive rule gains a prefilter; the negated one does not.
    assert {"arn_re", "arn_list", "arn_or", "user", "acct"} <= set(changed)
    assert "neg" not in changed

    con = duckdb.connect()
    load_events(con, "ev", [event_row(e, i) for i, e in enumerate(events)])

    def results(rules: list[Any]) -> dict[str, list[str]]:
        return {r.meta.id: sorted(u for (u,) in con.execute(f"SELECT uid FROM ({rule_query('ev', r)})").fetchall()) for r in rules}

    got, want = results(with_prefilters), results(without)
    assert got == want
    matched = {r.meta.title for r in with_prefilters if got[r.meta.id]}
    assert {"arn_re", "arn_list", "user", "acct"} <= matched  # the changed rules do match real events
    # The grouped engine scan agrees with the per-rule reference too.
    grouped: dict[str, list[str]] = {}
    for m in detect(con, "ev", RuleSet(rules=with_prefilters)):
        grouped.setdefault(m.rule.id, []).append(str(m.events[0]["uid"]))
    assert {k: sorted(v) for k, v in grouped.items()} == {k: v for k, v in got.items() if v}


def test_prefilter_leaves_rule_sql_valid_for_spark(tmp_path: Path) -> None:
    rs = _rules(tmp_path, imds="sel: {userIdentity.arn|re: 'i-[0-9a-f]+$', eventSource: iam.amazonaws.com}\ncondition: sel")
    spark = sqlglot.transpile(rs.rules[0].where, read="duckdb", write="spark")[0]
    assert re.search(r"actor_id", spark)
    assert sqlglot.parse_one(spark, read="spark") is not None
