"""Two guests submit the same slot at the same moment, on real PostgreSQL."""

import threading
import time

import pytest
from django.db import connection, connections

from bookings import services
from bookings.models import Booking
from bookings.selectors import page_free_slots
from bookings.services import Guest, SlotTaken, booking_submit
from tests.factories import BookingPageFactory, MembershipFactory, TenantFactory


def another_writer_waits(deadline: float = 10.0) -> bool:
    """Wait (at most `deadline` s) until some transaction waits for a lock in PostgreSQL:
    the other thread's write has reached this one's uncommitted row."""
    until = time.monotonic() + deadline
    with connection.cursor() as cursor:
        while time.monotonic() < until:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted)")
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
    return False


def submit_concurrently(page, slot, *, count: int) -> list:
    """Run `count` submits for `slot` in parallel threads; returns each outcome."""
    outcomes: list = [None] * count
    start = threading.Barrier(count, timeout=10)

    def run(n: int) -> None:
        try:
            start.wait()
            outcomes[n] = booking_submit(
                page=page,
                slot=slot,
                guest=Guest(name=f"Guest {n}", email=f"guest{n}@example.com"),
                answers={},
                url_params={},
            )
        except Exception as e:  # collected, asserted on below
            outcomes[n] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.fixture
def shared_page(transactional_db):
    if connection.vendor != "postgresql":
        pytest.fail("Concurrency tests need PostgreSQL: run the suite with `make test`.")
    return BookingPageFactory(tenant=TenantFactory())


def test_concurrent_submits_for_one_slot_book_it_once(shared_page):
    page = shared_page
    slot = page_free_slots(page)[0]
    outcomes = submit_concurrently(page, slot, count=4)
    booked = [o for o in outcomes if isinstance(o, Booking)]
    assert len(booked) == 1, outcomes
    assert all(isinstance(o, SlotTaken) for o in outcomes if o not in booked), outcomes
    assert Booking.objects.filter(page=page, starts_at=slot).count() == 1


def test_concurrent_submits_past_the_check_are_stopped_by_the_unique_index(
    shared_page, monkeypatch
):
    """Without the per-host lock (a writer that skips it) and with the check under it
    fooled, two writers of one slot are both inside their transactions at once: the
    partial unique index makes the second insert wait for the first commit and refuses it,
    and the loser still gets SlotTaken."""
    page = shared_page
    slot = page_free_slots(page)[0]
    real_status = services.page_slot_status

    def fooled(*args, **kwargs):  # the check under the lock says free; the re-check is real
        return "free" if kwargs.get("exclude") is not None else real_status(*args, **kwargs)

    # In place of the lock: keep the transaction open until the other writer's insert
    # waits on this one's uncommitted row.
    def no_lock(page):  # the page's state as the lock's statement returns it, no lock
        another_writer_waits()
        return page.host_id, page.active

    monkeypatch.setattr(services, "_availability_lock", no_lock)
    monkeypatch.setattr(services, "page_slot_status", fooled)
    outcomes = submit_concurrently(page, slot, count=2)
    assert sorted(type(o).__name__ for o in outcomes) == ["Booking", "SlotTaken"], outcomes
    assert Booking.objects.filter(page=page, starts_at=slot).count() == 1


def test_concurrent_submits_on_two_pages_of_one_host_book_one_meeting(transactional_db):
    """The unique index knows one page's slots only: the per-host lock keeps the host from
    being booked twice at once through two pages."""
    if connection.vendor != "postgresql":
        pytest.fail("Concurrency tests need PostgreSQL: run the suite with `make test`.")
    tenant = TenantFactory()
    host = MembershipFactory(tenant=tenant).user
    pages = [BookingPageFactory(tenant=tenant, host=host) for _ in range(2)]
    slot = page_free_slots(pages[0])[0]
    assert slot in page_free_slots(pages[1])
    outcomes = submit_on_pages(pages, slot)
    booked = [o for o in outcomes if isinstance(o, Booking)]
    assert len(booked) == 1, outcomes
    assert [type(o) for o in outcomes if o not in booked] == [SlotTaken], outcomes
    assert Booking.objects.filter(page__host=host, starts_at=slot).count() == 1


def submit_on_pages(pages, slot) -> list:
    """One submit of `slot` per page, in parallel threads that start together."""
    outcomes: list = [None] * len(pages)
    start = threading.Barrier(len(pages), timeout=10)

    def run(n: int) -> None:
        try:
            start.wait()
            outcomes[n] = booking_submit(
                page=pages[n],
                slot=slot,
                guest=Guest(name=f"Guest {n}", email=f"guest{n}@example.com"),
                answers={},
                url_params={},
            )
        except Exception as e:  # collected, asserted on below
            outcomes[n] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(pages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_a_new_booking_and_a_move_to_the_same_slot_never_deadlock(shared_page, monkeypatch):
    """A guest books slot X while another guest's meeting is moved to X. Both writers take
    the host's lock after their rows: whichever way they interleave, one wins and the other
    hears the slot is taken (before, a submit holding X's index entry waited for the lock
    a move held while it waited for that entry: PostgreSQL killed one with a deadlock)."""
    page = shared_page
    free = page_free_slots(page)
    moving = booking_submit(
        page=page, slot=free[1], guest=Guest(name="Mover", email="mover@example.com"),
        answers={}, url_params={},
    )  # fmt: skip
    target = free[0]
    real_lock = services._availability_lock
    inserted = threading.Event()

    def slow_lock(page):  # the submit holds its new row until the move waits on it
        if threading.current_thread().name == "submit":
            inserted.set()
            another_writer_waits()
        return real_lock(page)

    monkeypatch.setattr(services, "_availability_lock", slow_lock)
    outcomes = {}

    def submit():
        try:
            outcomes["submit"] = booking_submit(
                page=page, slot=target, guest=Guest(name="New", email="new@example.com"),
                answers={}, url_params={},
            )  # fmt: skip
        except Exception as e:  # collected, asserted on below
            outcomes["submit"] = e
        finally:
            connections.close_all()

    def move():
        inserted.wait(timeout=10)
        try:
            outcomes["move"] = services.booking_reschedule(booking=moving, slot=target)
        except Exception as e:  # collected, asserted on below
            outcomes["move"] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, name="submit"), threading.Thread(target=move)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    kinds = sorted(type(o).__name__ for o in outcomes.values())
    assert kinds == ["Booking", "SlotTaken"], outcomes
    assert Booking.objects.filter(page=page, starts_at=target, cancelled_at=None).count() == 1
