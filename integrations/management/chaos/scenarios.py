"""The scenarios of issue 16, each on a rig of its own (rig.py): guests submit
--bookings through gunicorn while a fault strikes; then the runner waits until every
accepted booking's delivery is final and reads what reached the emulator.

Each returns a figures.Result; `checks` hold the scenario's own bar from the issue.
`redis-killed` and `postgres-restart` break a Redis / PostgreSQL of their own; the
command runs them in a child process whose settings point at those (throwaway.py).
"""

from __future__ import annotations

import os
import signal
import time

from django.utils import timezone

from integrations.delivery.outcomes import REQUEST_LIMIT_EXCEEDED
from integrations.delivery.push import API_USAGE_PAUSED
from integrations.management.bench import procs
from integrations.management.chaos import figures
from integrations.management.chaos.rig import ChaosContext, rig_for
from integrations.models import Delivery, DeliveryAttempt, SalesforceConnection

Status = Delivery.Status
SENDING = Status.SENDING


def worker_sigkill(ctx: ChaosContext, opts: dict) -> figures.Result:
    """A backlog accepted while no worker consumes; worker A drains it (the emulator
    slowed to 1 s a call, claims of 50 at most so the drain takes a while); once some
    are sent and some sending, with a third or more still unsent, A's whole process
    group is SIGKILLed and worker B consumes. Measured: seconds from the kill until
    every delivery A held `sending` was taken back (its lease lapsed, then the sweep or
    B's push took it)."""
    with rig_for(ctx, "worker-sigkill") as rig:
        batch = min(50, max(5, opts["bookings"] // 6))  # a drain of several claims
        rig.begin(bookings=opts["bookings"], env={"DELIVERY_BATCH_SIZE": str(batch)})
        a, b = rig.workers_start(2, consume=False)
        answered = rig.intake(rate=opts["rate"] * 2).wait()
        rig.faults(latency_ms=1000)
        procs.worker_consume([a])
        rest = len(answered) // 3  # kill with a third or more still to send, not at the end

        def under_way() -> bool:
            return (
                Delivery.objects.filter(status=Status.SENT).exists()
                and Delivery.objects.filter(status=SENDING).exists()
                and Delivery.objects.exclude(status=Status.SENT).count() >= rest
            )

        rig.wait(under_way, timeout=120, what="a drain under way")
        os.killpg(a.proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        a.proc.wait(timeout=10)
        held = list(Delivery.objects.filter(status=SENDING).values_list("pk", "claim_token"))
        procs.worker_consume([b])
        rig.faults(latency_ms=opts["latency_ms"])
        tokens = {token for _, token in held}

        def taken_back() -> bool:
            return not Delivery.objects.filter(
                pk__in=[pk for pk, _ in held], claim_token__in=tokens, status=SENDING
            ).exists()

        back = rig.wait(taken_back, timeout=opts["settle_timeout"], what="claims taken back")
        settle = rig.settle([a.uid for a in answered if a.uid], since=killed_at)
        limit = opts["claims_back_limit"]
        return rig.result(
            answered, settle=settle,
            notes=[f"killed holding {len(held)} claimed deliveries; claims back "
                   f"{back:.1f}s after the kill; settle counted from the kill"],
            checks={f"claims back ≤ {limit:g}s": back <= limit,
                    "killed mid-drain (held claims)": bool(held)},
            extra={"claims_back_seconds": back, "held_at_kill": len(held)},
        )  # fmt: skip


def redis_killed(ctx: ChaosContext, opts: dict, redis) -> figures.Result:
    """Guests submit (spread over the outage and 10 s more); 5 s in, Redis (cache and broker of
    web, workers and beat) is SIGKILLed for --outage-seconds, then started again empty.
    Every submission must be accepted, and the same two workers and beat deliver
    everything afterwards."""
    with rig_for(ctx, "redis-killed") as rig:
        rig.begin(bookings=opts["bookings"])
        workers = rig.workers_start(2)
        intake = rig.intake(rate=_outage_rate(opts))
        time.sleep(5)
        redis.kill()
        killed = time.monotonic()
        time.sleep(opts["outage_seconds"])
        redis.start()
        back, back_wall = time.monotonic(), timezone.now()
        answered = intake.wait()
        during = sum(1 for a in answered if killed <= a.at < back)
        slowest = max((a.seconds for a in answered if killed <= a.at < back + 5), default=0)
        settle = rig.settle([a.uid for a in answered if a.uid], since=intake.finished)
        alive = [w.proc.poll() is None for w in workers] + [rig.beat.poll() is None]
        after = Delivery.objects.filter(status=Status.SENT, sent_at__gt=back_wall).count()
        return rig.result(
            answered, settle=settle,
            notes=[f"Redis down {back - killed:.0f}s; {during} answers while it was down "
                   f"(slowest {slowest:.1f}s); {after} sent after it returned, by the same "
                   "2 workers"],
            checks={"no 5xx": not any(a.status.startswith("5") for a in answered),
                    "all accepted": len([a for a in answered if a.uid]) == len(answered),
                    "same workers and beat alive": all(alive),
                    "submitted while down": during > 0, "sent after it returned": after > 0},
            extra={"sent_after": after, "alive": alive},
        )  # fmt: skip


def postgres_restart(ctx: ChaosContext, opts: dict, postgres) -> figures.Result:
    """Guests submit while workers push (the emulator slowed to 300 ms a call so pushes
    are in flight); once a push holds claims, PostgreSQL is stopped (immediate: every
    connection drops) for --outage-seconds, then started again. Submissions meanwhile
    must get a 503, none a 500."""
    with rig_for(ctx, "postgres-restart") as rig:
        rig.begin(bookings=opts["bookings"])
        rig.workers_start(2)
        rig.faults(latency_ms=300)
        intake = rig.intake(rate=_outage_rate(opts))
        time.sleep(3)
        rig.wait(lambda: Delivery.objects.filter(status=SENDING).exists(), timeout=60,
                 what="a push in flight")  # fmt: skip
        postgres.stop()
        stopped = time.monotonic()
        time.sleep(opts["outage_seconds"])
        postgres.start()
        back = time.monotonic()
        answered = intake.wait()
        rig.faults(latency_ms=opts["latency_ms"])
        during = [a for a in answered if stopped <= a.at < back]
        refused = [a for a in answered if not a.uid]
        settle = rig.settle([a.uid for a in answered if a.uid], since=intake.finished)
        return rig.result(
            answered, settle=settle,
            notes=[f"PostgreSQL down {back - stopped:.0f}s; {len(during)} answers meanwhile: "
                   f"{figures.answers_count(a.status for a in during)}"],
            checks={"every refused submission got a 503": all(a.status == "503"
                                                              for a in refused),
                    "no 500": not any(a.status == "500" for a in answered),
                    "submitted while down": bool(during)},
        )  # fmt: skip


def storm_503(ctx: ChaosContext, opts: dict) -> figures.Result:
    """Every Salesforce call answers 503 SERVER_UNAVAILABLE for 20 s, from a fifth into
    the intake; deliveries retry on their schedule (30 s first)."""
    with rig_for(ctx, "503-storm") as rig:
        rig.begin(bookings=opts["bookings"])
        rig.workers_start(2)
        intake = rig.intake()
        intake.sleep_until(0.2)
        rig.faults(rate_503=1.0)
        time.sleep(20)
        rig.faults(rate_503=0.0)
        answered = intake.wait()
        retried = Delivery.objects.filter(retries__gt=0).count()
        settle = rig.settle([a.uid for a in answered if a.uid], since=intake.finished)
        return rig.result(
            answered, settle=settle,
            notes=[f"every call 503 for 20 s; {retried} deliveries retried"],
            checks={"the storm hit deliveries": retried > 0},
        )  # fmt: skip


def timeout_after_write(ctx: ChaosContext, opts: dict) -> figures.Result:
    """Three writes commit in the emulator and then answer too late (8 s, the workers'
    SALESFORCE_TIMEOUT is 5 s): the push must find them by booking id, not fail them,
    and spend at most 2 retry steps on any delivery."""
    with rig_for(ctx, "timeout-after-write") as rig:
        rig.begin(bookings=opts["bookings"], env={"SALESFORCE_TIMEOUT": "5"})
        rig.workers_start(2)
        rig.faults(timeout_after_write_seconds=8)
        intake = rig.intake()
        for share in (0.2, 0.4, 0.6):
            intake.sleep_until(share)
            rig.faults(fail_next=["timeout_after_write"])
        answered = intake.wait()
        settle = rig.settle([a.uid for a in answered if a.uid], since=intake.finished)
        state = rig.emulator.admin("GET", "state")["faults"]["fail_next"]
        result = rig.result(
            answered, settle=settle,
            notes=[f"3 writes answered after the client gave up; faults left queued: {state}"],
        )  # fmt: skip
        result.checks = {"none failed": result.failed == 0, "retries ≤ 2": result.max_retries <= 2,
                         "every fault was hit": not state}  # fmt: skip
        return result


def token_expiry(ctx: ChaosContext, opts: dict) -> figures.Result:
    """The org's clock jumps past every access token's lifetime twice during intake: the
    client refreshes (one refresh per connection at a time) and carries on."""
    with rig_for(ctx, "token-expiry") as rig:
        rig.begin(bookings=opts["bookings"])
        rig.workers_start(2)
        intake = rig.intake()
        for share in (0.3, 0.7):
            intake.sleep_until(share)
            rig.emulator.admin("POST", "clock", {"advance_seconds": 7300})
        answered = intake.wait()
        settle = rig.settle([a.uid for a in answered if a.uid], since=intake.finished)
        refreshes = rig.emulator.admin("GET", "state")["oauth_calls"]
        connection = SalesforceConnection.objects.get(pk=rig.connection_id)
        return rig.result(
            answered, settle=settle, notes=[f"oauth calls: {refreshes}"],
            checks={"still connected": connection.status == SalesforceConnection.Status.CONNECTED,
                    "never held": not DeliveryAttempt.objects.filter(outcome="held").exists()},
        )  # fmt: skip


def refresh_revoked(ctx: ChaosContext, opts: dict) -> figures.Result:
    """Every token is revoked a third into the intake: deliveries are held and the
    connection needs reconnecting; after the intake, staff reconnect (the OAuth flow)
    and the held deliveries go out by themselves."""
    with rig_for(ctx, "refresh-revoked") as rig:
        rig.begin(bookings=opts["bookings"])
        rig.workers_start(2)
        intake = rig.intake()
        intake.sleep_until(0.3)
        rig.emulator.admin("POST", "revoke-all")
        revoked = time.monotonic()
        answered = intake.wait()
        rig.wait(
            lambda: SalesforceConnection.objects.get(pk=rig.connection_id).status
            == SalesforceConnection.Status.NEEDS_RECONNECT,
            timeout=60, what="needs_reconnect",
        )  # fmt: skip
        # Bookings arriving meanwhile are held at once (not connected); none is left
        # pending or sending before staff reconnect.
        rig.wait(
            lambda: not Delivery.objects.exclude(status__in=[Status.SENT, Status.HELD]).exists(),
            timeout=60, what="every unsent delivery held",
        )  # fmt: skip
        held = Delivery.objects.filter(status=Status.HELD).count()
        reconnect_at = time.monotonic()
        rig.reconnect()
        settle = rig.settle([a.uid for a in answered if a.uid], since=reconnect_at)
        return rig.result(
            answered, settle=settle,
            notes=[f"{held} held when staff reconnected "
                   f"{reconnect_at - revoked:.0f}s after the revocation; settle counted "
                   "from the reconnect"],
            checks={"held before reconnect": held > 0},
            extra={"held": held},
        )  # fmt: skip


def api_limit_pause(ctx: ChaosContext, opts: dict) -> figures.Result:
    """A fifth into the intake the org's daily API limit is set 3 calls above its usage:
    pushes see REQUEST_LIMIT_EXCEEDED / usage over 80 % and pause the connection
    (DELIVERY_API_PAUSE_SECONDS=20 here; 900 by default). 15 s later the limit is
    raised (a new day); the paused deliveries go out when the pause ends."""
    with rig_for(ctx, "api-limit-pause") as rig:
        rig.begin(bookings=opts["bookings"], env={"DELIVERY_API_PAUSE_SECONDS": "20"})
        rig.workers_start(2)
        intake = rig.intake()
        intake.sleep_until(0.2)
        used = rig.emulator.admin("GET", "state")["api_usage"]["used"]
        rig.faults(daily_api_limit=used + 3)
        paused_codes = [REQUEST_LIMIT_EXCEEDED, API_USAGE_PAUSED]
        waited = rig.wait(
            lambda: Delivery.objects.filter(last_error_code__in=paused_codes).exists(),
            timeout=60, what="a pause",
        )  # fmt: skip
        paused, until = 0, time.monotonic() + 15
        while time.monotonic() < until:  # the most waiting at once
            paused = max(paused, Delivery.objects.filter(last_error_code__in=paused_codes).count())
            time.sleep(0.5)
        rig.faults(daily_api_limit=100_000_000)
        answered = intake.wait()
        settle = rig.settle([a.uid for a in answered if a.uid], since=intake.finished)
        return rig.result(
            answered, settle=settle,
            notes=[f"paused {waited:.1f}s after the limit was lowered; up to {paused} "
                   "deliveries waiting on the pause at once"],
            checks={"paused": paused > 0},
        )  # fmt: skip


def _outage_rate(opts: dict) -> float:
    """Submissions per second that spread --bookings over an outage and 10 s more."""
    return min(opts["rate"], opts["bookings"] / (opts["outage_seconds"] + 10))


#: name -> (function, what it breaks outside the emulator: "" | "redis" | "postgres")
SCENARIOS = {
    "worker-sigkill": (worker_sigkill, ""),
    "redis-killed": (redis_killed, "redis"),
    "postgres-restart": (postgres_restart, "postgres"),
    "503-storm": (storm_503, ""),
    "timeout-after-write": (timeout_after_write, ""),
    "token-expiry": (token_expiry, ""),
    "refresh-revoked": (refresh_revoked, ""),
    "api-limit-pause": (api_limit_pause, ""),
}
