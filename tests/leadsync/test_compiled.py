"""leadsync.compiled against PostgreSQL: a queryset compiled once answers as the ORM
does for every later value, and falls back to the ORM when a value cannot be substituted."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking
from leadsync.compiled import STAND_IN_ID, STAND_IN_TIME, CompiledQuery
from tests.factories import BookingFactory, BookingPageFactory

pytestmark = pytest.mark.django_db


class Counting:
    """A build function that counts how often the queryset is built."""

    def __init__(self, build):
        self.build, self.calls = build, 0

    def __call__(self, **values):
        self.calls += 1
        return self.build(**values)


def _bookings_of(*, page_id, after):
    return Booking.objects.filter(page_id=page_id, starts_at__gt=after)


def test_answers_as_the_orm_for_every_value_and_builds_once():
    now = timezone.now()
    pages = [BookingPageFactory(), BookingPageFactory()]
    for hours in (1, 5, 9):
        BookingFactory(page=pages[0], starts_at=now + dt.timedelta(hours=hours))
    BookingFactory(page=pages[1], starts_at=now + dt.timedelta(hours=2))
    build = Counting(
        lambda *, page_id, after: (
            _bookings_of(page_id=page_id, after=after)
            .order_by("starts_at")
            .values_list("pk", "starts_at")
        )
    )
    query = CompiledQuery(build, page_id=STAND_IN_ID, after=STAND_IN_TIME)
    for page in [*pages, BookingPageFactory()]:
        for hours in (0, 3, 6, 12):
            after = now + dt.timedelta(hours=hours)
            expected = list(
                _bookings_of(page_id=page.pk, after=after)
                .order_by("starts_at")
                .values_list("pk", "starts_at")
            )
            assert query.rows(page_id=page.pk, after=after) == expected
            assert query.exists(page_id=page.pk, after=after) is bool(expected)
    assert build.calls == 5  # the model, then per kind (rows, exists) two compiles


def test_one_statement_per_call(django_assert_num_queries):
    page = BookingPageFactory()
    BookingFactory(page=page)
    query = CompiledQuery(_bookings_of, page_id=STAND_IN_ID, after=STAND_IN_TIME)
    query.exists(page_id=page.pk, after=STAND_IN_TIME)  # compiled here
    with django_assert_num_queries(1):
        assert query.exists(page_id=page.pk, after=timezone.now() - dt.timedelta(days=30))


def test_a_shape_is_compiled_on_its_own():
    now = timezone.now()
    page = BookingPageFactory()
    for hours in range(1, 6):
        BookingFactory(page=page, starts_at=now + dt.timedelta(hours=hours))
    query = CompiledQuery(
        lambda *, shape, page_id, after: (
            _bookings_of(page_id=page_id, after=after)
            .order_by("starts_at")
            .values_list("pk")[:shape]
        ),
        page_id=STAND_IN_ID,
        after=STAND_IN_TIME,
    )
    assert len(query.rows(shape=2, page_id=page.pk, after=now)) == 2
    assert len(query.rows(shape=4, page_id=page.pk, after=now)) == 4
    assert len(query.rows(shape=2, page_id=page.pk, after=now)) == 2


def test_a_locking_read_inside_a_transaction():
    page = BookingPageFactory()
    booking = BookingFactory(page=page)
    query = CompiledQuery(
        lambda *, page_id: (
            Booking.objects.filter(page_id=page_id)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk")
        ),
        page_id=STAND_IN_ID,
    )
    with transaction.atomic():
        assert query.rows(page_id=page.pk) == [(booking.pk,)]


def test_a_value_the_orm_converts_is_not_substituted_but_still_answers():
    page = BookingPageFactory()
    BookingFactory(page=page, guest_name="Ada Lovelace")
    BookingFactory(page=page, guest_name="Grace Hopper")
    # __contains wraps the value in %...%: the stand-in never shows up as passed.
    query = CompiledQuery(
        lambda *, name: Booking.objects.filter(guest_name__contains=name).values_list("guest_name"),
        name="stand-in-name",
    )
    assert query.rows(name="Lovelace") == [("Ada Lovelace",)]
    assert query.rows(name="Hopper") == [("Grace Hopper",)]
    assert query._compiled[("rows", "default", None)] is None


def test_a_constant_equal_to_a_stand_in_stays_a_constant():
    from django.db.models import Q

    kept, other = BookingPageFactory(), BookingPageFactory()
    kept_booking, other_booking = BookingFactory(page=kept), BookingFactory(page=other)
    # The stand-in is, unusually, the id the query also holds as a constant: only the
    # position that follows the value is substituted.
    query = CompiledQuery(
        lambda *, page_id: (
            Booking.objects.filter(Q(page_id=page_id) | Q(page_id=kept.pk))
            .order_by("pk")
            .values_list("pk")
        ),
        page_id=kept.pk,
    )
    assert query.rows(page_id=other.pk) == [(kept_booking.pk,), (other_booking.pk,)]
    assert query._compiled[("rows", "default", None)] is not None


def test_a_value_of_another_type_goes_through_the_orm():
    page = BookingPageFactory()
    booking = BookingFactory(page=page)
    query = CompiledQuery(
        lambda *, page_id: Booking.objects.filter(page_id=page_id).values_list("pk"),
        page_id=STAND_IN_ID,
    )
    assert query.rows(page_id=page.pk) == [(booking.pk,)]
    assert query.rows(page_id=str(page.pk)) == [(booking.pk,)]  # the ORM makes it an int


def test_values_must_be_exactly_the_stand_ins():
    query = CompiledQuery(_bookings_of, page_id=STAND_IN_ID, after=STAND_IN_TIME)
    with pytest.raises(TypeError):
        query.exists(page_id=1)
    with pytest.raises(TypeError):
        query.exists(page_id=1, after=timezone.now(), other=2)


# -- objects(): model instances ---------------------------------------------------------------


def _claimed(*, connection_id, token):
    from integrations.models import Delivery

    return (
        Delivery.objects.filter(connection_id=connection_id, claim_token=token)
        .select_related("booking__page__tenant", "target", "post", "change")
        .prefetch_related("target__write_back_fields")
        .order_by("pk")
    )


def _snapshot(delivery) -> tuple:
    """What a push reads of a delivery: its fields and the related rows it walks."""
    fields = {f.attname: getattr(delivery, f.attname) for f in delivery._meta.concrete_fields}
    booking = delivery.booking
    related = (
        {f.attname: getattr(booking, f.attname) for f in booking._meta.concrete_fields},
        booking.page.slug, booking.page.tenant.slug, delivery.target.sobject,
        delivery.post_id and delivery.post.pk, delivery.change_id and delivery.change.pk,
        sorted(w.sf_field for w in delivery.target.write_back_fields.all()),
    )  # fmt: skip
    return fields, related


def test_objects_are_the_querysets_instances_with_their_related_rows(
    django_assert_num_queries,
):
    import uuid

    from integrations.models import WriteBackField
    from leadsync.compiled import STAND_IN_UUID
    from tests.factories import DeliveryFactory

    tokens = [uuid.uuid4(), uuid.uuid4()]
    first = DeliveryFactory(claim_token=tokens[0])
    WriteBackField.objects.create(target=first.target, change="cancelled",
                                  applies_to="event", sf_field="Subject", value="x")  # fmt: skip
    others = [DeliveryFactory(claim_token=tokens[0], booking__page=first.booking.page,
                              target=first.target, connection=first.connection,
                              post=first)
              for _ in range(3)]  # fmt: skip
    DeliveryFactory(claim_token=tokens[1], connection=first.connection)
    build = Counting(_claimed)
    query = CompiledQuery(build, connection_id=STAND_IN_ID, token=STAND_IN_UUID)
    for token in [*tokens, uuid.uuid4()]:
        for connection_id in (first.connection_id, first.connection_id + 1000):
            expected = list(_claimed(connection_id=connection_id, token=token))
            got = query.objects(connection_id=connection_id, token=token)
            assert [type(d) for d in got] == [type(d) for d in expected]
            with django_assert_num_queries(0):  # the related rows came with them
                assert [_snapshot(d) for d in got] == [_snapshot(d) for d in expected]
    assert len(query.objects(connection_id=first.connection_id, token=tokens[0])) == 4
    assert others[0].post_id == first.pk
    assert build.calls == 3  # the model, then two compiles
    # One statement for the rows, one for the prefetch lookup: as many as the ORM's.
    with django_assert_num_queries(2):
        query.objects(connection_id=first.connection_id, token=tokens[0])
    with django_assert_num_queries(2):
        list(_claimed(connection_id=first.connection_id, token=tokens[0]))


def test_a_values_queryset_is_not_compiled_for_objects_and_still_answers():
    page = BookingPageFactory()
    BookingFactory(page=page)
    build = Counting(lambda *, page_id: Booking.objects.filter(page_id=page_id).values("pk"))
    query = CompiledQuery(build, page_id=STAND_IN_ID)
    assert query.objects(page_id=page.pk) == list(Booking.objects.values("pk"))
    assert query.objects(page_id=page.pk) == list(Booking.objects.values("pk"))
    assert build.calls == 4  # the model, the look at it, then evaluated each time
