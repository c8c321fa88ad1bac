"""ATT&CK v19 offline data: tag resolution, pySigma without network, and the rebuild tool."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from lanner.detect.attack import ATTACK_DIR, Attack, data_files, load_attack
from lanner.errors import LannerError
from lanner.paths import REPO_DIR, SHARED_DATASETS_DIR


@pytest.fixture(scope="module")
def attack() -> Attack:
    return load_attack()


# --- the bundled data -------------------------------------------------------------------


def test_bundled_data_is_v19_with_renamed_and_new_tactics(attack: Attack) -> None:
    assert attack.version == "19"
    assert len(attack.tactics) == 15
    assert attack.tactic("stealth").uid == "TA0005"  # type: ignore[union-attr]
    assert attack.tactic("TA0005").name == "Stealth"  # type: ignore[union-attr]
    assert attack.tactic("defense-impairment").name == "Defense Impairment"  # type: ignore[union-attr]
    assert attack.tactic("ta0112").short_name == "defense-impairment"  # type: ignore[union-attr]
    assert attack.tactic("defense-evasion") is None  # gone in v19
    t1685 = attack.technique("t1685")
    assert (
        t1685 is not None
        and t1685.name == "Disable or Modify Tools"
        and t1685.tactics == ("defense-impairment",)
    )
    sub = attack.technique("T1078.004")
    assert sub is not None and sub.is_subtechnique and sub.parent == "T1078" and sub.name == "Cloud Accounts"
    assert sub.url == "https://attack.mitre.org/techniques/T1078/004"


def test_every_subtechnique_has_its_parent_and_every_tactic_exists(attack: Attack) -> None:
    shorts = {t.short_name for t in attack.tactics}
    assert len(attack.techniques) > 600
    for tech in attack.techniques.values():
        assert set(tech.tactics) <= shorts, tech.uid
        assert (tech.parent is not None) == tech.is_subtechnique == ("." in tech.uid)
        if tech.parent:
            assert tech.parent in attack.techniques


def test_licence_notice_ships_with_the_data() -> None:
    notice = (ATTACK_DIR / "LICENSE-ATTACK.txt").read_text(encoding="utf-8")
    assert "© The MITRE Corporation. This work is reproduced and distributed with the permission of" in notice
    assert (
        "non-exclusive, royalty-free license to use ATT&CK® for research, development, and commercial"
        in notice
    )
    table, _ = data_files()
    assert "The MITRE Corporation" in json.loads(table.read_text(encoding="utf-8"))["notice"]


# --- tag resolution -----------------------------------------------------------------------


def test_technique_takes_only_the_tactics_the_rule_tags(attack: Attack) -> None:
    # Valid Accounts belongs to 4 tactics; the rule says it is about initial access here.
    entries = attack.resolve_tags(["attack.initial-access", "attack.t1078"])
    assert entries == [
        {
            "tactic": {"uid": "TA0001", "name": "Initial Access"},
            "technique": {"uid": "T1078", "name": "Valid Accounts"},
            "version": "19",
        }
    ]


def test_technique_without_a_matching_tactic_tag_gets_all_its_tactics(attack: Attack) -> None:
    entries = attack.resolve_tags(["attack.t1078"])
    assert [e["tactic"]["uid"] for e in entries] == ["TA0005", "TA0003", "TA0004", "TA0001"]
    assert all(e["technique"]["uid"] == "T1078" for e in entries)


def test_stealth_and_defense_impairment_with_subtechnique(attack: Attack) -> None:
    entries = attack.resolve_tags(
        [
            "attack.stealth",
            "attack.defense-impairment",
            "attack.t1686.001",
            "attack.t1686",
            "attack.t1078.004",
        ]
    )
    # T1686 is tagged with its sub-technique: one entry carrying both, not a parent-only duplicate.
    assert entries[0] == {
        "tactic": {"uid": "TA0112", "name": "Defense Impairment"},
        "technique": {"uid": "T1686", "name": "Disable or Modify System Firewall"},
        "sub_technique": {"uid": "T1686.001", "name": "Cloud Firewall"},
        "version": "19",
    }
    assert entries[1] == {
        "tactic": {"uid": "TA0005", "name": "Stealth"},
        "technique": {"uid": "T1078", "name": "Valid Accounts"},
        "sub_technique": {"uid": "T1078.004", "name": "Cloud Accounts"},
        "version": "19",
    }
    assert len(entries) == 2  # both tactic tags were used by a technique: no tactic-only entries


def test_tactic_only_tags_and_case_and_duplicates(attack: Attack) -> None:
    entries = attack.resolve_tags(
        ["ATTACK.Exfiltration", "attack.exfiltration", "attack.ta0040", "car.2013-01-002"]
    )
    assert entries == [
        {"tactic": {"uid": "TA0010", "name": "Exfiltration"}, "version": "19"},
        {"tactic": {"uid": "TA0040", "name": "Impact"}, "version": "19"},
    ]


def test_unknown_tags_are_reported_with_a_reason(attack: Attack) -> None:
    tags = [
        "attack.stealth",
        "attack.defense-evasion",  # renamed in v19
        "attack.t1562.008",  # Impair Defenses was revoked in v19
        "attack.t9999",
        "attack.lateral_movment",
        "attack.",
        "attack.g0016",  # group: valid shape, no OCSF slot, not an error
        "attack.s0154",
        "cve.2021-44228",  # not ATT&CK
    ]
    issues = {i.tag: i.reason for i in attack.tag_issues(tags)}
    assert set(issues) == {
        "attack.defense-evasion",
        "attack.t1562.008",
        "attack.t9999",
        "attack.lateral_movment",
        "attack.",
    }
    assert "attack.stealth" in issues["attack.defense-evasion"]
    assert "T1562.008" in issues["attack.t1562.008"] and "v19" in issues["attack.t1562.008"]
    assert attack.invalid_tags(tags) == list(issues)
    # Resolution skips what it cannot resolve (reported above) and keeps the rest.
    assert attack.resolve_tags(tags) == [{"tactic": {"uid": "TA0005", "name": "Stealth"}, "version": "19"}]


def test_all_sigmahq_attack_tags_resolve(attack: Attack) -> None:
    rules_dir = SHARED_DATASETS_DIR / "sigmahq"
    if not rules_dir.is_dir():
        pytest.skip(f"shared SigmaHQ dataset not present at {rules_dir}")
    tags: set[str] = set()
    files = sorted(rules_dir.rglob("*.yml"))
    for path in files:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict):
                tags.update(str(t) for t in doc.get("tags") or [])
    attack_tags = {t for t in tags if t.lower().startswith("attack.")}
    assert len(files) >= 400 and len(attack_tags) > 100
    assert attack.invalid_tags(sorted(attack_tags)) == []
    assert any(e.get("tactic", {}).get("uid") == "TA0112" for e in attack.resolve_tags(attack_tags))


def test_damaged_data_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "enterprise-attack-v19.json"
    bad.write_text('{"version": "19", "tactics": []}', encoding="utf-8")
    with pytest.raises(LannerError, match=r"enterprise-attack-v19.json: .*missing field 'techniques'"):
        Attack.from_file(bad)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(LannerError, match="not valid JSON"):
        Attack.from_file(bad)
    with pytest.raises(LannerError, match="no ATT&CK data found"):
        data_files(tmp_path / "empty")


# --- pySigma, offline ---------------------------------------------------------------------

_NO_NETWORK = """
import socket, urllib.request
def _blocked(*args, **kwargs):
    raise OSError("network access attempted")
socket.socket.connect = _blocked
socket.create_connection = _blocked
urllib.request.urlopen = _blocked
"""


def test_pysigma_attack_data_works_without_network(tmp_path: Path) -> None:
    script = _NO_NETWORK + textwrap.dedent(
        f"""
        import json
        from pathlib import Path
        from lanner.detect.attack import configure_pysigma_offline
        configure_pysigma_offline(Path({str(tmp_path / "cache")!r}))
        configure_pysigma_offline(Path({str(tmp_path / "cache")!r}))  # idempotent
        from sigma.data import mitre_attack
        from sigma.rule import SigmaRule
        from sigma.validators.core.tags import ATTACKTagValidator
        rule = SigmaRule.from_yaml('''
        title: CloudTrail logging stopped
        id: 0f1e2d3c-4b5a-4968-8776-655443322110
        status: test
        logsource: {{product: aws, service: cloudtrail}}
        detection: {{sel: {{eventName: StopLogging}}, condition: sel}}
        tags: [attack.stealth, attack.defense-impairment, attack.t1685, attack.t1686.001,
               attack.defense-evasion, attack.t1562.008]
        ''')
        print(json.dumps({{
            "version": mitre_attack.mitre_attack_version,
            "tactics": sorted(mitre_attack.mitre_attack_tactics.values()),
            "t1685": mitre_attack.mitre_attack_techniques.get("T1685"),
            "invalid": sorted(str(i.tag) for i in ATTACKTagValidator().validate(rule)),
        }}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["version"] == "19"
    assert "stealth" in out["tactics"] and "defense-impairment" in out["tactics"]
    assert "defense-evasion" not in out["tactics"]
    assert out["t1685"] == "Disable or Modify Tools"
    assert out["invalid"] == ["attack.defense-evasion", "attack.t1562.008"]


# --- tools/update_attack.py ---------------------------------------------------------------


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("update_attack", REPO_DIR / "tools" / "update_attack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ref(xid: str) -> list[dict[str, str]]:
    return [{"source_name": "mitre-attack", "external_id": xid, "url": f"https://attack.mitre.org/x/{xid}"}]


def _synthetic_bundle() -> dict[str, Any]:
    phase = [{"kill_chain_name": "mitre-attack", "phase_name": "stealth"}]
    return {
        "type": "bundle",
        "id": "bundle--1",
        "objects": [
            {
                "type": "x-mitre-collection",
                "id": "x-mitre-collection--1",
                "x_mitre_version": "99.1",
                "modified": "2030-04-01T00:00:00.000Z",
            },
            {
                "type": "x-mitre-matrix",
                "id": "x-mitre-matrix--1",
                "tactic_refs": ["x-mitre-tactic--b", "x-mitre-tactic--a"],
            },
            {
                "type": "x-mitre-tactic",
                "id": "x-mitre-tactic--a",
                "name": "Stealth",
                "x_mitre_shortname": "stealth",
                "external_references": _ref("TA0005"),
            },
            {
                "type": "x-mitre-tactic",
                "id": "x-mitre-tactic--b",
                "name": "Initial Access",
                "x_mitre_shortname": "initial-access",
                "external_references": _ref("TA0001"),
            },
            {
                "type": "attack-pattern",
                "id": "attack-pattern--1",
                "name": "Valid Accounts",
                "external_references": _ref("T1078"),
                "kill_chain_phases": phase
                + [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}],
            },
            {
                "type": "attack-pattern",
                "id": "attack-pattern--2",
                "name": "Cloud Accounts",
                "external_references": _ref("T1078.004"),
                "kill_chain_phases": phase,
                "x_mitre_is_subtechnique": True,
            },
            {
                "type": "attack-pattern",
                "id": "attack-pattern--3",
                "name": "Old One",
                "external_references": _ref("T1562"),
                "kill_chain_phases": phase,
                "revoked": True,
            },
            {
                "type": "attack-pattern",
                "id": "attack-pattern--4",
                "name": "Older One",
                "external_references": _ref("T1089"),
                "kill_chain_phases": phase,
                "x_mitre_deprecated": True,
            },
            {
                "type": "intrusion-set",
                "id": "intrusion-set--1",
                "name": "APT0",
                "external_references": _ref("G0000"),
            },
        ],
    }


def test_update_tool_rebuilds_both_files_from_a_stix_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    src = tmp_path / "enterprise-attack.json"
    src.write_text(json.dumps(_synthetic_bundle()), encoding="utf-8")
    out = tmp_path / "out"
    assert tool.main(["--stix", str(src), "--out", str(out)]) == 0
    assert "2 tactics, 2 techniques" in capsys.readouterr().out

    loaded = Attack.from_file(out / "enterprise-attack-v99.json")
    assert loaded.version == "99.1"
    assert [t.short_name for t in loaded.tactics] == ["initial-access", "stealth"]  # matrix order
    assert set(loaded.techniques) == {"T1078", "T1078.004"}  # revoked and deprecated left out
    assert loaded.technique("T1078.004").parent == "T1078"  # type: ignore[union-attr]
    assert (
        loaded.resolve_tags(["attack.stealth", "attack.t1078.004"])[0]["sub_technique"]["uid"] == "T1078.004"
    )

    # The generated STIX bundle round-trips: it holds exactly what pySigma's loader reads.
    stix = json.loads((out / "enterprise-attack-v99.stix.json").read_text(encoding="utf-8"))
    kinds = sorted({o["type"] for o in stix["objects"]})
    assert kinds == ["attack-pattern", "marking-definition", "x-mitre-collection", "x-mitre-tactic"]
    again = tool.from_stix(stix)
    assert again["version"] == "99.1"
    assert again["techniques"] == tool.from_stix(_synthetic_bundle())["techniques"]

    # Rebuilding is byte-for-byte stable (reviewable diffs).
    before = (out / "enterprise-attack-v99.stix.json").read_bytes()
    assert tool.main(["--stix", str(src), "--out", str(out)]) == 0
    assert (out / "enterprise-attack-v99.stix.json").read_bytes() == before


def test_update_tool_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tool = _tool()
    bundle = _synthetic_bundle()
    bundle["objects"] = [o for o in bundle["objects"] if o["type"] != "x-mitre-collection"]
    src = tmp_path / "b.json"
    src.write_text(json.dumps(bundle), encoding="utf-8")
    assert tool.main(["--stix", str(src), "--out", str(tmp_path / "o")]) == 2
    assert "no x-mitre-collection" in capsys.readouterr().err
    src.write_text("[]", encoding="utf-8")
    assert tool.main(["--stix", str(src), "--out", str(tmp_path / "o")]) == 2
    assert "not a STIX bundle" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_shipped_files_match_what_the_tool_generates() -> None:
    """The committed STIX bundle is exactly the tool's rendering of the committed table."""
    tool = _tool()
    table, stix = data_files()
    data = json.loads(table.read_text(encoding="utf-8"))
    assert json.loads(stix.read_text(encoding="utf-8")) == tool.to_stix(data)
    assert tool.dump_table(data) == table.read_text(encoding="utf-8")
