"""leadsync.inserts against PostgreSQL: the rows, keys and signals are those the ORM's
`save()` / `bulk_create()` give, in one statement."""

import datetime as dt
from unittest import mock

import pytest
from django.db.models import signals
from django.db.models.functions import Now
from django.utils import timezone

from bookings.models import Booking, BookingChange
from integrations.models import Delivery
from leadsync.inserts import insert, insert_many
from tests.factories import BookingFactory, BookingPageFactory, DeliveryFactory, SyncTargetFactory

pytestmark = pytest.mark.django_db

SKIP = {"id", "uid", "created_at", "updated_at"}  # their own keys and clocks


def _booking(page, hour: int) -> Booking:
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=3, hours=hour)
    return Booking(
        page=page,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=30),
        guest_name="Åsa Öberg",
        guest_email="asa@example.com",
        answers={"company": "ACME", "seats": 3, "tags": ["a", "b"]},
        url_params={"utm_source": "ads"},
    )


def _row(model, pk) -> dict:
    row = model.objects.filter(pk=pk).values().get()
    return {k: v for k, v in row.items() if k not in SKIP}


def test_insert_writes_the_row_save_writes_in_one_statement(django_assert_num_queries):
    page = BookingPageFactory()
    saved = _booking(page, 1)
    saved.save(force_insert=True)
    inserted = _booking(page, 1)
    inserted.starts_at += dt.timedelta(hours=1)
    inserted.ends_at += dt.timedelta(hours=1)
    with django_assert_num_queries(1):
        assert insert(inserted) is inserted

    assert inserted.pk is not None and inserted.pk != saved.pk
    assert not inserted._state.adding and inserted._state.db == "default"
    expected = _row(Booking, saved.pk)
    expected["starts_at"] += dt.timedelta(hours=1)
    expected["ends_at"] += dt.timedelta(hours=1)
    assert _row(Booking, inserted.pk) == expected
    stored = Booking.objects.get(pk=inserted.pk)
    assert stored.uid == inserted.uid  # the field's default, made once, as save() does
    assert stored.created_at == inserted.created_at  # auto_now_add, set on the instance
    assert stored.created_at is not None


def test_insert_sends_the_signals_save_sends():
    page = BookingPageFactory()
    pre, post = mock.Mock(), mock.Mock()
    signals.pre_save.connect(pre, sender=Booking)
    signals.post_save.connect(post, sender=Booking)
    try:
        booking = insert(_booking(page, 2))
    finally:
        signals.pre_save.disconnect(pre, sender=Booking)
        signals.post_save.disconnect(post, sender=Booking)
    pre.assert_called_once()
    assert pre.call_args.kwargs["instance"] is booking
    assert pre.call_args.kwargs["raw"] is False
    post.assert_called_once()
    assert post.call_args.kwargs["instance"] is booking
    assert post.call_args.kwargs["created"] is True
    assert post.call_args.kwargs["update_fields"] is None


def test_insert_writes_what_a_pre_save_receiver_changed():
    def rename(sender, instance, **kwargs):
        instance.guest_name = "Renamed by a receiver"

    signals.pre_save.connect(rename, sender=Booking)
    try:
        booking = insert(_booking(BookingPageFactory(), 7))
    finally:
        signals.pre_save.disconnect(rename, sender=Booking)
    assert Booking.objects.get(pk=booking.pk).guest_name == "Renamed by a receiver"


def test_insert_of_a_foreign_key_and_null_fields():
    booking = insert(_booking(BookingPageFactory(), 3))
    change = insert(
        BookingChange(
            booking=booking,
            kind=BookingChange.Kind.BOOKED,
            actor=BookingChange.Actor.GUEST,
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            sequence=0,
        )
    )
    stored = BookingChange.objects.get(pk=change.pk)
    assert stored.booking_id == booking.pk
    assert stored.user_id is None and stored.previous_starts_at is None
    assert stored.reason == "" and stored.created_at == change.created_at


def test_insert_refuses_an_unsaved_related_object_as_save_does():
    from bookings.models import BookingPage

    booking = _booking(BookingPageFactory(), 6)
    booking.page = BookingPage(tenant=booking.page.tenant, slug="unsaved", title="Unsaved")
    with pytest.raises(ValueError, match="unsaved related object 'page'"):
        insert(booking)
    with pytest.raises(ValueError, match="unsaved related object 'page'"):
        insert_many([booking])


def test_insert_leaves_an_expression_to_the_orm():
    booking = _booking(BookingPageFactory(), 4)
    booking.starts_at = Now()  # the database's clock: only the ORM's compiler resolves it
    booking.ends_at = timezone.now() + dt.timedelta(days=1)
    insert(booking)
    stored = Booking.objects.get(pk=booking.pk)
    assert abs(stored.starts_at - timezone.now()) < dt.timedelta(minutes=1)


def test_insert_refuses_a_duplicate_as_save_does():
    from django.db import IntegrityError, transaction

    page = BookingPageFactory()
    insert(_booking(page, 5))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(_booking(page, 5))  # the partial unique index: one active booking a slot
    assert Booking.objects.filter(page=page).count() == 1


def test_insert_many_writes_the_rows_bulk_create_writes(django_assert_num_queries):
    template = DeliveryFactory()
    page, target = template.booking.page, template.target
    second = SyncTargetFactory(page=page, sobject="Contact")
    now = timezone.now()

    def deliveries(booking):
        return [
            Delivery(
                booking=booking,
                target=t,
                connection_id=template.connection_id,
                sobject=t.sobject,
                next_attempt_at=now,
            )
            for t in (target, second)
        ]

    via_orm = Delivery.objects.bulk_create(deliveries(BookingFactory(page=page)))
    unsaved = deliveries(BookingFactory(page=page))
    with django_assert_num_queries(1):
        ours = insert_many(unsaved)
    assert [d.target_id for d in ours] == [target.pk, second.pk]
    assert all(d.pk and not d._state.adding for d in ours)
    assert ours[0].pk < ours[1].pk  # in the order given
    for mine, theirs in zip(ours, via_orm, strict=True):
        assert _row(Delivery, mine.pk) | {"booking_id": 0} == _row(Delivery, theirs.pk) | {
            "booking_id": 0
        }


def test_insert_many_of_nothing_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert insert_many([]) == []


def test_insert_select_writes_per_row_what_insert_writes_with_the_rows_values():
    from django.db import connection

    from leadsync.inserts import insert_select

    template = DeliveryFactory()
    page, target = template.booking.page, template.target
    second = SyncTargetFactory(page=page, sobject="Contact")
    now = timezone.now()
    one = insert(Delivery(booking=BookingFactory(page=page), target=target,
                          connection_id=template.connection_id, sobject="Lead",
                          next_attempt_at=now))  # fmt: skip

    booking = BookingFactory(page=page)
    sql, params = insert_select(
        Delivery(booking=booking, connection_id=template.connection_id, next_attempt_at=now),
        select={"target_id": "t.id", "sobject": "t.sobject"},
        source="integrations_synctarget t WHERE t.page_id = %s ORDER BY t.id",
        returning="id, target_id",
    )
    assert params.count(None) > 3  # NULLs too: each cast to its column's type
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, page.pk])
        made = cursor.fetchall()
    assert [t for _, t in made] == [target.pk, second.pk]
    first, other = (_row(Delivery, pk) for pk, _ in made)
    assert first == _row(Delivery, one.pk) | {"booking_id": booking.pk}  # as insert() wrote
    assert other == first | {"target_id": second.pk, "sobject": "Contact"}


def test_insert_select_leaves_an_expression_to_the_caller():
    from leadsync.inserts import insert_select

    template = Delivery(booking=BookingFactory(), next_attempt_at=Now())
    assert insert_select(template, select={}, source="x", returning="id") is None
