"""Modes that go through gunicorn (production settings, --web-workers x --web-threads).

- intake: closed loop, --clients concurrent clients for --intake-seconds per request
  kind: the bare `GET /` (the redirect to the admin: the cheapest URL the project
  routes) as the baseline, a booking page GET (the same URL: from the cache after the
  first, as guests get an unchanged page), the page GET of URLs never asked before
  (rendered every time: what a page costs without the cache), the form POST (CSRF cookie and token
  from a page GET per client before the window; one free slot and one guest address per
  request; 302 expected) and the JSON API POST (Bearer key; 201 expected). Every kind is
  reported as a share of the bare GET rate of the same server in the same run; the
  kinds take turns in --intake-slice slices, so that a drift of the machine's speed
  during the run reaches every kind and its baseline alike. Then a worker drains the
  accepted bookings: each delivered once, none lost.
- steady: open loop through the public page at each --rate for --duration: request i
  is due at i / rate; latency is the Lead's CreatedDate in the emulator minus that due
  time; the achieved rate (accepted per second) is printed beside the target.
"""

from __future__ import annotations

import json
import math
import os

from integrations.management.bench import data, load
from integrations.management.bench.context import Context, drain_measure
from integrations.management.bench.figures import achieved_rate, open_loop_schedule, percentile
from integrations.management.bench.report import Row


def _self_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _web(ctx: Context) -> str:
    from integrations.management.bench import procs

    return procs.web_start(
        ctx.procs, ctx.env(), workers=ctx.opts["web_workers"], threads=ctx.opts["web_threads"]
    )


def intake(ctx: Context, out) -> list[Row]:
    opts = ctx.opts
    seconds, clients = opts["intake_seconds"], opts["clients"]
    ctx.begin()
    try:
        budget = opts["intake_max_bookings"]
        form_pages = data.tenant_setup(ctx.emulator, slug="form", pages=data.pages_needed(budget))
        api_pages = data.tenant_setup(ctx.emulator, slug="api", pages=data.pages_needed(budget))
        typical = data.typical_page_create(form_pages[0].tenant)
        keys = data.api_keys_create(api_pages[0].tenant, opts["api_keys"])
        form_slots = [(s.path, s.starts_at.isoformat()) for s in data.slots_for(form_pages, budget)]
        api_slots = [
            (f"/api/v1{s.path}bookings", s.starts_at.isoformat())
            for s in data.slots_for(api_pages, budget)
        ]
        typical_path = f"/{typical.tenant.slug}/{typical.slug}/"
        base = _web(ctx)

        def bare(client, i):
            answer = client.request("GET", "/", ip=load.client_ip(i))
            return answer.status == 302, None, str(answer.status)

        def page(client, i):
            answer = client.request("GET", typical_path, ip=load.client_ip(i))
            return answer.status == 200, None, str(answer.status)

        def page_rendered(client, i):  # a URL never asked before: never from the cache
            path = f"{typical_path}?utm_content=bench{i}"
            answer = client.request("GET", path, ip=load.client_ip(i))
            return answer.status == 200, None, str(answer.status)

        def form(client, i):
            path, slot = form_slots[i]
            answer = client.form_post(
                path + "?LeadSource=Web", load.form_fields(slot, i, "Form"),
                ip=load.client_ip(100_000 + i),
            )  # fmt: skip
            uid = load.accepted_uid(answer)
            return uid is not None, uid, str(answer.status)

        def api(client, i):
            path, slot = api_slots[i]
            headers = {"Authorization": f"Bearer {keys[i % len(keys)]}",
                       "Content-Type": "application/json"}  # fmt: skip
            body = load.api_body(slot, i, "Api")
            ip = load.client_ip(200_000 + i)
            answer = client.request("POST", path, ip=ip, body=body, headers=headers)
            uid = load.accepted_uid(answer)
            return uid is not None, uid, str(answer.status)

        def csrf(client, n):
            client.csrf_fetch(form_slots[0][0], ip=load.client_ip(300_000 + n))

        load.burst(base, bare, clients=clients, seconds=1.0)  # warm both web workers
        load.burst(base, page, clients=clients, seconds=1.0)
        runs = [("bare GET /", bare, None, None), ("page GET", page, None, None),
                ("page GET rendered", page_rendered, None, None),
                ("form POST", form, budget, csrf), ("API POST", api, budget, None)]  # fmt: skip
        # The kinds take turns, a slice each, until each had `seconds`: the machine's
        # speed drifts over a run (other tenants of the host), and every kind then
        # sees the same drift as the baseline it is divided by.
        slices = max(1, round(seconds / opts["intake_slice"]))
        bursts = {what: load.Burst() for what, *_ in runs}
        cpu = dict.fromkeys(bursts, 0.0)
        for _ in range(slices):
            for what, job, limit, prepare in runs:
                cpu0 = _self_cpu()
                part = load.burst(
                    base, job, clients=clients, seconds=seconds / slices, limit=limit,
                    prepare=prepare, start=bursts[what].handed,
                )  # fmt: skip
                cpu[what] += _self_cpu() - cpu0
                bursts[what].add(part)
        rows, uids = [], []
        baseline = len(bursts[runs[0][0]].latencies) / bursts[runs[0][0]].seconds
        for what, _, limit, _ in runs:
            result = bursts[what]
            uids += result.uids
            rate = len(result.latencies) / result.seconds
            note = f"client cpu {100 * cpu[what] / result.seconds:.0f}% of a core"
            if result.errors:
                note += f"; errors {json.dumps(result.errors)}"
            if result.exhausted:
                note += f"; RAN OUT of {limit} slots: rate understated, raise --intake-max-bookings"
            rows.append(Row(
                mode="intake", what=what, count=len(result.latencies), seconds=result.seconds,
                rate=rate, versus=f"{100 * rate / baseline:.0f}% of bare",
                p50=percentile(result.latencies, 0.5), p99=percentile(result.latencies, 0.99),
                max=max(result.latencies, default=math.nan),
                errors=sum(result.errors.values()), note=note,
                extra={"errors": result.errors, "accepted": len(result.uids), "slices": slices},
            ))  # fmt: skip
            out(rows[-1])
        workers = ctx.workers_start(1, consume=False)
        drain = drain_measure(ctx, workers, uids)
        rows.append(Row(
            mode="intake", what="delivery check", count=len(uids),
            seconds=drain.seconds or math.nan, rate=drain.rate,
            calls_per_booking=drain.calls_per_booking,
            cpu_ms_per_record=drain.cpu_ms_per_record,
            duplicates=len(drain.check.duplicates), lost=len(drain.check.lost),
            note="every booking accepted above (form + API), drained by one worker"
                 + ("" if drain.seconds else " NOT DRAINED"),
        ))  # fmt: skip
        out(rows[-1])
        return rows
    finally:
        ctx.end()


def steady(ctx: Context, out) -> list[Row]:
    rows = []
    for rate in ctx.opts["rates"]:
        rows.append(_steady_one(ctx, rate))
        out(rows[-1])
    return rows


def _steady_one(ctx: Context, rate: float) -> Row:
    duration = ctx.opts["duration"]
    due = open_loop_schedule(rate=rate, duration=duration)
    ctx.begin()
    try:
        pages = data.tenant_setup(ctx.emulator, slug="steady", pages=data.pages_needed(len(due)))
        slots = [(s.path, s.starts_at.isoformat()) for s in data.slots_for(pages, len(due))]
        workers = ctx.workers_start(1, consume=True)
        base = _web(ctx)
        # Enough clients that the schedule never waits for one while the server keeps
        # up: five seconds of requests in flight.
        clients = [load.Client(base) for _ in range(max(16, min(600, math.ceil(rate * 5))))]
        clients[0].csrf_fetch(slots[0][0], ip=load.client_ip(300_000))
        for client in clients[1:]:  # one guest's cookie and token serve every client
            client.csrf_cookie, client.csrf_token = clients[0].csrf_cookie, clients[0].csrf_token

        def form(client, i):
            path, slot = slots[i]
            answer = client.form_post(path + "?LeadSource=Web", load.form_fields(slot, i, "Std"),
                                      ip=load.client_ip(i))  # fmt: skip
            uid = load.accepted_uid(answer)
            return uid is not None, uid, str(answer.status)

        cpu0 = _self_cpu()
        plan = load.open_loop(due, form, clients)
        client_cpu = (_self_cpu() - cpu0) / duration
        accepted = [item for item in plan if item.uid]
        errors: dict[str, int] = {}
        for item in plan:
            if item.error:
                errors[item.error] = errors.get(item.error, 0) + 1
        uids = [item.uid for item in accepted]
        drained = ctx.drain_wait(len(uids), timeout=ctx.opts["drain_timeout"])
        created = ctx.created_times()
        check = ctx.writes(uids)
        latencies = [created[i.uid] - i.due_wall for i in accepted if i.uid in created]
        last = max((i.answered for i in accepted), default=None)
        achieved = achieved_rate(accepted=len(accepted), due_span=duration, last_answer=last)
        lags = [i.sent_lag for i in plan if not math.isnan(i.sent_lag)]
        note = (f"sent late p99 {percentile(lags, 0.99) * 1000:.0f}ms; "
                f"client cpu {100 * client_cpu:.0f}%")  # fmt: skip
        if errors:
            note += f"; errors {json.dumps(errors)}"
        if drained is None:
            note += " NOT DRAINED"
        calls = ctx.emulator.api_calls()
        return Row(
            mode="steady", what=f"{rate:g}/s", count=len(accepted),
            seconds=max(duration, last or 0.0), calls_per_booking=calls / max(1, len(accepted)),
            rate=achieved, versus=f"{100 * achieved / rate:.0f}% of target",
            p50=percentile(latencies, 0.5), p99=percentile(latencies, 0.99),
            max=max(latencies, default=math.nan), duplicates=len(check.duplicates),
            lost=len(check.lost), errors=sum(errors.values()), note=note,
            extra={"target": rate, "scheduled": len(due), "errors": errors,
                   "worker_pids": [w.proc.pid for w in workers]},
        )  # fmt: skip
    finally:
        ctx.end()
