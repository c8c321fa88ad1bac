"""Declarative shapes the provider modules fill in."""

from __future__ import annotations

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


@dataclass(frozen=True)
class SourceFields:
    """Field names for one Lanner source.

    Targets: "column:<name>" (typed column), "sql:<duckdb expr>" (computed), otherwise a dotted
    path into raw (segments `[*]` make the field multi-valued).
    `prefixes` rewrite a field-name prefix before the lookup falls back to the name itself as a
    raw path (e.g. GCP `data.protoPayload.` -> `protoPayload.`).
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
        for old, new in self.prefixes:
            if name.startswith(old):
                rest = new + name[len(old) :]
                return self.names.get(rest, rest)
        return name

    def implied_column(self, name: str) -> str | None:
        """The typed column implied by the raw path field `name` resolves to, if any."""
        target = self.lookup(name)
        if target.startswith(("column:", "sql:")):
            return None
        return self.implied.get(target)
