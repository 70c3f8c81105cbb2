"""The bench's arithmetic, kept pure (no Django, no I/O) so tests/integrations/test_bench.py
checks it: percentiles, the open-loop schedule, duplicates and losses from the emulator's
write counts, and CPU times from /proc/<pid>/stat."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


def percentile(values: Iterable[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`; nan when empty.

    Nearest rank never invents a value between two samples: p99 of 100 samples is the
    99th smallest, so one slow request in a hundred shows."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def open_loop_schedule(*, rate: float, duration: float, start: float = 0.0) -> list[float]:
    """When each request of an open-loop run is due: request i at start + i / rate, for
    every i whose time falls inside [start, start + duration). A slow server does not
    push these back; latency is measured from them (no coordinated omission)."""
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be positive")
    count = math.ceil(rate * duration - 1e-9)
    return [start + index / rate for index in range(count)]


def achieved_rate(*, accepted: int, due_span: float, last_answer: float | None) -> float:
    """Accepted requests per second over the longer of the scheduled span and the time
    until the last answer came back: a server that falls behind cannot score the target
    by answering late."""
    span = max(due_span, last_answer or 0.0)
    return accepted / span if span > 0 else math.nan


@dataclass
class WriteCheck:
    """What the emulator's write counts say about a set of bookings sent once each."""

    expected: int
    delivered: int
    duplicates: list[str] = field(default_factory=list)  # written or created more than once
    lost: list[str] = field(default_factory=list)  # expected, never written
    unexpected: list[str] = field(default_factory=list)  # written, never expected


def writes_check(summary: Mapping, *, key: str, expected: Iterable[str]) -> WriteCheck:
    """Check `expected` external-id values against the emulator's `GET /__emulator__/writes`
    answer (`summary`), under `key` ("Lead.LeadSync_Booking_Id__c").

    A value with writes > 1 or creates > 1 is a duplicate (a double send shows even when
    the second upsert only updated the first record); an expected value never written is
    lost. The emulator case-folds values, so expected values are folded too."""
    counts = summary.get("by_value", {}).get(key, {})
    wanted = {str(value).casefold() for value in expected}
    duplicates = sorted(
        value
        for value, count in counts.items()
        if count.get("writes", 0) > 1 or count.get("creates", 0) > 1
    )
    written = {value for value, count in counts.items() if count.get("writes", 0) > 0}
    return WriteCheck(
        expected=len(wanted),
        delivered=len(wanted & written),
        duplicates=duplicates,
        lost=sorted(wanted - written),
        unexpected=sorted(written - wanted),
    )


def sf_time(value: str) -> float:
    """A Salesforce datetime ("2026-11-30T08:00:00.123+0000") as a Unix timestamp."""
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat the bench uses (CPU times in clock ticks)."""

    pid: int
    ppid: int
    utime: int
    stime: int
    cutime: int  # of children already reaped (a recycled pool process)
    cstime: int
    comm: str = ""  # the command name (postgres, redis-server, ...)

    @property
    def ticks(self) -> int:
        return self.utime + self.stime + self.cutime + self.cstime


def proc_stat_parse(line: str) -> ProcStat:
    """Parse one /proc/<pid>/stat line (proc(5)). The command name is in parentheses and
    may itself hold spaces or parentheses, so fields are counted from the last ')'."""
    head, _, tail = line.rpartition(")")
    pid, comm = head.split("(", 1)
    rest = tail.split()  # rest[0] is field 3 (state)
    return ProcStat(
        pid=int(pid),
        comm=comm,
        ppid=int(rest[1]),
        utime=int(rest[11]),
        stime=int(rest[12]),
        cutime=int(rest[13]),
        cstime=int(rest[14]),
    )


def tree_ticks(stats: Iterable[ProcStat], roots: Iterable[int]) -> int:
    """CPU ticks of the processes `roots` and all their descendants (a Celery worker and
    its prefork pool, gunicorn and its workers), reaped children included."""
    by_parent: dict[int, list[ProcStat]] = {}
    by_pid: dict[int, ProcStat] = {}
    for stat in stats:
        by_pid[stat.pid] = stat
        by_parent.setdefault(stat.ppid, []).append(stat)
    total, todo, seen = 0, list(roots), set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in by_pid:
            continue
        seen.add(pid)
        total += by_pid[pid].ticks
        todo.extend(child.pid for child in by_parent.get(pid, []))
    return total


def roots_named(stats: Iterable[ProcStat], comm: str) -> list[int]:
    """The pids of processes named `comm` whose parent is not: a server's main process
    (the postmaster, not its backends), whose tree holds the server's whole CPU."""
    stats = list(stats)
    names = {stat.pid: stat.comm for stat in stats}
    return [s.pid for s in stats if s.comm == comm and names.get(s.ppid) != comm]


def machine_ticks(line: str) -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs from the "cpu" line of /proc/stat (proc(5)):
    busy is all but idle and iowait."""
    name, *fields = line.split()
    if name != "cpu":
        raise ValueError(f"not the cpu line of /proc/stat: {line!r}")
    ticks = [int(field) for field in fields[:8]]  # user nice system idle iowait irq softirq steal
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


# -- people mode ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A guest of the people mode: one already in Salesforce (`existing`: "Lead" or
    "Contact"), or a new one ("")."""

    first_name: str
    last_name: str
    email: str
    existing: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def people_existing(count: int) -> list[Person]:
    """`count` people already in Salesforce, half Leads and half Contacts (Leads first
    when odd), with distinct names and emails no new guest uses."""
    people = []
    for index in range(count):
        kind = "Lead" if index % 2 == 0 else "Contact"
        people.append(
            Person("Known", f"{kind}{index}", f"{kind.lower()}{index}@known.example", kind)
        )
    return people


def people_mix(count: int, existing: list[Person], *, share: float, label: str) -> list[Person]:
    """The guests of `count` bookings: a `share` of them (rounded) are the `existing`
    people, each booking at most once, spread evenly (every batch of 200 holds about
    that share); the others are new guests with addresses of their own."""
    wanted = round(count * share)
    if not 0 <= share <= 1:
        raise ValueError("share is between 0 and 1")
    if wanted > len(existing):
        raise ValueError(f"{wanted} bookings by existing people, only {len(existing)} exist")
    known = iter(existing)
    guests = []
    for index in range(count):
        # Booking `index` is an existing person's when the running share steps up here.
        if math.floor((index + 1) * wanted / count) > math.floor(index * wanted / count):
            guests.append(next(known))
        else:
            guests.append(Person("Guest", f"{label}{index}", f"{label.lower()}{index}@new.example"))
    return guests


@dataclass
class PeopleCheck(WriteCheck):
    """What the records in Salesforce say about bookings pushed as people with Events:
    `delivered`/`lost` by the Event carrying each booking id, `duplicates` the booking
    ids on more than one Event, `duplicate_people` the emails on more than one person."""

    duplicate_people: list[str] = field(default_factory=list)


def people_check(
    expected: Iterable[str], events: Iterable[Mapping], people: Iterable[Mapping], *, key: str
) -> PeopleCheck:
    """Check `expected` booking ids against the org's Events (`key`: the Event field that
    carries the booking id) and its Leads and Contacts (`people`, by Email; case-folded,
    blank emails ignored). A booking without an Event is lost."""
    wanted = {str(value).casefold() for value in expected}
    per_booking: dict[str, int] = {}
    for event in events:
        value = str(event.get(key) or "").casefold()
        if value:
            per_booking[value] = per_booking.get(value, 0) + 1
    per_email: dict[str, int] = {}
    for person in people:
        email = str(person.get("Email") or "").strip().casefold()
        if email:
            per_email[email] = per_email.get(email, 0) + 1
    written = set(per_booking)
    return PeopleCheck(
        expected=len(wanted),
        delivered=len(wanted & written),
        duplicates=sorted(value for value, n in per_booking.items() if n > 1),
        lost=sorted(wanted - written),
        unexpected=sorted(written - wanted),
        duplicate_people=sorted(email for email, n in per_email.items() if n > 1),
    )
