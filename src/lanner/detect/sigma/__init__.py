"""Sigma: load rule files, map fields per log source, compile to SQL."""

from lanner.detect.sigma.fields import bind_logsource, field_sql
from lanner.detect.sigma.loader import RuleSet, load_rules

__all__ = ["RuleSet", "bind_logsource", "field_sql", "load_rules"]
