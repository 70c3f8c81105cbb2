"""The bench's own arithmetic (integrations/management/bench/figures.py): fast, no
processes. The bench is only as honest as these."""

import math

import pytest

from integrations.management.bench import figures
from integrations.management.bench.context import Drain
from integrations.management.bench.load import UID_IN_JSON, Answer, accepted_uid, client_ip

KEY = "Lead.LeadSync_Booking_Id__c"


def test_percentile_is_nearest_rank_so_one_slow_request_in_a_hundred_shows():
    values = [0.1] * 99 + [5.0]
    assert figures.percentile(values, 0.99) == 0.1
    assert figures.percentile([*values, 5.0], 0.99) == 5.0
    assert figures.percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert figures.percentile([7.0], 0.99) == 7.0
    assert figures.percentile(range(1, 101), 0.5) == 50
    assert math.isnan(figures.percentile([], 0.5))


def test_open_loop_schedule_is_due_at_i_over_rate_whatever_the_server_does():
    due = figures.open_loop_schedule(rate=20, duration=1.0, start=100.0)
    assert len(due) == 20
    assert due[0] == 100.0
    assert due[1] == pytest.approx(100.05)
    assert due[-1] == pytest.approx(100.95)
    assert len(figures.open_loop_schedule(rate=100, duration=30)) == 3000
    assert len(figures.open_loop_schedule(rate=3, duration=0.5)) == 2  # 0 and 1/3
    with pytest.raises(ValueError):
        figures.open_loop_schedule(rate=0, duration=1)


def test_achieved_rate_counts_until_the_last_answer_when_the_server_falls_behind():
    assert figures.achieved_rate(accepted=600, due_span=30, last_answer=29.9) == 20
    # All 600 accepted, but the last answer came 75 s after the start: 8/s, not 20/s.
    assert figures.achieved_rate(accepted=600, due_span=30, last_answer=75) == 8
    assert figures.achieved_rate(accepted=570, due_span=30, last_answer=None) == 19


def _summary(**counts):
    return {"by_value": {KEY: {v: {"writes": w, "creates": c} for v, (w, c) in counts.items()}}}


def test_a_second_upsert_that_only_updated_the_record_is_still_a_duplicate():
    check = figures.writes_check(_summary(a=(1, 1), b=(2, 1), c=(2, 2)), key=KEY,
                                 expected=["a", "b", "c"])  # fmt: skip
    assert check.duplicates == ["b", "c"]
    assert check.lost == []
    assert check.delivered == 3


def test_expected_values_never_written_are_lost_and_strangers_are_listed():
    check = figures.writes_check(_summary(a=(1, 1), z=(1, 1)), key=KEY, expected=["a", "b"])
    assert check.lost == ["b"]
    assert check.unexpected == ["z"]
    assert check.delivered == 1
    assert check.duplicates == []


def test_write_check_folds_case_like_the_emulator_and_survives_an_empty_org():
    check = figures.writes_check(_summary(abc=(1, 1)), key=KEY, expected=["ABC"])
    assert (check.delivered, check.lost) == (1, [])
    empty = figures.writes_check({"by_value": {}}, key=KEY, expected=["a"])
    assert empty.lost == ["a"]


# A celery pool child as /proc shows it; the command name holds a space and a ')'.
STAT = (
    "4242 (celery w) x) S 4200 4200 4200 0 -1 4194560 12345 0 0 0 "
    "150 30 7 3 20 0 5 0 987654 123456789 4321 18446744073709551615"
)


def test_proc_stat_fields_are_counted_from_the_last_parenthesis():
    stat = figures.proc_stat_parse(STAT)
    assert (stat.pid, stat.ppid) == (4242, 4200)
    assert (stat.utime, stat.stime, stat.cutime, stat.cstime) == (150, 30, 7, 3)
    assert stat.ticks == 190


def test_tree_ticks_adds_a_worker_its_pool_and_their_children_only():
    def stat(pid, ppid, ticks):
        return figures.ProcStat(pid=pid, ppid=ppid, utime=ticks, stime=0, cutime=0, cstime=0)

    stats = [stat(10, 1, 5), stat(11, 10, 100), stat(12, 10, 200), stat(13, 12, 1),
             stat(20, 1, 999), stat(21, 20, 999)]  # fmt: skip
    assert figures.tree_ticks(stats, [10]) == 306
    assert figures.tree_ticks(stats, [10, 20]) == 306 + 1998
    assert figures.tree_ticks(stats, [99]) == 0  # already gone


def test_a_servers_cpu_is_its_main_process_tree():
    def stat(pid, ppid, comm, ticks):
        return figures.ProcStat(pid=pid, ppid=ppid, utime=ticks, stime=0, cutime=0, cstime=0,
                                comm=comm)  # fmt: skip

    stats = [stat(1, 0, "init", 0), stat(50, 1, "postgres", 7), stat(51, 50, "postgres", 40),
             stat(52, 50, "postgres", 3), stat(60, 1, "redis-server", 9),
             stat(70, 1, "python", 100), stat(71, 70, "postgres", 5)]  # fmt: skip
    # A "postgres" started by something else is a server of its own; backends are not roots.
    assert figures.roots_named(stats, "postgres") == [50, 71]
    assert figures.tree_ticks(stats, figures.roots_named(stats, "postgres")) == 55
    assert figures.roots_named(stats, "redis-server") == [60]
    assert figures.proc_stat_parse(STAT).comm == "celery w) x"


def test_machine_ticks_count_all_but_idle_and_iowait_as_busy():
    line = "cpu  100 5 50 800 40 3 2 0 0 0"
    assert figures.machine_ticks(line) == (160, 1000)
    with pytest.raises(ValueError):
        figures.machine_ticks("cpu0 1 2 3 4 5 6 7 8")


def test_the_drains_machine_note_gives_each_share_of_all_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    drain = Drain(count=100, seconds=10.0, started_wall=0.0, api_calls=1, worker_cpu=10.0,
                  emulator_cpu=1.0, check=figures.WriteCheck(expected=100, delivered=100),
                  machine_busy=0.97, services_cpu={"postgres": 6.0, "redis": 0.5})  # fmt: skip
    assert drain.machine_note() == (
        "machine 97% busy (2 cores): workers 50%, postgres 30%, redis 2%, emulator 5%"
    )
    drain.seconds = None  # not drained: nothing to say
    assert drain.machine_note() == ""


def test_sf_time_reads_salesforce_datetimes():
    assert figures.sf_time("1970-01-01T00:00:01.500+0000") == 1.5


def test_only_an_answer_naming_the_new_booking_counts_as_accepted():
    uid = "0b8a3c1e-9f7d-4a62-8e51-1c2d3e4f5a6b"

    class Headers(dict):
        pass

    assert accepted_uid(Answer(302, Headers(Location=f"/t/p/booked/{uid}/"), b"")) == uid
    assert accepted_uid(Answer(302, Headers(Location="/admin/"), b"")) is None
    assert accepted_uid(Answer(200, Headers(), b"form with errors")) is None
    assert accepted_uid(Answer(201, None, f'{{"id": 1, "uid": "{uid}"}}'.encode())) == uid
    assert UID_IN_JSON.search('{"uid":"' + uid + '"}')


def test_every_request_comes_from_its_own_guest_address():
    addresses = {client_ip(i) for i in range(70_000)}
    assert len(addresses) == 70_000
    assert client_ip(258) == "10.0.1.2"


# -- the backlog the drains start from ------------------------------------------------------------


class _Emulator:
    base_url = "https://127.0.0.1:9"  # never called: nothing is pushed here


@pytest.mark.django_db
def test_a_copied_backlog_is_what_submitted_bookings_leave_behind(monkeypatch):
    from bookings.models import Booking
    from integrations.delivery.services import PUSH_TASK
    from integrations.management.bench import data
    from integrations.models import Delivery

    sent = []
    monkeypatch.setattr(
        "leadsync.enqueue.task_send", lambda name, *args, **kw: sent.append((name, args)) or True
    )
    pages = data.tenant_setup(_Emulator, slug="bench", pages=2, configured=False)
    slots = list(data.slots_for(pages, 260))  # 250 on the first page, 10 on the second

    uids = data.backlog_copy(slots, label="Copy")

    assert len(uids) == len(set(uids)) == 260
    bookings = {str(b.uid): b for b in Booking.objects.all()}
    assert set(bookings) == set(uids)
    assert [bookings[u].starts_at for u in uids] == [s.starts_at for s in slots]
    assert len({b.guest_email for b in bookings.values()}) == 260
    deliveries = list(Delivery.objects.order_by("booking_id"))
    assert len(deliveries) == 260
    assert {(d.status, d.sobject, d.connection_id) for d in deliveries} == {
        (Delivery.Status.PENDING, "Lead", deliveries[0].connection_id)
    }
    # As after 258 submits with no worker running: one push queued for the connection
    # (a queued push sees every booking; the two submitted ones ask on commit too).
    assert sent == [(PUSH_TASK, (deliveries[0].connection_id,))]


def test_slices_of_a_burst_hand_out_each_index_once_and_add_up():
    from integrations.management.bench import load

    seen: list[int] = []
    lock = __import__("threading").Lock()

    def job(client, index):
        with lock:
            seen.append(index)
        __import__("time").sleep(0.01)  # 4 clients: ~20 jobs a slice
        return index % 3 != 2, f"u{index}" if index % 3 == 0 else None, "odd"

    total, firsts = load.Burst(), []
    for _ in range(4):
        firsts.append(len(seen))
        part = load.burst("http://127.0.0.1:9", job, clients=4, seconds=0.05, limit=50,
                          start=total.handed)  # fmt: skip
        total.add(part)
    assert firsts[1] > 0 and firsts[2] > firsts[1]  # the slices shared the work
    # The slots of a POST kind: none used twice (one taken as a window closed goes unused)
    assert len(seen) == len(set(seen)) and set(seen) <= set(range(50)) and len(seen) > 40
    assert total.exhausted and total.handed == 50
    assert sorted(total.uids) == sorted(f"u{i}" for i in seen if i % 3 == 0)
    assert len(total.latencies) + total.errors["odd"] <= len(seen)  # late answers: not counted
