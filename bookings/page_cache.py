"""The public booking page's GET answered from the cache: the HTML of a page as one kind of
request asks for it, kept while nothing it shows has changed. And, for a booking (page
POST, API), the page's rows kept in the process under the same versions (`page_rows`), and
the API keys that booked on them (`api_key_for`).

An entry is found by what makes the HTML differ between requests: the path and query
(month, date, tz, embed marker, the URL parameters the form posts back) and the guest's
time-zone cookie. It holds the HTML, with two unguessable placeholders where each request
gets its own values (the CSRF token, and the CSP nonce of the inline scripts), and the
versions of what it was rendered from:

- "config", one per tenant: the tenant, its pages, their questions, hours and date
  overrides. Bumped when any such row is saved or deleted.
- "slots", one per host (per page without a host): the meetings that block the page's
  times. Bumped when a booking is saved or deleted (booked, moved, cancelled).

An entry is served only while both versions are the ones it was rendered under, and only
until the first time it shows could no longer be booked (minimum notice), never longer
than BOOKING_PAGE_CACHE_SECONDS (new days enter the horizon; a change no signal reports,
such as a host's user deleted, shows by then). Versions are read before the page's rows,
and bumped both when the change is made and when it commits, so HTML rendered from rows
read before a change is never stored under a version read after it. (The bump at commit
is the one that counts; the early one of "config" also makes a lost commit bump show on
the next render. A booking's "slots" bump comes at commit only: one Redis call less per
booking, and a lost one shows at most stale times, which the POST's check refuses.)

Nothing here decides what may be booked: the POST checks the slot in the database under a
lock. A stale or missing entry costs one render. When the cache cannot be reached the page
is rendered as without it, and the cache is left alone for CACHE_DOWN_SECONDS.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
import threading
import time
import uuid
import zoneinfo
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone

from bookings import embed
from bookings.models import ApiKey, BookingPage, Question
from bookings.picker import TZ_COOKIE
from bookings.ratelimits import CACHE_UNAVAILABLE
from bookings.selectors import (
    api_key_find_by_hash,
    api_key_hash,
    page_availability,
    page_get_public,
    page_questions,
)
from bookings.slots import Availability
from leadsync.cache import write as cache_write

logger = logging.getLogger(__name__)

PREFIX = "booking-page"
CACHE_DOWN_SECONDS = 5.0
_cache_down_until = 0.0


@dataclass(frozen=True)
class Marks:
    """Placeholders rendered into the HTML instead of the per-request values."""

    csrf: str
    nonce: str

    @classmethod
    def new(cls) -> Marks:
        return cls(
            csrf=f"csrfmark{secrets.token_hex(16)}", nonce=f"noncemark{secrets.token_hex(16)}"
        )

    def fill(self, html: str, request: HttpRequest) -> str:
        """`html` with this request's CSRF token (its cookie is set on the response) and,
        when the HTML has inline scripts, its CSP nonce (then named in the CSP header)."""
        html = html.replace(self.csrf, get_token(request))
        if self.nonce in html:
            html = html.replace(self.nonce, str(request.csp_nonce))
        return html

    def context(self) -> dict[str, str]:
        """What the page's template renders in their place."""
        return {"csrf_token": self.csrf, "CSP_NONCE": self.nonce}


def enabled() -> bool:
    return settings.BOOKING_PAGE_CACHE_SECONDS > 0 and time.monotonic() >= _cache_down_until


def _down(exc: Exception) -> None:
    global _cache_down_until
    _cache_down_until = time.monotonic() + CACHE_DOWN_SECONDS
    logger.warning(
        "Booking page cache unreachable (%s: %s); rendering pages for %.0f s.",
        type(exc).__name__,
        exc,
        CACHE_DOWN_SECONDS,
    )


#: Ad-click ids: a new value per visit, so an answer under them is never asked for again.
CLICK_IDS = frozenset(
    {"gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "ttclid", "twclid",
     "li_fat_id", "yclid", "igshid", "mc_eid"}
)  # fmt: skip
MAX_QUERY = 512  # characters: a longer query is rendered, never kept


def _keepable(request: HttpRequest) -> bool:
    """Whether answers to this query are worth keeping: not one no one will ask again (an
    ad click's id, a very long query), so that Redis holds pages, not visits."""
    query = request.META.get("QUERY_STRING", "")
    if len(query) > MAX_QUERY:
        return False
    names = {pair.partition("=")[0] for pair in query.split("&")}
    return not (names & CLICK_IDS)


def request_key(request: HttpRequest, tenant_slug: str, page_slug: str, kind: str) -> str:
    """The entry a GET of the page's answer `kind` would be stored under."""
    raw = "\n".join(
        (
            kind,
            tenant_slug,
            page_slug,
            request.META.get("QUERY_STRING", ""),
            request.COOKIES.get(TZ_COOKIE, ""),
        )
    )
    return f"{PREFIX}:answer:{hashlib.sha256(raw.encode()).hexdigest()}"


# -- versions -------------------------------------------------------------------------------


def _config_key(tenant_id: int) -> str:
    return f"{PREFIX}:config:{tenant_id}"


def _slots_key(*, host_id: int | None, page_id: int) -> str:
    return f"{PREFIX}:slots:host:{host_id}" if host_id else f"{PREFIX}:slots:page:{page_id}"


def page_versions(page: BookingPage) -> dict[str, str] | None:
    """The current versions `page`'s HTML depends on (created when missing); None when the
    cache cannot be reached."""
    return _versions(
        [_config_key(page.tenant_id), _slots_key(host_id=page.host_id, page_id=page.pk)]
    )


def _versions(keys: list[str]) -> dict[str, str] | None:
    if not enabled():
        return None
    try:
        versions = cache.get_many(keys)
        for key in keys:
            if key not in versions:
                cache.add(key, uuid.uuid4().hex, timeout=None)
        if len(versions) < len(keys):
            versions = cache.get_many(keys)
    except CACHE_UNAVAILABLE as exc:
        _down(exc)
        return None
    return versions if len(versions) == len(keys) else None


def _bump(keys: list[str], *, always: bool = False) -> None:
    """New versions for `keys`. Skipped for CACHE_DOWN_SECONDS after this process found
    the cache unreachable, unless `always` (the rules bookings read: a lost bump would let
    other processes' bookings use old rules until their rows are re-read)."""
    if not (always or enabled()):  # unreachable a moment ago: entries expire by themselves
        return
    for key in keys:  # (in one round trip with others in a leadsync.cache.writes_batched())
        cache_write(DEFAULT_CACHE_ALIAS, "set", key, uuid.uuid4().hex, timeout=None, then=_bumped)


def _bumped(answer: Exception | None) -> None:
    if isinstance(answer, CACHE_UNAVAILABLE):
        _down(answer)
    elif isinstance(answer, Exception):
        raise answer


def _bump_on_commit(keys: list[str], *, always: bool = False, now: bool = False) -> None:
    """Bump `keys` when the current transaction commits (at once outside one); `now`: also
    at once."""
    in_transaction = transaction.get_connection().in_atomic_block
    if now or not in_transaction:
        _bump(keys, always=always)
    if in_transaction:
        transaction.on_commit(lambda: _bump(keys, always=always))


def config_changed(tenant_id: int) -> None:
    """A tenant's pages, questions, hours or overrides changed: its pages render anew, and
    bookings read its pages' rows again (tried even while the cache seemed down)."""
    _bump_on_commit([_config_key(tenant_id)], always=True, now=True)


def slots_changed(*, host_id: int | None, page_id: int) -> None:
    """A meeting of this host (of this page, without a host) was booked, moved or
    cancelled: every page whose times it blocks renders anew."""
    _bump_on_commit([_slots_key(host_id=host_id, page_id=page_id)])


# -- entries --------------------------------------------------------------------------------


def cached_get(
    request: HttpRequest,
    *,
    tenant_slug: str,
    page_slug: str,
    kind: str,
    render: Callable[[BookingPage, Marks | None], HttpResponse],
    placeholders: bool = False,
    embedded: bool = False,
) -> HttpResponse:
    """A GET of one of the page's public answers (`kind`: "page", "days", "times") from
    the cache, else `render(page, marks)`, kept there when it answers 200. `render` may set
    `response.changes_at` (when the first time it shows leaves the minimum notice).
    `placeholders`: the answer carries the per-request CSRF token and CSP nonce, rendered
    as `marks`. `embedded`: the answer may be framed by the tenant's sites."""
    if not (enabled() and _keepable(request)):
        return render(page_get_public(tenant_slug=tenant_slug, page_slug=page_slug), None)
    key = request_key(request, tenant_slug, page_slug, kind)
    cached = response_get(request, key, page=(tenant_slug, page_slug))
    if cached is not None:
        return cached
    page = page_get_public(tenant_slug=tenant_slug, page_slug=page_slug)
    versions = page_versions(page)
    if versions is not None:  # the page's rows as of these versions, or later
        fresh = page_get_public(tenant_slug=tenant_slug, page_slug=page_slug)
        if (fresh.tenant_id, fresh.host_id) != (page.tenant_id, page.host_id):
            versions = None  # moved to another host meanwhile: these are not its versions
        page = fresh
    marks = Marks.new() if placeholders else None
    response = render(page, marks)
    body = response.content.decode()
    if response.status_code == 200 and versions is not None:
        _store(
            key,
            body=body,
            content_type=response["Content-Type"],
            marks=marks,
            versions=versions,
            changes_at=getattr(response, "changes_at", None),
            frame_origins=page.tenant.embed_origin_list if embedded else None,
        )
        _version_keys_seen((tenant_slug, page_slug), versions)
    if marks is not None:
        response.content = marks.fill(body, request)
    return response


def response_get(request: HttpRequest, key: str, *, page: tuple[str, str]) -> HttpResponse | None:
    """The cached answer for this GET of `page` (tenant slug, page slug), filled in for
    `request`; None: render it. One round trip when this process knows the names of the
    page's versions (it has read or stored an entry of the page): the entry and the
    versions in one MGET."""
    if not enabled():
        return None
    known = _version_keys.get(page, ())
    try:
        found = cache.get_many([key, *known])
        entry: dict[str, Any] | None = found.get(key)
        if entry is None:
            return None
        wanted = entry["versions"]
        if not wanted.keys() <= set(known):  # a page this process has not seen, or moved
            found = cache.get_many(list(wanted))
            _version_keys_seen(page, wanted)
        if any(found.get(name) != version for name, version in wanted.items()):
            return None
    except CACHE_UNAVAILABLE as exc:
        _down(exc)
        return None
    body = entry["body"]
    if entry["marks"] is not None:
        body = Marks(*entry["marks"]).fill(body, request)
    response = HttpResponse(body, content_type=entry["content_type"])
    if entry["frame_origins"] is not None:
        embed.embed_allow_origins(response, entry["frame_origins"])
    return response


#: (tenant slug, page slug) -> the names of the versions its entries were stored under
#: (they change only when the page moves to another tenant or host). Per process.
_version_keys: dict[tuple[str, str], tuple[str, ...]] = {}
VERSION_KEYS_KEPT = 4096


def _version_keys_seen(page: tuple[str, str], versions: dict[str, str]) -> None:
    if len(_version_keys) >= VERSION_KEYS_KEPT and page not in _version_keys:
        _version_keys.clear()  # rare: a process asked for this many pages starts over
    _version_keys[page] = tuple(versions)


def _store(
    key: str,
    *,
    body: str,
    content_type: str,
    marks: Marks | None,
    versions: dict[str, str],
    changes_at: datetime.datetime | None,
    frame_origins: list[str] | None,
) -> None:
    """Keep `body` (rendered with `marks`, from rows read after `versions`) under `key`
    until `changes_at` (when the first time it shows can no longer be booked), at most
    BOOKING_PAGE_CACHE_SECONDS."""
    seconds = float(settings.BOOKING_PAGE_CACHE_SECONDS)
    if changes_at is not None:
        seconds = min(seconds, (changes_at - timezone.now()).total_seconds())
    if seconds < 1:
        return
    entry = {
        "body": body,
        "content_type": content_type,
        "marks": (marks.csrf, marks.nonce) if marks else None,
        "versions": versions,
        "frame_origins": frame_origins,
    }
    try:
        cache.set(key, entry, timeout=int(seconds))
    except CACHE_UNAVAILABLE as exc:
        _down(exc)


# -- the page's rows, for a booking -----------------------------------------------------------


@dataclass(frozen=True)
class PageRows:
    """What a booking reads of its page before the transaction: the page (with its
    tenant), its questions and its availability rules for `day` (the page's today), read
    at `read_at` (time.monotonic). Shared by the requests of one process: read-only."""

    page: BookingPage
    questions: list[Question]
    availability: Availability
    day: datetime.date
    versions: dict[str, str]
    read_at: float


ROWS_KEPT = 512  # pages per process
_rows: OrderedDict[tuple[str, str], PageRows] = OrderedDict()
_rows_lock = threading.Lock()


def page_rows(*, tenant_slug: str, page_slug: str) -> PageRows:
    """The active page at /<tenant_slug>/<page_slug>/ with its questions and availability:
    kept in this process while its tenant's config version is unchanged (one cache round
    trip instead of four queries), else read. Kept at most BOOKING_PAGE_CACHE_SECONDS, as
    the HTML: a change whose bump the cache missed (it was unreachable) shows by then.
    Raises Http404 for no active page."""
    key = (tenant_slug, page_slug)
    kept = _rows.get(key)
    if (
        kept is not None
        and kept.day == _today(kept.page)
        and time.monotonic() - kept.read_at < settings.BOOKING_PAGE_CACHE_SECONDS
        and enabled()
    ):
        try:
            current = cache.get_many(list(kept.versions))
        except CACHE_UNAVAILABLE as exc:
            _down(exc)
            current = None
        if current == kept.versions:
            with _rows_lock:
                if key in _rows:
                    _rows.move_to_end(key)
            return kept
    page = page_get_public(tenant_slug=tenant_slug, page_slug=page_slug)
    versions = _versions([_config_key(page.tenant_id)])
    if versions is not None:  # the rows as of this version, or later
        fresh = page_get_public(tenant_slug=tenant_slug, page_slug=page_slug)
        versions = versions if fresh.tenant_id == page.tenant_id else None
        page = fresh
    now, read_at = timezone.now(), time.monotonic()
    rows = PageRows(
        page=page,
        questions=page_questions(page),
        availability=page_availability(page, now=now),
        day=_today(page, now),
        versions=versions or {},
        read_at=read_at,
    )
    with _rows_lock:
        if versions is None:
            _rows.pop(key, None)
        else:
            _rows[key] = rows
            _rows.move_to_end(key)
            while len(_rows) > ROWS_KEPT:
                _rows.popitem(last=False)
    return rows


@dataclass(frozen=True)
class _KeptKey:
    api_key: ApiKey
    versions: dict[str, str]
    read_at: float


KEYS_KEPT = 1024  # API keys per process
_keys: OrderedDict[str, _KeptKey] = OrderedDict()
_keys_lock = threading.Lock()


def api_key_for(raw_key: str, rows: PageRows | None) -> ApiKey | None:
    """The API key (active or revoked) whose secret is `raw_key`, or None. Kept in this
    process under the config version of the tenant of `rows` (the page the request books,
    as `page_rows` just returned it: its versions are current), as its rows are: a key's
    save, revocation or deletion bumps that version (bookings.receivers). Read from the
    database when not kept, kept longer than BOOKING_PAGE_CACHE_SECONDS, of another
    tenant, or when `rows` is None or has no versions (no such page; the cache is down)."""
    digest = api_key_hash(raw_key)
    usable = rows is not None and bool(rows.versions)
    kept = _keys.get(digest) if usable else None
    if (
        kept is not None
        and kept.versions == rows.versions
        and kept.api_key.tenant_id == rows.page.tenant_id
        and time.monotonic() - kept.read_at < settings.BOOKING_PAGE_CACHE_SECONDS
    ):
        return kept.api_key
    read_at = time.monotonic()
    api_key = api_key_find_by_hash(digest)  # read after the versions: kept under them, or later
    with _keys_lock:
        if usable and api_key is not None and api_key.tenant_id == rows.page.tenant_id:
            _keys[digest] = _KeptKey(api_key=api_key, versions=rows.versions, read_at=read_at)
            _keys.move_to_end(digest)
            while len(_keys) > KEYS_KEPT:
                _keys.popitem(last=False)
        else:
            _keys.pop(digest, None)
    return api_key


def _today(page: BookingPage, now: datetime.datetime | None = None) -> datetime.date:
    return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(page.timezone)).date()
