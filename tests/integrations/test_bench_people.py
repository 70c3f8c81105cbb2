"""The people mode's pure helpers (integrations/management/bench/figures.py): the guest
mix and the check of Events and people after the drain. Fast, no processes."""

import pytest

from integrations.management.bench import figures

KEY = "LeadSync_Booking_Id__c"


def test_existing_people_are_half_leads_half_contacts_with_distinct_names_and_emails():
    people = figures.people_existing(5)
    assert [p.existing for p in people] == ["Lead", "Contact", "Lead", "Contact", "Lead"]
    assert len({p.email for p in people}) == len({p.name for p in people}) == 5


def test_the_mix_books_each_existing_person_once_spread_over_the_batches():
    existing = figures.people_existing(2000)
    guests = figures.people_mix(5000, existing, share=0.4, label="P")
    assert len(guests) == 5000
    known = [g for g in guests if g.existing]
    assert len(known) == 2000
    assert len({g.email for g in known}) == 2000  # nobody books twice: a duplicate is one
    assert len({g.email for g in guests}) == 5000
    for start in range(0, 5000, 200):  # every claim of 200 holds the share
        assert sum(1 for g in guests[start : start + 200] if g.existing) == 80
    assert not any(g.email.endswith("@known.example") for g in guests if not g.existing)


def test_the_mix_refuses_more_existing_bookings_than_people():
    with pytest.raises(ValueError):
        figures.people_mix(10, figures.people_existing(3), share=0.4, label="P")
    with pytest.raises(ValueError):
        figures.people_mix(10, figures.people_existing(3), share=1.5, label="P")
    assert all(not g.existing for g in figures.people_mix(4, [], share=0, label="P"))


def test_people_check_finds_lost_bookings_duplicate_events_and_duplicate_people():
    events = [{KEY: "B1"}, {KEY: "b1"}, {KEY: "b2"}, {KEY: "stranger"}, {KEY: None}, {}]
    people = [
        {"Email": "Ann@x.example"},
        {"Email": "ann@x.example "},  # the same person twice (a Lead and a Contact, say)
        {"Email": "bo@x.example"},
        {"Email": ""},
        {"Email": None},
    ]
    check = figures.people_check(["b1", "B2", "b3"], events, people, key=KEY)
    assert (check.expected, check.delivered) == (3, 2)
    assert check.lost == ["b3"]
    assert check.duplicates == ["b1"]
    assert check.unexpected == ["stranger"]
    assert check.duplicate_people == ["ann@x.example"]


def test_people_check_of_an_empty_org_loses_everything_and_duplicates_nothing():
    check = figures.people_check(["a", "b"], [], [], key=KEY)
    assert (check.delivered, check.lost, check.duplicates, check.duplicate_people) == (
        0,
        ["a", "b"],
        [],
        [],
    )


def test_baseline_environments_are_runs_separated_by_semicolons():
    from integrations.management.bench.people import env_sets

    assert env_sets("DELIVERY_BATCHING=false;DELIVERY_BATCHING=false, DELIVERY_BATCH_SIZE=1") == [
        {"DELIVERY_BATCHING": "false"},
        {"DELIVERY_BATCHING": "false", "DELIVERY_BATCH_SIZE": "1"},
    ]
    assert env_sets("") == []
    with pytest.raises(ValueError):
        env_sets("DELIVERY_BATCHING")
