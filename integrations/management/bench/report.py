"""One row per measured run, the table they print as, and results.json."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Row:
    mode: str
    what: str  # the run within the mode: "bare GET /", "20/s", "5000", "4 procs", ...
    count: int  # requests answered in the window, or bookings drained
    seconds: float
    rate: float  # per second: requests (intake), accepted bookings (steady), records (drains)
    versus: str = ""  # the figure the target is stated in: "% of bare", "achieved/target", ...
    p50: float | None = None  # seconds
    p99: float | None = None
    max: float | None = None
    calls_per_booking: float | None = None
    cpu_ms_per_record: float | None = None
    duplicates: int | None = None
    lost: int | None = None
    errors: int | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)  # everything else, for results.json


COLUMNS = [
    ("mode", 8), ("run", 16), ("n", 7), ("s", 7), ("per s", 8), ("vs", 16), ("p50", 8),
    ("p99", 8), ("max", 8), ("calls/bkg", 9), ("cpu ms/rec", 10), ("dupes", 5), ("lost", 5),
    ("errors", 6),
]  # fmt: skip


def _duration(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def _number(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format(value, spec)


def header() -> str:
    return " ".join(f"{name:>{width}}" if i > 1 else f"{name:<{width}}"
                    for i, (name, width) in enumerate(COLUMNS))  # fmt: skip


def line(row: Row) -> str:
    cells = _cells(row)
    text = " ".join(
        f"{cell:>{width}}" if i > 1 else f"{cell:<{width}}"
        for i, (cell, (_, width)) in enumerate(zip(cells, COLUMNS, strict=True))
    )
    return text + (f"  {row.note}" if row.note else "")


def markdown(rows: list[Row]) -> str:
    """The table for README.md."""
    names = [name for name, _ in COLUMNS] + ["note"]
    out = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in rows:
        out.append("| " + " | ".join([*_cells(row), row.note]) + " |")
    return "\n".join(out)


def _cells(row: Row) -> list[str]:
    return [
        row.mode, row.what, str(row.count), f"{row.seconds:.1f}", _number(row.rate, ".1f"),
        row.versus or "—", _duration(row.p50), _duration(row.p99), _duration(row.max),
        _number(row.calls_per_booking, ".4f"), _number(row.cpu_ms_per_record, ".2f"),
        _number(row.duplicates, "d"), _number(row.lost, "d"), _number(row.errors, "d"),
    ]  # fmt: skip


def results_write(path: Path, rows: list[Row], context: dict) -> None:
    path.write_text(json.dumps({"context": context, "runs": [asdict(r) for r in rows]}, indent=2))
