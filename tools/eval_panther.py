"""Score the rule pack on panther-analysis's labelled test events, per log type.

    python tools/eval_panther.py                      # bundled pack, every ingested log type
    python tools/eval_panther.py --log-type AWS.CloudTrail --misses
    python tools/eval_panther.py --rules content/rules/aws --no-bundled --misses

Prints, per log type: positives with a finding / positives, negatives with a finding /
negatives, how many events normalized and how many needed a placeholder id/time. `--misses`
lists positives without a finding and negatives with one (with the Lanner rules that fired). "Uncontested" negatives leave out the events that
another Panther test labels positive (same log_hash); those are marked NOISE*.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lanner.service import load_ruleset
from lanner.testing.panther import DATASET, INGESTED, describe, evaluate, load_cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log-type", action="append", help="Panther log type (repeatable; default: all ingested)")
    ap.add_argument("--rules", action="append", default=[], type=Path, help="extra rule folder (repeatable)")
    ap.add_argument("--no-bundled", action="store_true", help="only the --rules folders")
    ap.add_argument("--misses", action="store_true", help="list missed positives and noisy negatives")
    ap.add_argument("--json", type=Path, help="write the per-log-type figures as JSON here")
    ap.add_argument("--dataset", type=Path, default=DATASET)
    args = ap.parse_args(argv)
    if not args.dataset.exists():
        print(f"dataset not found: {args.dataset}", file=sys.stderr)
        return 2
    ruleset = load_ruleset(args.rules, include_bundled=not args.no_bundled)
    for err in ruleset.errors:
        print(f"rule error: {err}", file=sys.stderr)
    cases = load_cases(args.dataset, args.log_type or list(INGESTED))
    scores = evaluate(ruleset, cases)
    print(f"{len(ruleset.rules)} rules, {len(ruleset.correlations)} correlations (not scored here)")
    print(f"{'log type':42} {'positives hit':>16} {'negatives hit':>16} {'uncontested':>16} {'normalized':>11} {'stamped':>8}")
    rows = {}
    for lt, s in scores.items():
        (ph, pn), (nh, nn), (uh, un) = s.positives, s.negatives, s.uncontested_negatives
        rows[lt] = {"positives": pn, "positives_hit": ph, "negatives": nn, "negatives_hit": nh,
                    "uncontested_negatives": un, "uncontested_negatives_hit": uh,
                    "events": len(s.outcomes), "normalized": s.normalized, "stamped": s.filled}
        print(f"{lt:42} {ph:>4}/{pn:<4} {ph / pn if pn else 0:>6.0%} {nh:>4}/{nn:<4} {nh / nn if nn else 0:>6.0%}"
              f" {uh:>4}/{un:<4} {uh / un if un else 0:>6.0%} {s.normalized:>5}/{len(s.outcomes):<5} {s.filled:>8}")
        if args.misses:
            for o in s.outcomes:
                if o.case.expected and not o.rules:
                    why = f" [quarantined: {o.quarantine_reason}]" if o.source is None else ""
                    print(f"    MISS  line {o.case.index:<5} {o.case.rule_id:55} {describe(o.case)}{why}")
            for o in s.outcomes:
                if not o.case.expected and o.rules:
                    tag = "NOISE*" if o.case.contested else "NOISE "
                    print(f"    {tag}line {o.case.index:<5} {o.case.rule_id:55} {describe(o.case)} <- {', '.join(o.rules)}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
