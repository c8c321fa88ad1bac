"""Find the YAML line a pySigma error is about, so errors read `path:line: what is wrong`."""

from __future__ import annotations

import re

import yaml

# pySigma error class -> the top-level rule key the problem lives under.
_KEY_OF_ERROR = {
    "SigmaIdentifierError": "id",
    "SigmaConditionError": "condition",
    "SigmaLogsourceError": "logsource",
    "SigmaLevelError": "level",
    "SigmaStatusError": "status",
    "SigmaTitleError": "title",
    "SigmaDateError": "date",
    "SigmaModifiedError": "modified",
    "SigmaRelatedError": "related",
    "SigmaTagError": "tags",
    "SigmaDetectionError": "detection",
    "SigmaModifierError": "detection",
    "SigmaValueError": "detection",
    "SigmaTypeError": "detection",
    "SigmaRegularExpressionError": "detection",
    "SigmaCorrelationRuleError": "correlation",
    "SigmaCorrelationTypeError": "correlation",
    "SigmaCorrelationConditionError": "correlation",
    "SigmaTimespanError": "correlation",
}
_QUOTED = re.compile(r"'([^']{1,200})'")


def _child(node: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for k, val in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k, val
        for _, val in node.value:
            hit = _child(val, key) if key == "condition" else None
            if hit:
                return hit
    return None


def _scalars(node: yaml.Node) -> list[yaml.ScalarNode]:
    if isinstance(node, yaml.ScalarNode):
        return [node]
    out: list[yaml.ScalarNode] = []
    if isinstance(node, yaml.MappingNode):
        for k, val in node.value:
            out += _scalars(k) + _scalars(val)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            out += _scalars(item)
    return out


def error_line(doc: yaml.Node | None, error: Exception) -> int | None:
    """1-based line of the key/value the error names, or of the document start."""
    if doc is None:
        return None
    scope: yaml.Node = doc
    line = doc.start_mark.line + 1
    key = _KEY_OF_ERROR.get(type(error).__name__)
    if key:
        hit = _child(doc, key)
        if hit:
            scope, line = hit[1], hit[0].start_mark.line + 1
    tokens = _QUOTED.findall(str(error))
    for token in tokens:
        for s in _scalars(scope):
            if token in str(s.value) or (token and f"|{token}" in str(s.value)):
                return s.start_mark.line + 1
    return line


def find_line(doc: yaml.Node | None, text: str) -> int | None:
    """Line of the first scalar containing `text` (for problems found after parsing)."""
    if doc is None:
        return None
    for s in _scalars(doc):
        if text and text in str(s.value):
            return s.start_mark.line + 1
    return doc.start_mark.line + 1
