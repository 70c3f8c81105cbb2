"""The chaos runner's arithmetic and its table, kept pure (no Django, no I/O) so
tests/integrations/test_chaos_figures.py checks it: what the answers to the submissions
were, what a scenario's figures say against issue 16's bar, and the table they print as."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

#: Delivery statuses that end a delivery's story (anything else after settling is left
#: non-final: pending, sending, retrying, held).
FINAL = ("sent", "failed", "dismissed")


def answers_count(statuses: Iterable[int | str]) -> dict[str, int]:
    """How many submissions got each answer ("302", "201", "503", "ConnectionError"),
    most common first."""
    counts = Counter(str(status) for status in statuses)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def non_final(statuses: Iterable[str]) -> int:
    """How many of `statuses` are not final (see FINAL)."""
    return sum(1 for status in statuses if status not in FINAL)


@dataclass
class Result:
    """One scenario's run, as measured."""

    scenario: str
    attempted: int
    accepted: int  # 302 (page) or 201 (API), with the booking's uid
    answers: dict[str, int]  # every answer and how often
    in_salesforce: int  # records of the object in the emulator (blank org: all ours)
    duplicates: int  # booking ids written more than once (even to the same record)
    lost: int  # accepted booking ids never written in the emulator
    non_final: int  # deliveries of accepted bookings neither sent nor failed/dismissed
    failed: int  # deliveries that ended failed
    settle_seconds: float | None  # from the last answer until every delivery was final
    max_retries: int = 0  # retry steps spent by the delivery that spent most
    duplicate_records: int = 0  # booking ids with more than one record created
    notes: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)  # scenario bars: name -> held?
    extra: dict = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(n for answer, n in self.answers.items() if answer.startswith("5") and
                   answer != "503")  # fmt: skip

    @property
    def ok(self) -> bool:
        """Issue 16's bar for every scenario, and this scenario's own."""
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.duplicate_records == 0
            and self.non_final == 0
            and self.settle_seconds is not None
            and self.server_errors == 0
            and all(self.checks.values())
        )

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


COLUMNS = [
    ("scenario", 22), ("attempted", 9), ("accepted", 8), ("other answers", 16),
    ("in SF", 6), ("dupes", 5), ("dup records", 11), ("lost", 4), ("non-final", 9), ("failed", 6),
    ("max retries", 11), ("settle", 7), ("ok", 3),
]  # fmt: skip


def _other_answers(result: Result) -> str:
    others = {a: n for a, n in result.answers.items() if a not in ("201", "302")}
    return ", ".join(f"{a} x{n}" for a, n in others.items()) or "—"


def _cells(result: Result) -> list[str]:
    settle = result.settle_seconds
    return [
        result.scenario, str(result.attempted), str(result.accepted), _other_answers(result),
        str(result.in_salesforce), str(result.duplicates), str(result.duplicate_records),
        str(result.lost),
        str(result.non_final), str(result.failed), str(result.max_retries),
        "NEVER" if settle is None or math.isnan(settle) else f"{settle:.1f}s",
        "yes" if result.ok else "NO",
    ]  # fmt: skip


def header() -> str:
    return " ".join(f"{name:<{w}}" if i == 0 else f"{name:>{w}}"
                    for i, (name, w) in enumerate(COLUMNS))  # fmt: skip


def line(result: Result) -> str:
    cells = _cells(result)
    pairs = enumerate(zip(cells, COLUMNS, strict=True))
    return " ".join(f"{cell:<{w}}" if i == 0 else f"{cell:>{w}}" for i, (cell, (_, w)) in pairs)


def notes_text(result: Result) -> str:
    """The scenario's own measurements and checks, one line."""
    checks = [f"{name}: {'yes' if held else 'NO'}" for name, held in result.checks.items()]
    return f"{result.scenario}: " + "; ".join([*result.notes, *checks])


def markdown(results: list[Result]) -> str:
    """The table for README.md, then the notes under it."""
    names = [name for name, _ in COLUMNS]
    out = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    out += ["| " + " | ".join(_cells(result)) + " |" for result in results]
    out.append("")
    out += [f"- {notes_text(result)}" for result in results]
    return "\n".join(out)
