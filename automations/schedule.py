"""Schedule maths for automation jobs: when each window opens and when its run fires.
Pure functions over aware datetimes; the caller supplies `now` and the account's zone."""

import hashlib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from zoneinfo import ZoneInfo

ZERO = timedelta(0)
DAY = timedelta(days=1)
# From this period up, windows are times of day (cron style); below it, real-time intervals.
TIME_OF_DAY_PERIOD = timedelta(hours=2)
MAX_OFFSET = timedelta(minutes=10)


def _duration_label(minutes: int) -> str:
    amount, unit = (minutes // 60, "hour") if minutes % 60 == 0 else (minutes, "minute")
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


def _every(minutes: int) -> str:
    """A period as people say it: "Each 8 hours" (the documents' wording), "Each hour", "Each day"."""
    return {60: "Each hour", 1440: "Each day"}.get(minutes, f"Each {_duration_label(minutes)}")


# Catalogues as (minutes or None, label) pairs, ready for Django choices.
PERIOD_CHOICES: tuple[tuple[int, str], ...] = tuple(
    (m, _every(m)) for m in (5, 10, 15, 30, 60, 120, 180, 240, 360, 480, 720, 1440)
)
# One Delay catalogue for the Recurring Jobs tab and the beta channel page, worded as the
# documents word it ("Minimal 5 minutes"); what a Delay does differs (a stable job's run is
# postponed, a beta job's windows move earlier) and each page says which.
DELAY_CHOICES: tuple[tuple[int | None, str], ...] = (
    (None, "None"),
    (5, "Minimal 5 minutes"),
) + tuple((m, _duration_label(m)) for m in (10, 15, 30, 60, 120, 180, 240))
STABLE_DELAY_CHOICES = BETA_DELAY_CHOICES = DELAY_CHOICES
EMERGENCY_PERIOD_CHOICES: tuple[tuple[int | None, str], ...] = ((None, "None"),) + tuple(
    (m, _every(m)) for m in (15, 30, 60, 120, 240, 360, 720, 1440)
)
WEBHOOK_DELAY_CHOICES: tuple[tuple[int | None, str], ...] = ((None, "None"),) + tuple(
    (m, _duration_label(m)) for m in (1, 5, 10, 15, 30, 60)
)


@dataclass(frozen=True, slots=True)
class Run:
    window_start: datetime  # aware UTC; identifies the window (idempotency key)
    run_at: datetime  # aware UTC; when the job fires


def offset_bound(period: timedelta) -> timedelta:
    """Runs fire within this long after their window opens (before any postpone)."""
    return min(period / 10, MAX_OFFSET)


def offset_for(job_key: str, period: timedelta) -> timedelta:
    """Stable per-job offset in whole seconds, in [0, offset_bound(period))."""
    # A hash rather than random() so every process and restart agrees, and jobs spread out.
    fraction = int.from_bytes(hashlib.sha256(job_key.encode()).digest()[:8])
    return timedelta(seconds=fraction * int(offset_bound(period).total_seconds()) >> 64)


def validate_beta_delay(period: timedelta, delay: timedelta) -> str | None:
    """Error message when a beta delay cannot be used with this period, else None."""
    if delay < ZERO:
        return "Delay cannot be negative."
    if delay >= period:
        return "Delay must be shorter than the period."
    return None


def runs_after(
    now: datetime,
    tz: ZoneInfo,
    period: timedelta,
    *,
    job_key: str,
    shift_earlier: timedelta = ZERO,
    postpone: timedelta = ZERO,
) -> Iterator[Run]:
    """Every run firing strictly after `now`, in order, forever.

    `shift_earlier` is the beta delay (windows open that much earlier);
    `postpone` is the stable delay (runs fire that much after their window opens).
    """
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if period <= ZERO or DAY % period:
        raise ValueError("period must divide a day")
    if error := validate_beta_delay(period, shift_earlier):
        raise ValueError(error)
    if postpone < ZERO:
        raise ValueError("postpone cannot be negative")
    return _runs(now, tz, period, shift_earlier, offset_for(job_key, period) + postpone)


def next_runs(
    now: datetime,
    tz: ZoneInfo,
    period: timedelta,
    *,
    job_key: str,
    shift_earlier: timedelta = ZERO,
    postpone: timedelta = ZERO,
    count: int = 5,
) -> list[Run]:
    """The next `count` runs after `now` (for the preview)."""
    runs = runs_after(now, tz, period, job_key=job_key, shift_earlier=shift_earlier, postpone=postpone)
    return list(islice(runs, count))


def next_run(
    now: datetime,
    tz: ZoneInfo,
    period: timedelta,
    *,
    job_key: str,
    shift_earlier: timedelta = ZERO,
    postpone: timedelta = ZERO,
) -> Run:
    """The first run after `now`."""
    runs = runs_after(now, tz, period, job_key=job_key, shift_earlier=shift_earlier, postpone=postpone)
    return next(runs)


def _runs(
    now: datetime, tz: ZoneInfo, period: timedelta, shift_earlier: timedelta, delay: timedelta
) -> Iterator[Run]:
    # A window that opened before `now` is still upcoming while its run has not fired yet.
    last = now.astimezone(UTC) - delay
    day = last.astimezone(tz).date()
    first = -shift_earlier % period
    while True:
        openings = _openings(day, tz, period, first)
        for opening in islice(openings, bisect_right(openings, last), None):
            # Drops labels already passed in real time though not on the wall clock (repeated
            # autumn hour), and merges labels that one DST gap resolves onto the same instant.
            if opening > last:
                last = opening
                yield Run(opening, opening + delay)
        day += DAY


# Every job of an account with the same period and delay shares its windows (only the
# per-job offset differs), so a day's openings are computed once for thousands of jobs.
@lru_cache(maxsize=4096)
def _openings(day: date, tz: ZoneInfo, period: timedelta, first: timedelta) -> tuple[datetime, ...]:
    """UTC openings of the windows of one local day, in order (never decreasing: a DST
    gap can resolve two labels onto one instant)."""
    midnight = datetime.combine(day, time(), tzinfo=tz)
    if period >= TIME_OF_DAY_PERIOD:
        return tuple(_resolve(midnight + first + k * period) for k in range(DAY // period))
    start, end = _resolve(midnight), _resolve(midnight + DAY)
    count = max(0, -(-(end - start - first) // period))  # openings strictly before `end`
    return tuple(start + first + k * period for k in range(count))


def _resolve(local: datetime) -> datetime:
    """UTC instant of a wall-clock time: its first occurrence, or the end of the gap it falls in."""
    utc = local.astimezone(UTC)  # fold=0 already picks the first of a repeated time
    # Inside a gap fold=0 reads the pre-transition offset, which the round trip does not keep.
    if utc.astimezone(local.tzinfo).utcoffset() == local.utcoffset():
        return utc
    # zoneinfo exposes no transition table, so bisect (to the second) for the offset change
    # between the instant fold=1 reads (before the change) and the one fold=0 reads (after).
    before, after = local.replace(fold=1).astimezone(UTC), utc
    old_offset = before.astimezone(local.tzinfo).utcoffset()
    while after - before > timedelta(seconds=1):
        middle = before + timedelta(seconds=(after - before).total_seconds() // 2)
        if middle.astimezone(local.tzinfo).utcoffset() == old_offset:
            before = middle
        else:
            after = middle
    return after
