"""Intake on real processes while its services fail: gunicorn serving the public page and
the booking API, with Redis (cache and broker) killed mid-intake, or PostgreSQL stopped.

- Redis down: every submission is still accepted and saved with its outbox row (0 HTTP 5xx).
- PostgreSQL down: every submission gets a 503 with Retry-After (a plain page, or JSON),
  none a 500, nothing is saved; once it is back, the next submission is accepted.
"""

import datetime
import json
import os
import subprocess
import sys
import time

import psycopg
import pytest
import requests

from bookings.models import Booking
from bookings.selectors import page_free_slots
from integrations.models import Delivery
from tests.bookings.test_api import SECRET
from tests.conftest import REPO, database_url_for_subprocess, wait_until
from tests.factories import ApiKeyFactory, SalesforceConnectionFactory, SyncTargetFactory
from tests.outage import (  # noqa: F401 - fixtures
    OUTAGE_SECONDS,
    OUTAGES,
    free_port,
    throwaway_postgres,
    throwaway_redis,
)


class Gunicorn:
    """`gunicorn` as compose starts it (our config file), two workers, on a free port.
    One proxy is trusted so each page submission can come from its own client address
    (X-Forwarded-For), below the per-IP rate limit."""

    def __init__(self, log_path, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
        env = {**base, "DJANGO_DEBUG": "true", "LEADSYNC_TRUSTED_PROXY_COUNT": "1",
               "LEADSYNC_TRUSTED_PROXY_IPS": "127.0.0.1", **env}  # fmt: skip
        with open(log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "leadsync.wsgi:application",
                 "-c", "leadsync/gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "2", "--timeout", "30"],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.log_path = log_path
        try:
            wait_until(self._answers, timeout=60, message="gunicorn to answer")
        except BaseException:  # pytest.fail included: no gunicorn outlives its test
            self.stop()
            raise

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{self.log_path.read_text()}")
        try:
            requests.get(f"{self.url}/", allow_redirects=False, timeout=10)
        except (requests.ConnectionError, requests.Timeout):  # starting (a loaded machine)
            return False
        return True

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Guest:
    """Submits bookings as a browser (form + CSRF cookie) and as an API client would."""

    def __init__(self, base_url: str, page_path: str):
        self.base, self.page_path = base_url, page_path
        self.api_path = f"/api/v1{page_path}bookings"
        self.http = requests.Session()
        self.sent = 0

    def load_form(self) -> requests.Response:
        return self.http.get(self.base + self.page_path, timeout=30)

    def book_on_page(self, slot) -> requests.Response:
        self.sent += 1
        form = {"slot": slot.isoformat(), "timezone": "Europe/Berlin", "name": "Ann Lee",
                "email": f"ann{self.sent}@example.com", "q-company": "Acme",
                "q-meeting_type": "Demo", "website": "",
                "csrfmiddlewaretoken": self.http.cookies["csrftoken"]}  # fmt: skip
        client = f"198.51.100.{self.sent % 250 + 1}"
        return self.http.post(
            self.base + self.page_path, data=form, headers={"X-Forwarded-For": client},
            allow_redirects=False, timeout=30,
        )  # fmt: skip

    def book_on_api(self, slot) -> requests.Response:
        self.sent += 1
        body = {"slot": slot.isoformat(), "name": "Bo Chan", "email": f"bo{self.sent}@example.com",
                "answers": {"company": "Acme"}}  # fmt: skip
        return requests.post(
            self.base + self.api_path, data=json.dumps(body), timeout=30,
            headers={"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"},
        )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_redis_killed_during_intake_loses_no_booking(
    throwaway_redis,  # noqa: F811
    booking_page,
    tenant_a,
    tmp_path,
):
    SalesforceConnectionFactory(tenant=tenant_a)
    SyncTargetFactory(page=booking_page)
    ApiKeyFactory(tenant=tenant_a, raw_key=SECRET)
    slots = iter(page_free_slots(booking_page))
    web = Gunicorn(tmp_path / "gunicorn.log", DATABASE_URL=database_url_for_subprocess(),
                   REDIS_URL=throwaway_redis.url)  # fmt: skip
    guest = Guest(web.url, booking_page.get_absolute_url())
    assert guest.load_form().status_code == 200
    outcomes = []  # (redis up?, status)
    try:
        for _ in range(10):  # Redis up
            outcomes.append((True, guest.book_on_page(next(slots)).status_code))
            outcomes.append((True, guest.book_on_api(next(slots)).status_code))
        for _ in range(OUTAGES):
            throwaway_redis.kill()
            killed_at, during = time.monotonic(), 0
            # Through the outage, at least 10 and at most 40 (answers come fast while the
            # enqueue leaves a dead broker alone; the page has ~160 free slots in all).
            while (time.monotonic() - killed_at < OUTAGE_SECONDS or during < 10) and during < 40:
                outcomes.append((False, guest.book_on_page(next(slots)).status_code))
                outcomes.append((False, guest.book_on_api(next(slots)).status_code))
                during += 2
            throwaway_redis.start()
            for _ in range(5):  # Redis back
                outcomes.append((True, guest.book_on_page(next(slots)).status_code))
                outcomes.append((True, guest.book_on_api(next(slots)).status_code))
    finally:
        web.stop()

    statuses = [status for _, status in outcomes]
    assert set(statuses) == {302, 201}, outcomes  # accepted: the confirmation, or 201
    assert sum(1 for up, _ in outcomes if not up) >= 10 * OUTAGES
    assert Booking.objects.count() == len(outcomes)
    assert Delivery.objects.count() == len(outcomes)  # each with its outbox row
    log = (tmp_path / "gunicorn.log").read_text()
    assert "cache is unreachable" in log  # the rate limit really met the dead Redis


def test_postgres_down_every_submission_gets_a_503_and_none_a_500(
    throwaway_postgres,  # noqa: F811
    tmp_path,
):
    with psycopg.connect(throwaway_postgres.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE leadsync")
    db_url = throwaway_postgres.url("leadsync")
    env = {**os.environ, "DJANGO_DEBUG": "true", "DATABASE_URL": db_url,
           "LEADSYNC_VAR_DIR": str(tmp_path / "var")}  # fmt: skip
    env.pop("REDIS_URL", None)  # file cache and broker: this test breaks PostgreSQL only
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=REPO, env=env,
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    setup = (
        "from tests.factories import *; from bookings.models import Question; "
        "from bookings.selectors import page_free_slots; import json; "
        "page = BookingPageFactory(tenant=TenantFactory(slug='acme'), slug='intro'); "
        "QuestionFactory(page=page, key='company', label='Company', required=True); "
        "QuestionFactory(page=page, key='meeting_type', label='Type', "
        "kind=Question.Kind.CHOICE, choices=['Demo']); "
        f"ApiKeyFactory(tenant=page.tenant, raw_key={SECRET!r}); "
        "print(json.dumps([s.isoformat() for s in page_free_slots(page)[:20]]))"
    )
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", setup],
        cwd=REPO, env=env, check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    starts = json.loads(made.stdout.splitlines()[-1])
    slots = iter(datetime.datetime.fromisoformat(start) for start in starts)
    web = Gunicorn(tmp_path / "gunicorn.log", DATABASE_URL=db_url,
                   LEADSYNC_VAR_DIR=str(tmp_path / "var"))  # fmt: skip
    guest = Guest(web.url, "/acme/intro/")
    try:
        assert guest.load_form().status_code == 200
        assert guest.book_on_page(next(slots)).status_code == 302
        assert guest.book_on_api(next(slots)).status_code == 201

        throwaway_postgres.stop()
        refused = [guest.load_form()]
        for _ in range(3):
            refused += [guest.book_on_page(next(slots)), guest.book_on_api(next(slots))]
        throwaway_postgres.start()

        after = [guest.book_on_page(next(slots)), guest.book_on_api(next(slots))]
    finally:
        web.stop()

    for response in refused:
        assert response.status_code == 503, (response.request.method, response.text[:300])
        assert response.headers["Retry-After"] == "60"
    pages = [r for r in refused if r.headers["Content-Type"].startswith("text/html")]
    assert len(pages) == 4
    for response in pages:
        assert "try again in a minute" in response.text
        submitted = response.request.method == "POST"
        assert ("We couldn't take your booking" in response.text) == submitted
    for response in refused:
        if response.headers["Content-Type"] == "application/json":
            assert list(response.json()["errors"]) == ["service"]
    assert [r.status_code for r in after] == [302, 201]
    with psycopg.connect(db_url) as conn:
        saved = conn.execute("SELECT count(*) FROM bookings_booking").fetchone()[0]
    assert saved == 4  # two before, two after; none of the refused ones
