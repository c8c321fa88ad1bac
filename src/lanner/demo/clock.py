"""Time helpers: when things happen in a day, and each provider's timestamp spelling."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

# Relative activity per UTC hour for people (the estate's staff sit in UTC-5..UTC+1, so the
# working day spans roughly 08:00-22:00 UTC) and for automation (flat with a nightly batch hump).
HUMAN_HOURS = (1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 9, 8, 10, 12, 12, 11, 10, 8, 6, 4, 3, 2, 1)
BATCH_HOURS = (6, 8, 8, 6, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 5)
FLAT_HOURS = (1,) * 24


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def is_weekend(day: date) -> bool:
    return day.weekday() >= 5


def sample(rng: random.Random, day: date, hours: tuple[int, ...]) -> datetime:
    """A random instant of `day`, hour chosen by the given relative weights (millisecond resolution)."""
    hour = rng.choices(range(24), weights=hours)[0]
    ms = rng.randrange(3_600_000)
    return day_start(day) + timedelta(hours=hour, milliseconds=ms)


def every(day: date, period: timedelta, jitter_ms: int, rng: random.Random, offset: timedelta = timedelta()) -> list[datetime]:
    """Periodic instants across the day (cron jobs, probes, lease renewals) with a little jitter."""
    out: list[datetime] = []
    t = day_start(day) + offset
    end = day_start(day) + timedelta(days=1)
    while t < end:
        out.append(t + timedelta(milliseconds=rng.randrange(jitter_ms + 1)))
        t += period
    return [x for x in out if x < end]


def iso_s(t: datetime) -> str:
    """CloudTrail eventTime: second resolution, `Z`."""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_us(t: datetime) -> str:
    """GCP/K8s style: microseconds, `Z`."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_azure(t: datetime) -> str:
    """Azure Activity Log `time`: 7 fractional digits, `Z`."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def iso_ns(t: datetime, extra_ns: int) -> str:
    """Tetragon: nanosecond resolution, `Z` (datetime holds microseconds; the rest is drawn)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{extra_ns % 1000:03d}Z"
