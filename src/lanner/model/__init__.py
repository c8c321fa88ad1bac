"""Shared vocabulary: no I/O here."""
