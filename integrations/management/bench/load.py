"""HTTP load on loopback, as a TLS proxy in front of gunicorn would send it
(X-Forwarded-Proto: https, X-Forwarded-For: the guest's address): closed-loop bursts for
intake mode, an open-loop schedule for steady mode. http.client, not requests: the
client shares the 2 cores with the server, so it should cost as little as possible (its
own CPU is reported beside every figure)."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

TIMEOUT = 300.0  # s; an answer later than this is an error (the booking may still exist)
IDLE_RECONNECT = 1.0  # s; gunicorn closes idle keep-alive connections after 2 s
TOKEN_IN_FORM = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_COOKIE = re.compile(r"csrftoken=([^;]+)")
UID_IN_LOCATION = re.compile(r"/booked/([0-9a-f-]{36})/")
UID_IN_JSON = re.compile(r'"uid": ?"([0-9a-f-]{36})"')


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage | None
    body: bytes


class Client:
    """One keep-alive connection to the server. Requests are never retried (a POST
    sent twice would be a double booking the bench caused itself)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.origin = f"https://{self.host}:{self.port}"  # what the browser saw
        self.conn: http.client.HTTPConnection | None = None
        self.used = 0.0
        self.csrf_cookie = self.csrf_token = ""

    def request(
        self, method: str, path: str, *, ip: str, body: bytes | None = None, headers=None
    ) -> Answer:
        if self.conn is None or time.monotonic() - self.used > IDLE_RECONNECT:
            self.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        all_headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": ip, **(headers or {})}
        try:
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
            data = response.read()
        except Exception:
            self.close()
            raise
        self.used = time.monotonic()
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return Answer(response.status, response.headers, data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def csrf_fetch(self, path: str, *, ip: str) -> None:
        """GET a booking page as a guest: keep its CSRF cookie and the form's token. The
        cookie is Secure (production), so it is sent back by hand, as the browser would
        over the proxy's https."""
        answer = self.request("GET", path, ip=ip)
        cookie = CSRF_COOKIE.search(answer.headers.get("Set-Cookie", "") if answer.headers else "")
        token = TOKEN_IN_FORM.search(answer.body.decode())
        if answer.status != 200 or not cookie or not token:
            raise RuntimeError(f"no CSRF token on {path}: {answer.status}")
        self.csrf_cookie, self.csrf_token = cookie[1], token[1]

    def form_post(self, path: str, fields: dict[str, str], *, ip: str) -> Answer:
        body = urlencode({**fields, "csrfmiddlewaretoken": self.csrf_token}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={self.csrf_cookie}",
            "Referer": self.origin + path.split("?")[0],
        }
        return self.request("POST", path, ip=ip, body=body, headers=headers)


def client_ip(index: int) -> str:
    """A distinct guest address per request (the page's per-IP limit counts guests)."""
    return f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"


def form_fields(slot_iso: str, index: int, label: str) -> dict[str, str]:
    return {
        "slot": slot_iso, "timezone": "UTC", "name": f"Guest {label}{index}",
        "email": f"{label.lower()}{index}@example.com", "q-company": f"Company {index}",
        "website": "",
    }  # fmt: skip


def api_body(slot_iso: str, index: int, label: str) -> bytes:
    return json.dumps({
        "slot": slot_iso, "name": f"Guest {label}{index}", "timezone": "UTC",
        "email": f"{label.lower()}{index}@example.com",
        "answers": {"company": f"Company {index}"}, "url_params": {"LeadSource": "Web"},
    }).encode()  # fmt: skip


def accepted_uid(answer: Answer) -> str | None:
    """The booking uid of an accepted submission (form: 302 to /booked/<uid>/; API: 201)."""
    if answer.status == 302 and answer.headers:
        match = UID_IN_LOCATION.search(answer.headers.get("Location", ""))
        return match[1] if match else None
    if answer.status == 201:
        match = UID_IN_JSON.search(answer.body.decode())
        return match[1] if match else None
    return None


# -- closed loop (intake) ------------------------------------------------------------------------


@dataclass
class Burst:
    """What `burst` saw: latencies of good answers, errors, accepted booking uids."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    uids: list[str] = field(default_factory=list)
    exhausted: bool = False  # the jobs ran out before the time did (rate understated)
    handed: int = 0  # job indexes handed out (the next burst of the same jobs starts here)

    def add(self, other: Burst) -> None:
        """`other`'s figures added to these (slices of one run)."""
        self.seconds += other.seconds
        self.latencies += other.latencies
        for what, count in other.errors.items():
            self.errors[what] = self.errors.get(what, 0) + count
        self.uids += other.uids
        self.exhausted = self.exhausted or other.exhausted
        self.handed = other.handed


# A job sends one request with a client and says whether the answer is the expected one
# (and the accepted booking's uid, if it made one): (client, index) -> (ok, uid, what).
Job = Callable[[Client, int], tuple[bool, str | None, str]]


def burst(
    base: str,
    job: Job,
    *,
    clients: int,
    seconds: float,
    limit: int | None = None,
    prepare: Callable[[Client, int], None] | None = None,
    start: int = 0,
) -> Burst:
    """`clients` threads each send `job` back to back for `seconds`, with indexes from
    `start` (below `limit`); only answers that arrive inside the window count."""
    result, lock = Burst(handed=start), threading.Lock()
    counter: Iterator[int] = iter(range(start, limit if limit is not None else 10**12))
    pool = [Client(base) for _ in range(clients)]
    for n, client in enumerate(pool):
        if prepare:
            prepare(client, n)
    ready = threading.Barrier(clients + 1)
    window: dict[str, float] = {}

    def run(client: Client) -> None:
        ready.wait()
        while True:
            with lock:
                index = next(counter, None)
                result.handed = result.handed if index is None else index + 1
            if index is None:
                result.exhausted = True
                return
            began = time.monotonic()
            if began >= window["end"]:
                return
            try:
                ok, uid, what = job(client, index)
            except Exception as exc:  # a refused or dropped connection is an error too
                ok, uid, what = False, None, type(exc).__name__
            done = time.monotonic()
            with lock:
                if uid:
                    result.uids.append(uid)  # accepted, whenever it answered
                if done > window["end"]:
                    continue
                if ok:
                    result.latencies.append(done - began)
                else:
                    result.errors[what] = result.errors.get(what, 0) + 1

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in pool]
    for thread in threads:
        thread.start()
    window["end"] = time.monotonic() + seconds
    began = time.monotonic()
    ready.wait()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    result.seconds = min(time.monotonic(), window["end"]) - began
    for client in pool:
        client.close()
    return result


# -- open loop (steady) ----------------------------------------------------------------------------


@dataclass
class Scheduled:
    due_wall: float  # when it was due (Unix time): latency counts from here
    sent_lag: float = float("nan")  # how late the request left (s)
    answered: float = float("nan")  # monotonic seconds after the schedule's start
    uid: str | None = None
    error: str = ""


def open_loop(
    due: list[float],
    job: Callable[[Client, int], tuple[bool, str | None, str]],
    clients: list[Client],
) -> list[Scheduled]:
    """Send request i at `due[i]` seconds after now, whatever the server does: a
    dispatcher sleeps until each time and hands the request to a pool as large as
    `clients` (pre-connected, CSRF token fetched). A request that waits for a free client
    is late, and its latency still counts from its due time."""
    free: list[Client] = list(clients)
    free_lock = threading.Condition()
    start_mono, start_wall = time.monotonic(), time.time()
    plan = [Scheduled(due_wall=start_wall + t) for t in due]

    def send(index: int) -> None:
        with free_lock:
            while not free:
                free_lock.wait()
            client = free.pop()
        item = plan[index]
        item.sent_lag = time.monotonic() - start_mono - due[index]
        try:
            ok, uid, what = job(client, index)
        except Exception as exc:
            ok, uid, what = False, None, type(exc).__name__
        item.answered = time.monotonic() - start_mono
        item.uid = uid if ok else None
        item.error = "" if ok else what
        with free_lock:
            free.append(client)
            free_lock.notify()

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        for index, offset in enumerate(due):
            delay = start_mono + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, index)
    for client in clients:
        client.close()
    return plan
