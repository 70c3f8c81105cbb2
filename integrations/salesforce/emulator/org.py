"""State of the emulated org: schema, records, tokens, faults, rules, counters.

One ``Org`` per emulator process. Every read or write of its state happens under
``org.lock``; handlers sleep (latency, timeouts) only outside it.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from . import assignment, duplicates, seed
from . import faults as faults_mod
from .ids import make_id
from .schema import Schema
from .store import Table, derive_fields, system_fields
from .tokens import TokenStore

DEFAULT_CLIENT_ID = "leadsync-demo-consumer-key"
DEFAULT_CLIENT_SECRET = "leadsync-demo-consumer-secret"  # noqa: S105 (demo-only, public)
DEFAULT_CALLBACK_URL = "http://127.0.0.1:8000/salesforce/oauth/callback/"
DEFAULT_APP_NAME = "LeadSync"
DEFAULT_SCOPE = "api refresh_token"

ORG_ID = make_id("00D", 4_211_337)
USER_ID = make_id("005", 1_337_042)
USERNAME = "demo@leadsync.example"
USER_NAME = "Demo User"
# Any id of this shape (an Account) stands in for the row a lock error names.
LOCKED_ROW_ID = make_id("001", 9_999_999)
LOCK_MESSAGE = f"unable to obtain exclusive access to this record or 1 records: {LOCKED_ROW_ID}"
PROFILES = ("lived_in", "blank")


@dataclass
class EmulatorConfig:
    """Start configuration; ``Org.reset()`` returns the org to exactly this."""

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    callback_urls: list[str] = field(default_factory=lambda: [DEFAULT_CALLBACK_URL])
    app_name: str = DEFAULT_APP_NAME
    seed_refresh_tokens: list[str] = field(default_factory=list)
    faults: dict[str, Any] = field(default_factory=dict)
    validation_rules: list[dict[str, Any]] = field(default_factory=list)
    duplicate_rules: list[dict[str, Any]] = field(default_factory=list)
    assignment_rules: list[dict[str, Any]] = field(default_factory=list)
    random_seed: int | None = None
    # "lived_in": a customer's org (seed.py, standard duplicate rules, an assignment rule);
    # "blank": no records but the integration user, no rules.
    org: str = "lived_in"

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> EmulatorConfig:
        """Build from keyword args or a JSON config file.

        Keys are config fields (above) or fault names (faults.DEFAULT_FAULTS), which may
        also be given under ``"faults"``; a ``"connected_app"`` section may hold
        client_id / client_secret / callback_urls / app_name. Raises ValueError.
        """
        data = dict(data)
        names = {f.name for f in fields(cls)}
        fault_values = dict(data.pop("faults", {}) or {})
        data.update(data.pop("connected_app", {}) or {})
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key in faults_mod.DEFAULT_FAULTS:
                fault_values[key] = value
            elif key in names:
                kwargs[key] = value
            elif key.startswith("_"):
                continue  # "_comment" and the like in JSON files
            else:
                raise ValueError(f"unknown emulator setting {key!r}")
        kwargs["faults"] = faults_mod.validate_faults(fault_values)
        if kwargs.get("org", "lived_in") not in PROFILES:
            raise ValueError(f"org must be one of {PROFILES}")
        return cls(**kwargs)


@dataclass
class ConnectedApp:
    name: str
    client_id: str
    client_secret: str
    callback_urls: list[str]


def sf_timestamp(moment: float) -> str:
    """Salesforce's datetime format in REST payloads: ``2024-05-01T10:00:00.000+0000``."""
    stamp = datetime.fromtimestamp(moment, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


class Org:
    """The emulated org. Attributes are public for in-process assertions (take ``lock``)."""

    org_id = ORG_ID
    user_id = USER_ID
    username = USERNAME

    def __init__(self, config: EmulatorConfig | None = None, base_url: str = "") -> None:
        self.lock = threading.RLock()
        self.config = config or EmulatorConfig()
        self.base_url = base_url
        self.reset()

    def reset(self, profile: str | None = None) -> None:
        """Back to the start config: records, counters, tokens (seeded ones kept), faults.

        ``profile`` ("lived_in" or "blank") overrides the config's ``org`` for this reset
        only; the next plain ``reset()`` returns to the configured one. Raises ValueError.
        """
        with self.lock:
            cfg = self.config
            profile = profile or cfg.org
            if profile not in PROFILES:
                raise ValueError(f"org must be one of {PROFILES}")
            self.profile = profile
            self.schema = Schema()
            self.records: dict[str, Table] = {
                name: Table(self.schema.indexed_fields(name)) for name in self.schema.describes
            }
            # Deleted records, for queryAll (Salesforce's recycle bin).
            self.deleted: dict[str, dict[str, dict[str, Any]]] = {
                name: {} for name in self.schema.describes
            }
            self._next_number = 1
            self.faults = faults_mod.default_faults()
            self.faults.update(faults_mod.validate_faults(cfg.faults))
            self.app = ConnectedApp(
                cfg.app_name, cfg.client_id, cfg.client_secret, list(cfg.callback_urls)
            )
            self.tokens = TokenStore(self.org_id)
            for value in cfg.seed_refresh_tokens:
                self.tokens.issue_refresh(
                    cfg.client_id, self.user_id, DEFAULT_SCOPE, value=value, seeded=True
                )
            self.api_used = 0
            self.api_calls: Counter[str] = Counter()
            self.oauth_calls: Counter[str] = Counter()
            # (object, external-id field, folded value) -> writes / creates (bench duplicates).
            self.ext_writes: Counter[tuple[str, str, str]] = Counter()
            self.ext_creates: Counter[tuple[str, str, str]] = Counter()
            self.cursors: dict[str, dict[str, Any]] = {}  # query locator -> rows (rest_query)
            self.cursor_number = 0
            self.clock_offset = 0.0
            # Fault dice, seedable for reproducible runs; nothing secret comes from it.
            self.rng = random.Random(cfg.random_seed)  # noqa: S311
            self.seed_ids: dict[str, Any] = {}
            self.seeded: set[str] = set()  # Ids of records the org started with
            self._add_integration_user()
            self.duplicate_rules: list[dict[str, Any]] = []
            self.assignment_rules: list[dict[str, Any]] = []
            if profile == "lived_in":
                seed.populate(self)
                self.duplicate_rules = duplicates.standard_rules()
                self.assignment_rules = [
                    assignment.default_rule(
                        self, self.seed_ids["queue"], self.seed_ids["users"]["sales_lead"]
                    )
                ]
            self.validation_rules = list(cfg.validation_rules)
            self.duplicate_rules += [
                duplicates.normalise_rule(self.schema, rule) for rule in cfg.duplicate_rules
            ]
            self.assignment_rules += [
                assignment.normalise_rule(self, rule, len(self.assignment_rules) + 1 + n)
                for n, rule in enumerate(cfg.assignment_rules)
            ]

    def _add_integration_user(self) -> None:
        """The connected user: every org, blank or not, has the user LeadSync signs in as."""
        now = sf_timestamp(self.now() - 800 * 86_400)
        user = system_fields(self.schema, "User", now=now, user_id=self.user_id)
        user.update(
            Id=self.user_id,
            Username=self.username,
            Email=self.username,
            FirstName="Demo",
            LastName="User",
            Alias="demo",
            IsActive=True,
            UserType="Standard",
            TimeZoneSidKey="Europe/London",
            Title="Integration user",
        )
        derive_fields(self.schema, "User", user)
        self.records["User"][self.user_id] = user
        self.seeded.add(self.user_id)

    def reindex(self) -> None:
        """Re-derive every table's indexes from the schema (after a schema mutation)."""
        for name, table in self.records.items():
            table.reindex(self.schema.indexed_fields(name))

    # -- time and ids --------------------------------------------------------------------------

    def now(self) -> float:
        """Wall clock plus the admin-set offset (tests expire tokens without sleeping)."""
        return time.time() + self.clock_offset

    def new_id(self, obj: str) -> str:
        number = self._next_number
        self._next_number += 1
        # Spread the counter so ids look like real ones (00Q5g00000DZ0d4EAD), not 0000001.
        return make_id(self.schema.key_prefix(obj), 52_000_000 + number * 7_919)

    # -- API usage ---------------------------------------------------------------------------

    @property
    def api_limit(self) -> int:
        return self.faults["daily_api_limit"]

    def limit_info(self) -> str:
        """Value of the ``Sforce-Limit-Info`` header (reference §3)."""
        return f"api-usage={self.api_used}/{self.api_limit}"

    # -- records ---------------------------------------------------------------------------

    def find_by_field(self, obj: str, field_name: str, value: Any) -> list[dict[str, Any]]:
        """Records whose field equals value; string compare is case-insensitive unless the
        field describe says caseSensitive (Salesforce external ids default to insensitive).
        Indexed fields (external ids, unique, idLookup) are looked up, not scanned."""
        describe = self.schema.field(obj, field_name) or {}
        name = describe.get("name", field_name)
        table = self.records[obj]
        if table.is_indexed(name):
            return table.lookup(name, value)
        insensitive = isinstance(value, str) and not describe.get("caseSensitive")
        wanted = value.casefold() if insensitive else value
        matches = []
        for record in table.values():
            current = record.get(name)
            if insensitive and isinstance(current, str):
                current = current.casefold()
            if current == wanted:
                matches.append(record)
        return matches

    def writes_summary(self) -> dict[str, Any]:
        """External-id values by write count, and those written (or created) more than once."""
        by_value: dict[str, dict[str, dict[str, int]]] = {}
        repeated = []
        for key, writes in sorted(self.ext_writes.items()):
            obj, field_name, value = key
            creates = self.ext_creates.get(key, 0)
            by_value.setdefault(f"{obj}.{field_name}", {})[value] = {
                "writes": writes,
                "creates": creates,
            }
            if writes > 1:
                row = {"object": obj, "field": field_name, "value": value}
                repeated.append(dict(row, writes=writes, creates=creates))
        return {
            "by_value": by_value,
            "written_more_than_once": repeated,
            "created_more_than_once": [row for row in repeated if row["creates"] > 1],
            "total_writes": sum(self.ext_writes.values()),
        }

    def record_counts(self) -> dict[str, int]:
        return {obj: len(rows) for obj, rows in self.records.items()}

    def state(self) -> dict[str, Any]:
        """Snapshot for ``GET /__emulator__/state``."""
        with self.lock:
            return {
                "base_url": self.base_url,
                "org_id": self.org_id,
                "user_id": self.user_id,
                "username": self.username,
                "faults": dict(self.faults, fail_next=list(self.faults["fail_next"])),
                "api_usage": {"used": self.api_used, "max": self.api_limit},
                "api_calls": dict(self.api_calls),
                "oauth_calls": dict(self.oauth_calls),
                "records": self.record_counts(),
                "tokens": self.tokens.counts(),
                "org": self.profile,
                "validation_rules": list(self.validation_rules),
                "duplicate_rules": list(self.duplicate_rules),
                "assignment_rules": list(self.assignment_rules),
                "seed_ids": self.seed_ids,
                "connected_app": {
                    "name": self.app.name,
                    "client_id": self.app.client_id,
                    "callback_urls": list(self.app.callback_urls),
                },
                "clock_offset": self.clock_offset,
            }
