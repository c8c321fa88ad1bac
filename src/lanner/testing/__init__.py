"""Helpers for testing rules and engines: build normalized event rows without the normalizers."""
