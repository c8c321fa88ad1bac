"""Normalization: classify framed records by log type and map them to the event schema (SQL)."""

from lanner.normalize.batch import Normalized, normalize_batch
from lanner.normalize.pipeline import read_events
from lanner.normalize.registry import ENVELOPES, FORMATS

__all__ = ["ENVELOPES", "FORMATS", "Normalized", "normalize_batch", "read_events"]
