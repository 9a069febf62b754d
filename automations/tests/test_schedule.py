"""Tests for the automations schedule maths (pure, no Django)."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automations.schedule import (
    BETA_DELAY_CHOICES,
    EMERGENCY_PERIOD_CHOICES,
    PERIOD_CHOICES,
    STABLE_DELAY_CHOICES,
    WEBHOOK_DELAY_CHOICES,
    Run,
    next_run,
    next_runs,
    offset_bound,
    offset_for,
    runs_after,
    validate_beta_delay,
)


def minutes_id(period: timedelta) -> str:
    return f"{period // timedelta(minutes=1)}min"


NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
UTC_ZONE = ZoneInfo("UTC")
ZONES = (UTC_ZONE, TOKYO, NEW_YORK, BERLIN)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
PERIODS = [timedelta(minutes=m) for m, _ in PERIOD_CHOICES]
SHIFTS = [timedelta(minutes=m or 0) for m, _ in BETA_DELAY_CHOICES]
TIME_OF_DAY_PERIODS = [p for p in PERIODS if p >= 2 * HOUR]
INTERVAL_PERIODS = [p for p in PERIODS if p <= HOUR]
# Every (period, beta delay) pair the product allows, for periods that are times of day.
TIME_OF_DAY_SCHEDULES = [
    pytest.param(p, s, id=f"{minutes_id(p)}-shift{minutes_id(s)}")
    for p in TIME_OF_DAY_PERIODS
    for s in SHIFTS
    if s < p
]

# (zone, spring-forward day, UTC instant its 02:00-03:00 gap ends, fall-back day)
DST_ZONES = [
    pytest.param(
        NEW_YORK,
        date(2026, 3, 8),
        datetime(2026, 3, 8, 7, tzinfo=UTC),
        date(2026, 11, 1),
        id="New_York",
    ),
    pytest.param(
        BERLIN,
        date(2026, 3, 29),
        datetime(2026, 3, 29, 1, tzinfo=UTC),
        date(2026, 10, 25),
        id="Berlin",
    ),
]


def local(day: date, hour: int = 0, minute: int = 0, tz: ZoneInfo = NEW_YORK) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def openings_on(
    day: date, tz: ZoneInfo, period: timedelta, shift_earlier: timedelta = timedelta(0)
) -> list[datetime]:
    """Window openings (UTC) whose local date is `day`."""
    start = local(day - DAY, tz=tz)
    openings = []
    for run in runs_after(start, tz, period, job_key="job", shift_earlier=shift_earlier):
        opening_day = run.window_start.astimezone(tz).date()
        if opening_day > day:
            return openings
        if opening_day == day:
            openings.append(run.window_start)
    raise AssertionError("unreachable: runs_after is infinite")


def labels(period: timedelta, shift_earlier: timedelta = timedelta(0)) -> list[timedelta]:
    """Times of day a time-of-day period's windows open at, per the spec's k*P - D."""
    return sorted((k * period - shift_earlier) % DAY for k in range(DAY // period))


# --- the document's example -------------------------------------------------------------


def test_document_example_each_8_hours_with_1_hour_beta_delay_runs_near_07_15_23():
    now = local(date(2026, 5, 5))
    runs = next_runs(now, NEW_YORK, 8 * HOUR, job_key="job", shift_earlier=HOUR, count=6)
    opened = [run.window_start.astimezone(NEW_YORK).time() for run in runs]
    assert opened == [time(7), time(15), time(23)] * 2
    for run in runs:
        assert timedelta(0) <= run.run_at - run.window_start < timedelta(minutes=10)


# --- offsets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "bound"),
    [
        (timedelta(minutes=5), timedelta(seconds=30)),
        (timedelta(minutes=15), timedelta(seconds=90)),
        (HOUR, timedelta(minutes=6)),
        (timedelta(minutes=100), timedelta(minutes=10)),
        (2 * HOUR, timedelta(minutes=10)),
        (24 * HOUR, timedelta(minutes=10)),
    ],
)
def test_offset_bound_is_ten_percent_of_period_capped_at_ten_minutes(period, bound):
    assert offset_bound(period) == bound


@pytest.mark.parametrize("period", PERIODS, ids=minutes_id)
def test_offset_is_below_bound_for_every_period(period):
    offsets = [offset_for(f"job-{i}", period) for i in range(500)]
    assert all(timedelta(0) <= o < min(period / 10, timedelta(minutes=10)) for o in offsets)


@pytest.mark.parametrize("period", PERIODS, ids=minutes_id)
def test_offset_is_whole_seconds(period):
    assert all(offset_for(f"job-{i}", period).microseconds == 0 for i in range(100))


def test_same_key_gives_same_offset():
    assert offset_for("account:1/job:1", 8 * HOUR) == offset_for("account:1/job:1", 8 * HOUR)


def test_offset_is_pinned_across_releases():
    # Changing the hash would move every job's runs; this guards against doing it by accident.
    assert offset_for("account:1/job:1", 8 * HOUR) == timedelta(seconds=98)
    assert offset_for("account:1/job:1", timedelta(minutes=5)) == timedelta(seconds=4)


def test_different_keys_give_different_offsets():
    assert offset_for("account:1/job:1", 8 * HOUR) != offset_for("account:1/job:2", 8 * HOUR)


@pytest.mark.parametrize(
    ("period", "min_distinct"),
    [(timedelta(minutes=5), 28), (2 * HOUR, 180)],
    ids=["5min-30-slots", "2h-600-slots"],
)
def test_different_keys_spread_over_the_bound(period, min_distinct):
    offsets = {offset_for(f"account:7/job:{i}", period) for i in range(300)}
    assert len(offsets) >= min_distinct


def test_run_fires_the_job_offset_after_its_window_opens():
    for run in next_runs(local(date(2026, 5, 5)), NEW_YORK, HOUR, job_key="job", count=10):
        assert run.run_at - run.window_start == offset_for("job", HOUR)


# --- every period on ordinary days ------------------------------------------------------


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize("period", PERIODS, ids=minutes_id)
def test_ordinary_days_have_24h_over_period_windows_exactly_period_apart(period, tz):
    days = [date(2026, 5, 4) + i * DAY for i in range(3)]
    openings = [opening for day in days for opening in openings_on(day, tz, period)]
    assert len(openings) == 3 * (DAY // period)
    assert {b - a for a, b in pairwise(openings)} == {period}
    assert openings[0] == local(days[0], tz=tz)


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize("period", PERIODS, ids=minutes_id)
def test_consecutive_runs_stay_one_period_apart_over_several_days(period, tz):
    runs = next_runs(
        local(date(2026, 6, 1), 13, 7, tz=tz), tz, period, job_key="job", count=3 * (DAY // period)
    )
    assert {b.run_at - a.run_at for a, b in pairwise(runs)} == {period}


def test_results_are_in_utc():
    run = next_run(local(date(2026, 5, 5)), BERLIN, HOUR, job_key="job")
    assert run.window_start.tzinfo is UTC
    assert run.run_at.tzinfo is UTC


def test_now_in_any_zone_gives_the_same_runs():
    instant = datetime(2026, 5, 5, 12, 34, tzinfo=UTC)
    in_utc = next_runs(instant, BERLIN, 2 * HOUR, job_key="job")
    in_tokyo = next_runs(instant.astimezone(TOKYO), BERLIN, 2 * HOUR, job_key="job")
    assert in_utc == in_tokyo


def test_windows_are_aligned_to_the_account_zone_midnight():
    run = next_run(local(date(2026, 5, 5), 1, tz=TOKYO), TOKYO, 24 * HOUR, job_key="job")
    assert run.window_start == datetime(2026, 5, 5, 15, tzinfo=UTC)  # 00:00 in Tokyo


# --- which runs are upcoming -----------------------------------------------------------


def test_runs_are_strictly_after_now():
    run = next_run(local(date(2026, 5, 5), 8), NEW_YORK, HOUR, job_key="job")
    assert run.run_at > local(date(2026, 5, 5), 8)


def test_window_that_opened_before_now_is_upcoming_until_its_run_fires():
    opening = local(date(2026, 5, 5), 8)
    fires = opening + offset_for("job", HOUR)
    before = next_run(fires - timedelta(seconds=1), NEW_YORK, HOUR, job_key="job")
    assert before == Run(opening, fires)


def test_run_firing_exactly_at_now_is_not_upcoming():
    opening = local(date(2026, 5, 5), 8)
    fires = opening + offset_for("job", HOUR)
    assert next_run(fires, NEW_YORK, HOUR, job_key="job").window_start == opening + HOUR


def test_postponed_run_of_an_already_open_window_is_upcoming():
    opening = local(date(2026, 5, 5), 8)
    run = next_run(
        opening + timedelta(minutes=20),
        NEW_YORK,
        HOUR,
        job_key="job",
        postpone=timedelta(minutes=30),
    )
    assert run.window_start == opening


def test_next_run_is_the_first_of_next_runs():
    now = local(date(2026, 5, 5), 8, 3)
    assert (
        next_run(now, BERLIN, 3 * HOUR, job_key="job") == next_runs(now, BERLIN, 3 * HOUR, job_key="job")[0]
    )


@pytest.mark.parametrize("count", [0, 1, 5, 40])
def test_next_runs_returns_count_runs(count):
    runs = next_runs(local(date(2026, 5, 5)), BERLIN, 6 * HOUR, job_key="job", count=count)
    assert len(runs) == count


def test_runs_after_is_lazy_and_unbounded():
    runs = runs_after(local(date(2026, 5, 5), tz=BERLIN), BERLIN, 24 * HOUR, job_key="job")
    thousandth = next(islice(runs, 999, None))
    assert thousandth.window_start.astimezone(BERLIN).date() == date(2026, 5, 5) + 999 * DAY


# --- delays -----------------------------------------------------------------------------


def test_stable_delay_postpones_the_run_after_its_window_opens():
    postpone = timedelta(minutes=5)
    run = next_run(local(date(2026, 5, 5)), NEW_YORK, HOUR, job_key="job", postpone=postpone)
    assert run.window_start == local(date(2026, 5, 5))  # opened at now, fires later
    assert run.run_at == run.window_start + postpone + offset_for("job", HOUR)


def test_stable_delay_does_not_move_the_windows():
    now = local(date(2026, 5, 5), 3, 30)
    plain = next_runs(now, NEW_YORK, 4 * HOUR, job_key="job", count=4)
    late = next_runs(now, NEW_YORK, 4 * HOUR, job_key="job", postpone=HOUR, count=4)
    assert [r.window_start for r in plain] == [r.window_start for r in late]


def test_beta_delay_shifts_interval_windows_earlier():
    openings = openings_on(date(2026, 5, 5), BERLIN, HOUR, shift_earlier=timedelta(minutes=15))
    assert [o.astimezone(BERLIN).time() for o in openings] == [time(h, 45) for h in range(24)]


def test_beta_delay_shifts_the_midnight_window_into_the_previous_day():
    openings = openings_on(date(2026, 5, 5), TOKYO, 24 * HOUR, shift_earlier=4 * HOUR)
    assert [o.astimezone(TOKYO).time() for o in openings] == [time(20)]


@pytest.mark.parametrize(
    ("period", "delay"),
    [(HOUR, HOUR), (2 * HOUR, 4 * HOUR), (timedelta(minutes=5), timedelta(minutes=5))],
)
def test_validate_beta_delay_refuses_delay_not_shorter_than_period(period, delay):
    assert validate_beta_delay(period, delay) == "Delay must be shorter than the period."


def test_validate_beta_delay_refuses_negative_delay():
    assert validate_beta_delay(HOUR, -timedelta(minutes=5)) == "Delay cannot be negative."


@pytest.mark.parametrize(
    ("period", "delay"), [(HOUR, timedelta(0)), (HOUR, timedelta(minutes=30)), (8 * HOUR, HOUR)]
)
def test_validate_beta_delay_accepts_delay_shorter_than_period(period, delay):
    assert validate_beta_delay(period, delay) is None


def test_runs_after_refuses_beta_delay_not_shorter_than_period():
    with pytest.raises(ValueError, match="shorter than the period"):
        runs_after(local(date(2026, 5, 5)), UTC_ZONE, HOUR, job_key="job", shift_earlier=HOUR)


def test_runs_after_refuses_negative_postpone():
    with pytest.raises(ValueError, match="postpone"):
        runs_after(local(date(2026, 5, 5)), UTC_ZONE, HOUR, job_key="job", postpone=-timedelta(minutes=1))


@pytest.mark.parametrize("period", [timedelta(0), timedelta(minutes=7), 48 * HOUR])
def test_runs_after_refuses_period_not_dividing_a_day(period):
    with pytest.raises(ValueError, match="divide a day"):
        runs_after(local(date(2026, 5, 5)), UTC_ZONE, period, job_key="job")


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        next_run(datetime(2026, 5, 5, 12), NEW_YORK, HOUR, job_key="job")


# --- daylight-saving changes: periods of 2 hours and more are times of day ------------


def expected_label_openings(
    day: date, tz: ZoneInfo, period: timedelta, shift: timedelta, gap_end: datetime | None = None
) -> list[datetime]:
    """Each label once: at its first occurrence (fold=0 wall arithmetic), or at `gap_end`
    when it falls in the day's 02:00-03:00 gap. UTC, as Python never equates ambiguous
    times across zones."""
    return [
        gap_end if gap_end and 2 * HOUR <= label < 3 * HOUR else (local(day, tz=tz) + label).astimezone(UTC)
        for label in labels(period, shift)
    ]


@pytest.mark.parametrize(("period", "shift"), TIME_OF_DAY_SCHEDULES)
@pytest.mark.parametrize(("tz", "spring", "gap_end", "autumn"), DST_ZONES)
def test_spring_forward_day_runs_every_label_once_with_gap_labels_at_gap_end(
    tz, spring, gap_end, autumn, period, shift
):
    assert openings_on(spring, tz, period, shift) == expected_label_openings(
        spring, tz, period, shift, gap_end
    )


@pytest.mark.parametrize(("period", "shift"), TIME_OF_DAY_SCHEDULES)
@pytest.mark.parametrize(("tz", "spring", "gap_end", "autumn"), DST_ZONES)
def test_fall_back_day_runs_every_label_once_at_its_first_occurrence(
    tz, spring, gap_end, autumn, period, shift
):
    assert openings_on(autumn, tz, period, shift) == expected_label_openings(autumn, tz, period, shift)


def test_spring_gap_label_opens_at_gap_end_and_is_not_doubled():
    openings = openings_on(date(2026, 3, 8), NEW_YORK, 2 * HOUR)
    assert [o.astimezone(NEW_YORK).hour for o in openings] == [0, 3, 4, *range(6, 24, 2)]
    assert openings[1] == datetime(2026, 3, 8, 7, tzinfo=UTC)  # 03:00 EDT, the gap's end
    assert openings[2] - openings[1] == HOUR


def test_beta_delayed_label_inside_the_gap_opens_at_gap_end():
    openings = openings_on(date(2026, 3, 8), NEW_YORK, 3 * HOUR, shift_earlier=timedelta(minutes=30))
    walls = [o.astimezone(NEW_YORK).time() for o in openings]
    assert walls == [time(3), *(time(h, 30) for h in range(5, 24, 3))]


def test_repeated_autumn_label_opens_only_at_its_first_occurrence():
    openings = openings_on(date(2026, 11, 1), NEW_YORK, 2 * HOUR, shift_earlier=HOUR)
    assert openings[0] == datetime(2026, 11, 1, 5, tzinfo=UTC)  # 01:00 EDT, not 01:00 EST
    assert openings[1] - openings[0] == 3 * HOUR  # 03:00 EST, two labels but three real hours


def test_now_inside_the_repeated_hour_skips_the_already_run_label():
    second_one_thirty = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    run = next_run(second_one_thirty, NEW_YORK, 2 * HOUR, job_key="job", shift_earlier=HOUR)
    assert run.window_start == datetime(2026, 11, 1, 8, tzinfo=UTC)  # 03:00 EST


def test_labels_swallowed_by_a_whole_day_gap_run_once():
    # Samoa skipped 2011-12-30: its labels all resolve to the gap's end, the next midnight.
    apia = ZoneInfo("Pacific/Apia")
    runs = next_runs(local(date(2011, 12, 29), 12, tz=apia), apia, 6 * HOUR, job_key="job")
    walls = [r.window_start.astimezone(apia) for r in runs]
    assert [(w.day, w.hour) for w in walls] == [(29, 12), (29, 18), (31, 0), (31, 6), (31, 12)]


# --- daylight-saving changes: periods of 1 hour or less are real-time intervals -------


@pytest.mark.parametrize("period", INTERVAL_PERIODS, ids=minutes_id)
@pytest.mark.parametrize(("tz", "spring", "gap_end", "autumn"), DST_ZONES)
def test_spring_forward_day_has_23_hours_of_windows_exactly_period_apart(tz, spring, gap_end, autumn, period):
    openings = openings_on(spring, tz, period)
    assert len(openings) == 23 * HOUR // period
    assert {b - a for a, b in pairwise(openings)} == {period}
    assert openings[0] == local(spring, tz=tz)
    assert openings[-1] + period == local(spring + DAY, tz=tz)


@pytest.mark.parametrize("period", INTERVAL_PERIODS, ids=minutes_id)
@pytest.mark.parametrize(("tz", "spring", "gap_end", "autumn"), DST_ZONES)
def test_fall_back_day_has_25_hours_of_windows_exactly_period_apart(tz, spring, gap_end, autumn, period):
    openings = openings_on(autumn, tz, period)
    assert len(openings) == 25 * HOUR // period
    assert {b - a for a, b in pairwise(openings)} == {period}
    assert openings[0] == local(autumn, tz=tz)
    assert openings[-1] + period == local(autumn + DAY, tz=tz)


@pytest.mark.parametrize("period", INTERVAL_PERIODS, ids=minutes_id)
def test_intervals_stay_period_apart_across_the_dst_change_boundary(period):
    runs = next_runs(local(date(2026, 3, 7), 22), NEW_YORK, period, job_key="job", count=5 * HOUR // period)
    assert {b.window_start - a.window_start for a, b in pairwise(runs)} == {period}


def test_repeated_autumn_hour_has_its_hourly_window_twice():
    openings = openings_on(date(2026, 11, 1), NEW_YORK, HOUR)
    walls = [o.astimezone(NEW_YORK).hour for o in openings]
    assert walls[:4] == [0, 1, 1, 2]


def test_skipped_spring_hour_has_no_hourly_window():
    openings = openings_on(date(2026, 3, 8), NEW_YORK, HOUR)
    walls = [o.astimezone(NEW_YORK).hour for o in openings]
    assert walls == [0, 1, *range(3, 24)]


# --- catalogues -------------------------------------------------------------------------


def test_period_choices_match_the_spec():
    assert PERIOD_CHOICES == (
        (5, "Each 5 minutes"),
        (10, "Each 10 minutes"),
        (15, "Each 15 minutes"),
        (30, "Each 30 minutes"),
        (60, "Each hour"),
        (120, "Each 2 hours"),
        (180, "Each 3 hours"),
        (240, "Each 4 hours"),
        (360, "Each 6 hours"),
        (480, "Each 8 hours"),
        (720, "Each 12 hours"),
        (1440, "Each day"),
    )


@pytest.mark.parametrize("minutes", [m for m, _ in PERIOD_CHOICES + EMERGENCY_PERIOD_CHOICES if m])
def test_every_period_choice_divides_a_day(minutes):
    assert (24 * 60) % minutes == 0


def test_one_delay_catalogue_for_stable_and_beta_jobs_in_the_documents_wording():
    assert (
        STABLE_DELAY_CHOICES
        == BETA_DELAY_CHOICES
        == (
            (None, "None"),
            (5, "Minimal 5 minutes"),
            (10, "10 minutes"),
            (15, "15 minutes"),
            (30, "30 minutes"),
            (60, "1 hour"),
            (120, "2 hours"),
            (180, "3 hours"),
            (240, "4 hours"),
        )
    )


def test_emergency_period_choices_match_the_spec():
    assert [m for m, _ in EMERGENCY_PERIOD_CHOICES] == [None, 15, 30, 60, 120, 240, 360, 720, 1440]
    assert EMERGENCY_PERIOD_CHOICES[3] == (60, "Each hour")
    assert EMERGENCY_PERIOD_CHOICES[-1] == (1440, "Each day")


def test_webhook_delay_choices_match_the_spec():
    assert WEBHOOK_DELAY_CHOICES == (
        (None, "None"),
        (1, "1 minute"),
        (5, "5 minutes"),
        (10, "10 minutes"),
        (15, "15 minutes"),
        (30, "30 minutes"),
        (60, "1 hour"),
    )


# --- properties -------------------------------------------------------------------------


@st.composite
def schedules(draw):
    period = draw(st.sampled_from(PERIODS))
    return {
        "now": draw(
            st.datetimes(
                min_value=datetime(2025, 1, 1),
                max_value=datetime(2028, 12, 31),
                timezones=st.sampled_from(ZONES),
            )
        ),
        "tz": draw(st.sampled_from(ZONES)),
        "period": period,
        "job_key": draw(st.text(max_size=20)),
        "shift_earlier": draw(st.sampled_from([s for s in SHIFTS if s < period])),
        "postpone": timedelta(minutes=draw(st.sampled_from(STABLE_DELAY_CHOICES))[0] or 0),
    }


@given(schedules())
def test_property_runs_are_ordered_bounded_and_unique(schedule):
    runs = next_runs(**schedule, count=60)
    postpone, bound = schedule["postpone"], offset_bound(schedule["period"])
    assert runs[0].run_at > schedule["now"]
    assert all(a.run_at < b.run_at and a.window_start < b.window_start for a, b in pairwise(runs))
    assert all(postpone <= r.run_at - r.window_start < postpone + bound for r in runs)
    assert len({r.window_start for r in runs}) == len(runs)


@given(schedules(), st.integers(min_value=0, max_value=58))
def test_property_starting_later_continues_the_same_sequence(schedule, index):
    # Window identity must not depend on when the reconciler asks.
    runs = next_runs(**schedule, count=60)
    later = next_runs(**{**schedule, "now": runs[index].run_at}, count=60 - index - 1)
    assert later == runs[index + 1 :]
