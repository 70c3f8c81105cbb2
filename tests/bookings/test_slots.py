"""The availability rules as pure slot arithmetic (bookings.slots): no database."""

import datetime
import zoneinfo
from collections import Counter

from bookings.slots import Availability, slot_is_offered, slots_free, slots_in_window

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MONDAY = datetime.date(2030, 1, 7)  # winter: Berlin is UTC+1
NOW = datetime.datetime(2030, 1, 7, 0, 0, tzinfo=BERLIN)  # Monday, midnight in Berlin


def t(hhmm: str) -> datetime.time:
    return datetime.time.fromisoformat(hhmm)


def at(day: datetime.date, hhmm: str) -> datetime.datetime:
    """A Berlin wall-clock time, as the UTC instant the slots use."""
    return datetime.datetime.combine(day, t(hhmm), tzinfo=BERLIN).astimezone(datetime.UTC)


def rules(**overrides) -> Availability:
    """Every day 09:00-17:00 Berlin, 30-minute slots, no notice, 14 days."""
    every_day = {d: ((t("09:00"), t("17:00")),) for d in range(7)}
    values = {
        "zone": BERLIN,
        "duration": datetime.timedelta(minutes=30),
        "weekly": every_day,
        "horizon_days": 14,
    }
    return Availability(**{**values, **overrides})


def local_times(slots, day: datetime.date) -> list[str]:
    return [f"{s.astimezone(BERLIN):%H:%M}" for s in slots if s.astimezone(BERLIN).date() == day]


def test_a_day_may_have_several_windows():
    avail = rules(weekly={0: ((t("09:00"), t("12:00")), (t("13:00"), t("15:00")))})
    slots = slots_in_window(avail, NOW)
    assert local_times(slots, MONDAY) == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
        "13:00", "13:30", "14:00", "14:30",
    ]  # fmt: skip
    assert local_times(slots, MONDAY + datetime.timedelta(days=1)) == []  # no Tuesday hours


def test_a_slot_must_fit_its_window_whole():
    avail = rules(weekly={0: ((t("09:00"), t("10:45")),)})
    assert local_times(slots_in_window(avail, NOW), MONDAY) == ["09:00", "09:30", "10:00"]


def test_a_date_override_replaces_that_dates_weekly_hours():
    tuesday = MONDAY + datetime.timedelta(days=1)
    avail = rules(overrides={tuesday: ((t("07:00"), t("08:00")), (t("18:00"), t("18:30")))})
    slots = slots_in_window(avail, NOW)
    assert local_times(slots, tuesday) == ["07:00", "07:30", "18:00"]
    assert local_times(slots, MONDAY)[0] == "09:00"  # other dates keep their weekly hours


def test_a_date_override_without_hours_is_a_day_off():
    avail = rules(overrides={MONDAY: ()})
    slots = slots_in_window(avail, NOW)
    assert local_times(slots, MONDAY) == []
    assert not slot_is_offered(avail, at(MONDAY, "09:00"), NOW)
    assert slot_is_offered(avail, at(MONDAY + datetime.timedelta(days=1), "09:00"), NOW)


def test_minimum_notice_hides_slots_starting_too_soon():
    avail = rules(notice=datetime.timedelta(minutes=60))
    now = at(MONDAY, "08:40")
    assert local_times(slots_in_window(avail, now), MONDAY)[0] == "10:00"
    assert not slot_is_offered(avail, at(MONDAY, "09:30"), now)
    assert slot_is_offered(avail, at(MONDAY, "10:00"), now)


def test_horizon_ends_after_that_many_local_days():
    avail = rules(horizon_days=2)
    days = {s.astimezone(BERLIN).date() for s in slots_in_window(avail, NOW)}
    assert days == {MONDAY, MONDAY + datetime.timedelta(days=1)}
    assert not slot_is_offered(avail, at(MONDAY + datetime.timedelta(days=2), "09:00"), NOW)


def test_a_busy_meeting_blocks_the_slots_it_overlaps():
    avail = rules()
    slots = slots_in_window(avail, NOW)
    busy = [(at(MONDAY, "10:15"), at(MONDAY, "11:00"))]
    free = local_times(slots_free(avail, slots, busy), MONDAY)
    assert "10:00" not in free and "10:30" not in free
    assert "09:30" in free and "11:00" in free


def test_buffer_after_keeps_slots_from_starting_right_after_a_meeting():
    avail = rules(buffer_after=datetime.timedelta(minutes=15))
    slots = slots_in_window(avail, NOW)
    busy = [(at(MONDAY, "10:00"), at(MONDAY, "11:00"))]
    free = local_times(slots_free(avail, slots, busy), MONDAY)
    assert "11:00" not in free  # starts 0 minutes after the meeting's end
    assert "11:30" in free  # 30 minutes after: outside the buffer
    assert "09:30" in free  # ends when the meeting starts: no buffer before


def test_buffer_before_keeps_slots_from_ending_right_before_a_meeting():
    avail = rules(buffer_before=datetime.timedelta(minutes=15))
    slots = slots_in_window(avail, NOW)
    busy = [(at(MONDAY, "14:00"), at(MONDAY, "15:00"))]
    free = local_times(slots_free(avail, slots, busy), MONDAY)
    assert "13:30" not in free  # would end 0 minutes before the meeting
    assert "13:00" in free  # ends 30 minutes before it
    assert "15:00" in free  # right after: no buffer after


def test_daily_cap_closes_a_day_that_has_enough_bookings():
    avail = rules(daily_cap=2)
    slots = slots_in_window(avail, NOW)
    tuesday = MONDAY + datetime.timedelta(days=1)
    free = slots_free(avail, slots, [], Counter({MONDAY: 2, tuesday: 1}))
    assert local_times(free, MONDAY) == []
    assert len(local_times(free, tuesday)) == 16
    assert slots_free(rules(), slots, [], Counter({MONDAY: 50})) == slots  # no cap


def test_slots_can_be_asked_for_a_range_only():
    avail = rules()
    since, until = at(MONDAY, "16:00"), at(MONDAY + datetime.timedelta(days=1), "09:30")
    slots = slots_in_window(avail, NOW, since=since, until=until)
    assert [f"{s.astimezone(BERLIN):%d %H:%M}" for s in slots] == [
        "07 16:00",
        "07 16:30",
        "08 09:00",
    ]


def test_the_hour_skipped_when_clocks_go_forward_has_no_slots():
    spring = datetime.date(2030, 3, 31)  # Berlin: 02:00 becomes 03:00
    avail = rules(weekly={spring.weekday(): ((t("01:00"), t("04:00")),)})
    now = datetime.datetime(2030, 3, 30, tzinfo=BERLIN)
    assert local_times(slots_in_window(avail, now), spring) == ["01:00", "01:30", "03:00", "03:30"]


def test_slot_is_offered_says_the_same_as_the_list_of_slots_across_clock_changes():
    """slot_is_offered finds a slot by arithmetic on the windows; it must agree with the
    listed slots (slots_on_day) for every instant of days when clocks go forward and back,
    with windows that overlap, in Berlin and in a zone that moves by half an hour."""
    from bookings.slots import slots_on_day

    for zone in (BERLIN, zoneinfo.ZoneInfo("Australia/Lord_Howe")):
        windows = ((t("00:00"), t("04:00")), (t("01:15"), t("03:00")), (t("09:00"), t("17:00")))
        avail = rules(
            zone=zone,
            weekly={d: windows for d in range(7)},
            duration=datetime.timedelta(minutes=15),
            horizon_days=400,
        )
        now = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
        # Berlin: 2030-03-31 forward, 2030-10-27 back; Lord Howe: 2030-04-07 back (30 min),
        # 2030-10-06 forward (30 min).
        for day in map(datetime.date.fromisoformat, ("2030-03-31", "2030-10-27", "2030-04-07",
                                                      "2030-10-06", "2030-06-03")):  # fmt: skip
            near = (day + datetime.timedelta(days=n) for n in (-1, 0, 1))
            listed = {s for d in near for s in slots_on_day(avail, d)}
            start = datetime.datetime.combine(day, t("00:00"), tzinfo=zone).astimezone(datetime.UTC)
            instants = [start + datetime.timedelta(minutes=5 * n) for n in range(12 * 26)]
            assert listed  # the day has slots to compare
            for instant in instants:
                assert slot_is_offered(avail, instant, now) == (instant in listed), (zone, instant)
