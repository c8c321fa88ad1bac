"""Rule-pack tooling: run rule examples, the content lock, ATT&CK coverage, pack-wide checks.

Each module keeps pure functions in the middle and file I/O at the edges, so the CLI
(`lanner rules test|lock|coverage`) and the meta-tests in `tests/content/` share the same code.

- `folders`: find rule folders (`<...>/<name>/rule.yml` + `tests/*.json`).
- `examples`: run every folder's positive/negative examples through the real normalizers and engine.
- `lock`: `content/rules.lock` (name -> id, version, sha256 of the normalized rule).
- `coverage`: ATT&CK coverage by tactic, technique and platform; terminal, SVG and HTML renderings.
- `meta`: the metadata standard a bundled rule must meet.
"""
