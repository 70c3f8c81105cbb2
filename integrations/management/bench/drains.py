"""Backlog modes: bookings saved while no worker consumes, then drained.

- queued: N bookings (default 5,000 and 50,000: the second shows whether the drain is
  linear), one worker process.
- tenants: T tenants x M bookings, saved tenant after tenant; when does each tenant's
  first record land, and how does the total compare with one tenant's drain of the same
  number in the same run.
- scale: the same backlog drained by each number of worker processes in --workers.
"""

from __future__ import annotations

import math
import time

from integrations.management.bench import data
from integrations.management.bench.context import Context, Drain, drain_measure
from integrations.management.bench.figures import percentile
from integrations.management.bench.report import Row


def _backlog(ctx: Context, tenants: int, per_tenant: int, label: str) -> tuple[list, list[str]]:
    """Tenants and their bookings, saved tenant after tenant (their pushes wait in
    Redis in that order). Returns (uid lists per tenant, all uids)."""
    per: list[list[str]] = []
    for t in range(tenants):
        pages = data.tenant_setup(ctx.emulator, slug=f"t{t}", pages=data.pages_needed(per_tenant))
        slots = list(data.slots_for(pages, per_tenant))
        save = data.backlog_save if ctx.opts["backlog"] == "service" else data.backlog_copy
        per.append(save(slots, label=f"{label}{t}x"))
    return per, [uid for uids in per for uid in uids]


def _drain_run(ctx: Context, *, tenants: int, per_tenant: int, processes: int, label: str):
    ctx.begin()
    try:
        began = time.monotonic()
        per, uids = _backlog(ctx, tenants, per_tenant, label)
        saved = time.monotonic() - began
        workers = ctx.workers_start(processes, consume=False)
        drain = drain_measure(ctx, workers, uids)
        created = ctx.created_times() if tenants > 1 else {}
    finally:
        ctx.end()
    return drain, per, created, saved


def _row(mode: str, what: str, drain: Drain, *, versus: str = "", note: str = "") -> Row:
    return Row(
        mode=mode, what=what, count=drain.count, seconds=drain.seconds or math.nan,
        rate=drain.rate, versus=versus, calls_per_booking=drain.calls_per_booking,
        cpu_ms_per_record=drain.cpu_ms_per_record, duplicates=len(drain.check.duplicates),
        lost=len(drain.check.lost), note=note + ("" if drain.seconds else " NOT DRAINED"),
        extra={
            "worker_cpu_s": drain.worker_cpu, "emulator_cpu_s": drain.emulator_cpu,
            "api_calls": drain.api_calls, "delivered": drain.check.delivered,
            "duplicate_values": drain.check.duplicates[:20],
            "lost_values": drain.check.lost[:20],
            "machine_busy": drain.machine_busy, "services_cpu_s": drain.services_cpu,
        },
    )  # fmt: skip


def queued(ctx: Context, out) -> list[Row]:
    rows: list[Row] = []
    first: Drain | None = None
    for n in ctx.opts["queued_bookings"]:
        drain, _, _, saved = _drain_run(ctx, tenants=1, per_tenant=n, processes=1, label="Q")
        versus = ""
        if first is not None and first.seconds and drain.seconds:
            versus = f"{drain.seconds / first.seconds:.1f}x {first.count}'s s"
        first = first or drain
        rows.append(_row("queued", f"{n}", drain, versus=versus,
                         note=f"saved in {saved:.0f}s; {drain.machine_note()}"))  # fmt: skip
        out(rows[-1])
    return rows


def tenants(ctx: Context, out) -> list[Row]:
    count, per = ctx.opts["tenants"], ctx.opts["tenant_bookings"]
    many, per_tenant, created, _ = _drain_run(
        ctx, tenants=count, per_tenant=per, processes=1, label="T"
    )
    firsts = []
    for uids in per_tenant:
        times = [created[u.casefold()] for u in uids if u.casefold() in created]
        firsts.append(min(times) - many.started_wall if times else math.inf)
    one, _, _, _ = _drain_run(ctx, tenants=1, per_tenant=count * per, processes=1, label="S")
    ratio = many.seconds / one.seconds if many.seconds and one.seconds else math.nan
    rows = [
        _row("tenants", f"{count}x{per}", many, versus=f"{ratio:.2f}x single",
             note=f"first record per tenant: max {max(firsts):.2f}s, "
                  f"p50 {percentile(firsts, 0.5):.2f}s after drain start"),
        _row("tenants", f"1x{count * per}", one, note="the single-tenant drain compared with"),
    ]  # fmt: skip
    rows[0].extra["first_record_s"] = sorted(firsts)
    rows[0].p50, rows[0].max = percentile(firsts, 0.5), max(firsts)
    rows[0].p99 = percentile(firsts, 0.99)
    for row in rows:
        out(row)
    return rows


def scale(ctx: Context, out) -> list[Row]:
    n = ctx.opts["scale_bookings"]
    rows: list[Row] = []
    first: Drain | None = None
    for processes in ctx.opts["workers"]:
        drain, _, _, _ = _drain_run(
            ctx, tenants=1, per_tenant=n, processes=processes, label=f"W{processes}"
        )
        versus = ""
        if first is not None and first.seconds and drain.seconds:
            versus = f"{first.seconds / drain.seconds:.2f}x faster"
        first = first or drain
        what = f"{processes} procs x{ctx.opts['concurrency']}"
        rows.append(_row("scale", what, drain, versus=versus, note=drain.machine_note()))
        out(rows[-1])
    return rows
