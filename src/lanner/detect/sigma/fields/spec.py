"""Declarative shapes the provider modules fill in."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LogsourceBinding:
    """A Sigma log source -> Lanner sources. `None` in a pattern means "must be absent";
    `ANY` accepts any value (including absent)."""

    product: str | None
    service: str | None
    category: str | None
    sources: tuple[str, ...]

    def matches(self, product: str | None, service: str | None, category: str | None) -> bool:
        return all(
            want == ANY or want == (got.lower() if got else None)
            for want, got in ((self.product, product), (self.service, service), (self.category, category))
        )


ANY = "\x00any"

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(dotted: str) -> str:
    """Sigma dotted field name -> JSONPath; keys with special characters are quoted."""
    parts = []
    for key in dotted.split("."):
        if key == "[*]":
            parts.append("[*]")
        elif _PLAIN_KEY.match(key):
            parts.append("." + key)
        else:
            parts.append('."' + key.replace('"', '\\"') + '"')
    return "$" + "".join(parts).replace(".[*]", "[*]")


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def folded_top_level(dotted: str) -> str | None:
    """`sql:` target reading `dotted` whichever case its first key has in the record (native
    spelling first, then all lower case), or None when the spelling is already lower case or the
    path is multi-valued. Scalar reads: a JSON array there is compared as its text."""
    first, _, rest = dotted.partition(".")
    if first == first.lower() or "[*]" in dotted:
        return None
    lowered = first.lower() + ("." + rest if rest else "")
    return (
        f"sql:coalesce(json_extract_string(raw, {sql_text(json_path(dotted))}), "
        f"json_extract_string(raw, {sql_text(json_path(lowered))}))"
    )


@dataclass(frozen=True)
class SourceFields:
    """Field names for one Lanner source.

    Targets: "column:<name>" (typed column), "sql:<duckdb expr>" (computed), otherwise a dotted
    path into raw (segments `[*]` make the field multi-valued).
    `prefixes` rewrite a field-name prefix before the lookup falls back to the name itself as a
    raw path (e.g. GCP `data.protoPayload.` -> `protoPayload.`).
    `computed` maps a field-name prefix to a function of the rest of the name giving a target
    (e.g. M365 `Parameters.<Name>`: the Value of the element with that Name); the prefix
    matches case-insensitively. Targets may also be "list:<duckdb expr>", a VARCHAR[] whose
    elements predicates apply to (any element matches).
    `fold_top_level`: an unmapped name whose first key is not lower case also reads the
    all-lower-case spelling of that key (records whose pipeline lower-cased top-level keys).
    `implied` maps a raw path to a typed column that holds the very same text whenever the path
    is present in the record (the column may also be filled from elsewhere when it is absent,
    e.g. a coalesce). A predicate that is false on a missing field and true on the path's value
    is then also true on the column, so the compiler may add it on the column as a cheap
    *necessary* condition next to the raw read (never instead of it).
    """

    source: str
    names: dict[str, str]
    prefixes: tuple[tuple[str, str], ...] = ()
    implied: dict[str, str] = field(default_factory=dict)
    computed: tuple[tuple[str, Callable[[str], str]], ...] = ()
    fold_top_level: bool = False
    _lower: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._lower.update({k.lower(): v for k, v in self.names.items()})

    def lookup(self, name: str) -> str:
        hit = self.names.get(name)
        if hit is None:
            # Rule authors write these names with inconsistent case (e.g. Azure `Resultdescription`).
            hit = self._lower.get(name.lower())
        if hit is not None:
            return hit
        for prefix, target in self.computed:
            if name.lower().startswith(prefix.lower()) and len(name) > len(prefix):
                return target(name[len(prefix) :])
        for old, new in self.prefixes:
            if name.startswith(old):
                rest = new + name[len(old) :]
                return self.names.get(rest, rest)
        if self.fold_top_level:
            return folded_top_level(name) or name
        return name

    def implied_column(self, name: str) -> str | None:
        """The typed column implied by the raw path field `name` resolves to, if any."""
        target = self.lookup(name)
        if target.startswith(("column:", "sql:", "list:")):
            return None
        return self.implied.get(target)
