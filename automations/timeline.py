"""The account's schedule for the next hours, read from the rows the dispatcher claims and
advanced with the dispatcher's own step (reconciler.first_run), so the page shows the
instants the engine will use: stable jobs once per target channel, beta jobs, emergency
checks and system jobs; webhook jobs, which no clock starts, as lanes of their own."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from accounts.models import Account
from channels.models import Channel

from .models import ChannelAutomation, Mode, RunJobType, ScheduleEntry, ScheduleKind
from .reconciler import first_run
from .selectors import stable_targets, webhook_job_types

HORIZON = timedelta(hours=24)
SLOT = timedelta(minutes=15)
# A slot with this many runs or more is where runs pile up.
PILE_UP = 3


@dataclass
class Lane:
    channel: Channel | None
    job_label: str
    kind: str
    note: str = ""
    runs: list[datetime] = field(default_factory=list)  # aware UTC
    # (minutes from the timeline's start, the instant in account time) per run, for drawing.
    marks: list[tuple[float, datetime]] = field(default_factory=list)


@dataclass
class Slot:
    start: datetime  # aware UTC
    runs: int
    lanes: list[str]
    x: float = 0  # minutes from the timeline's start
    local: datetime | None = None


@dataclass
class Tick:
    x: float
    local: datetime
    labelled: bool


@dataclass
class Timeline:
    start: datetime
    end: datetime
    lanes: list[Lane]
    slots: list[Slot]
    ticks: list[Tick]
    local_start: datetime

    @property
    def total(self) -> int:
        return sum(len(lane.runs) for lane in self.lanes)

    @property
    def piled(self) -> list[Slot]:
        """Slots where runs pile up."""
        return [s for s in self.slots if s.runs >= PILE_UP]

    @property
    def busiest(self) -> list[Slot]:
        """The five slots where most runs pile up, busiest first."""
        return sorted(self.piled, key=lambda s: (-s.runs, s.start))[:5]

    @property
    def peak(self) -> int:
        return max((s.runs for s in self.slots), default=0)


def _instants(row: ScheduleEntry, start: datetime, end: datetime) -> list[datetime]:
    """The row's runs in [start, end): its stored next run (what the dispatcher claims
    next; due now if it is past), then each following one as the dispatcher advances it."""
    nxt = row.next_run_at
    if nxt is None:
        run = first_run(row, start)
        nxt = run.run_at if run else None
    instants = []
    while nxt is not None and nxt < end:
        instants.append(max(nxt, start))
        run = first_run(row, max(nxt, start))
        nxt = run.run_at if run else None
    return instants


def account_timeline(account: Account, now: datetime) -> Timeline:
    end = now + HORIZON
    rows = ScheduleEntry.objects.filter(account=account, enabled=True).order_by("key")
    channels = {c.pk: c for c in Channel.objects.filter(account=account)}
    by_id = set(
        ChannelAutomation.objects.filter(channel__account=account, mode=Mode.RECURRING_BY_ID).values_list(
            "channel_id", flat=True
        )
    )
    lanes = []
    for row in rows:
        label = RunJobType(row.job_type).label
        if row.kind == ScheduleKind.WEBHOOK:
            if row.job_type not in webhook_job_types(channels[row.channel_id]):
                continue  # no topic announces the job: no event ever arms the row
            delay = f"{row.delay_minutes} min after the first event" if row.delay_minutes else "at once"
            lane = Lane(channels.get(row.channel_id), label, row.kind, f"Runs on webhooks, {delay}")
            if row.next_run_at and row.next_run_at < end:
                lane.runs.append(max(row.next_run_at, now))
            lanes.append(lane)
            continue
        instants = _instants(row, now, end)
        if row.kind == ScheduleKind.STABLE:
            targets = stable_targets(account, row.job_type, list(channels.values()))
            lanes += [Lane(c, label, row.kind, "Account-wide job", list(instants)) for c in targets]
        elif row.kind == ScheduleKind.EMERGENCY:
            lanes.append(Lane(channels.get(row.channel_id), label, row.kind, "Emergency check", instants))
        elif row.kind == ScheduleKind.BETA and row.channel_id in by_id:
            note = "Runs only when webhooks queued ids"
            lanes.append(Lane(channels.get(row.channel_id), label, row.kind, note, instants))
        else:
            lanes.append(Lane(channels.get(row.channel_id), label, row.kind, "", instants))
    # Channels by name, then the account's own jobs (PII Retention).
    lanes.sort(key=lambda x: (x.channel is None, x.channel.name if x.channel else "", x.job_label))
    tz = account.tzinfo
    for lane in lanes:
        lane.marks = [(_minutes(now, instant), instant.astimezone(tz)) for instant in lane.runs]
    slots = _slots(lanes, now, end)
    for slot in slots:
        slot.x, slot.local = _minutes(now, slot.start), slot.start.astimezone(tz)
    return Timeline(now, end, lanes, slots, _ticks(now, end, tz), now.astimezone(tz))


def _minutes(start: datetime, instant: datetime) -> float:
    return (instant - start).total_seconds() / 60


def _ticks(start: datetime, end: datetime, tz) -> list[Tick]:
    """A mark at every full hour of the account's clock, in real time: across a DST change
    the wall clock repeats or skips an hour and the labels say so."""
    local = start.astimezone(tz)
    first = start + timedelta(hours=1) - timedelta(minutes=local.minute, seconds=local.second)
    first -= timedelta(microseconds=local.microsecond)
    ticks, instant = [], first
    while instant < end:
        wall = instant.astimezone(tz)
        ticks.append(Tick(_minutes(start, instant), wall, wall.hour % 3 == 0))
        instant += timedelta(hours=1)
    return ticks


def _slots(lanes: list[Lane], now: datetime, end: datetime) -> list[Slot]:
    # Slots start on the quarter hour (of every zone's wall clock: offsets are multiples of 15 min).
    start = now - (now - now.replace(minute=0, second=0, microsecond=0)) % SLOT
    counts: Counter = Counter()
    names: dict[int, list[str]] = {}
    for lane in lanes:
        name = f"{lane.channel.name} · {lane.job_label}" if lane.channel else lane.job_label
        for instant in lane.runs:
            index = (instant - start) // SLOT
            counts[index] += 1
            names.setdefault(index, []).append(name)
    return [Slot(start + i * SLOT, counts[i], names.get(i, [])) for i in range(-(-(end - start) // SLOT))]
