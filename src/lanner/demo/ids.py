"""Identifier shapes of the providers, drawn from one seeded generator (never the OS entropy pool)."""

from __future__ import annotations

import base64
import random
import string
import uuid

_UPPER_DIGITS = string.ascii_uppercase + "234567"  # AWS key ids use a base32-like alphabet
_LOWER_DIGITS = string.ascii_lowercase + string.digits


class Ids:
    """Every random-looking id in the scenario comes from here, so a seed fixes them all."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def upper(self, n: int) -> str:
        return "".join(self.rng.choice(_UPPER_DIGITS) for _ in range(n))

    def lower(self, n: int) -> str:
        return "".join(self.rng.choice(_LOWER_DIGITS) for _ in range(n))

    def access_key(self, prefix: str) -> str:
        """`ASIA…` for temporary (STS) credentials, `AKIA…` for long-term IAM user keys."""
        return prefix + self.upper(16)

    def request_id(self) -> str:
        return self.upper(16)

    def instance_id(self) -> str:
        return "i-0" + self.hex(16)

    def gcp_insert_id(self) -> str:
        return self.lower(12)

    def tetragon_exec_id(self, node: str, ktime: int, pid: int) -> str:
        # Tetragon's exec_id is base64("<node>:<ktime ns>:<pid>"), unique per process execution.
        return base64.b64encode(f"{node}:{ktime}:{pid}".encode()).decode()
