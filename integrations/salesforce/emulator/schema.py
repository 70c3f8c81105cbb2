"""The org's schema: real describe payloads from ``org/`` plus LeadSync's overlay.

Describes are served exactly as loaded, so an object the overlay and no mutation touch
round-trips byte-for-byte equal (as parsed JSON) to its file.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from .responses import rest_error
from .store import KeyFn, exact, fold, phone_key

ORG_DIR = Path(__file__).parent / "org"
DESCRIBED_OBJECTS = ("Lead", "Contact", "Account", "Event", "Custom__c")
# Written from Salesforce's object reference, not captured (org/written/README.md).
WRITTEN_OBJECTS = ("User", "Group", "Campaign", "CampaignMember")
# Fields duplicate matching narrows candidates by (duplicates.py), beyond the idLookups.
MATCH_KEYS = {"FirstName": fold, "LastName": fold, "Phone": phone_key}
# Describe keys a schema mutation may set on a field (POST /__emulator__/schema).
MUTABLE_FIELD_KEYS = {
    "createable",
    "updateable",
    "nillable",
    "defaultedOnCreate",
    "defaultValue",
    "length",
    "byteLength",
    "picklistValues",
    "restrictedPicklist",
    "externalId",
    "unique",
    "idLookup",
    "label",
    "type",
    "caseSensitive",
}


_NOT_GLOBAL = {"fields", "childRelationships", "recordTypeInfos", "supportedScopes"}
_NOT_GLOBAL |= {"actionOverrides", "namedLayoutInfos"}


def _load(name: str) -> Any:
    with open(ORG_DIR / name, encoding="utf-8") as fh:
        return json.load(fh)


class Schema:
    """Describe payloads of the emulated org, keyed by object API name.

    Not thread-safe by itself: the Org's lock guards every call.
    """

    _pristine: tuple[dict[str, Any], dict[str, Any]] | None = None

    def __init__(self) -> None:
        describes, global_describe = self._load_pristine()
        self.describes = copy.deepcopy(describes)
        self.global_describe = copy.deepcopy(global_describe)
        self._reindex()

    @classmethod
    def _load_pristine(cls) -> tuple[dict[str, Any], dict[str, Any]]:
        """Load files and overlay once per process; each Schema gets a deep copy."""
        if cls._pristine is None:
            describes = {name: _load(f"{name}.json") for name in DESCRIBED_OBJECTS}
            describes.update({name: _load(f"written/{name}.json") for name in WRITTEN_OBJECTS})
            global_describe = _load("Global.json")
            listed = {entry["name"] for entry in global_describe["sobjects"]}
            for name in WRITTEN_OBJECTS:
                if name not in listed:  # Group is missing from the captured global describe
                    summary = {k: v for k, v in describes[name].items() if k not in _NOT_GLOBAL}
                    global_describe["sobjects"].append(summary)
            overlay = _load("overlay.json")
            for obj, fields in overlay["fields"].items():
                describes[obj]["fields"].extend(fields)
            for entry in global_describe["sobjects"]:
                entry.update(overlay["global"].get(entry["name"], {}))
            cls._pristine = (describes, global_describe)
        return cls._pristine

    def _reindex(self) -> None:
        self._objects = {name.lower(): name for name in self.describes}
        self._fields = {
            name: {f["name"].lower(): f for f in d["fields"]} for name, d in self.describes.items()
        }
        self._prefixes = {d["keyPrefix"]: name for name, d in self.describes.items()}

    # -- lookups ---------------------------------------------------------------------------

    def object_name(self, name: str) -> str | None:
        """Canonical API name for a case-insensitive object name, or None if not served."""
        return self._objects.get(name.lower())

    def require_object(self, name: str) -> str:
        """Canonical object name; raises 404 NOT_FOUND for an unknown object."""
        canonical = self.object_name(name)
        if canonical is None:
            raise rest_error(404, "NOT_FOUND", "The requested resource does not exist")
        return canonical

    def describe(self, obj: str) -> dict[str, Any]:
        return self.describes[obj]

    def fields(self, obj: str) -> list[dict[str, Any]]:
        return self.describes[obj]["fields"]

    def field(self, obj: str, name: str) -> dict[str, Any] | None:
        """Field describe for a case-insensitive field name, or None."""
        return self._fields[obj].get(name.lower())

    def indexed_fields(self, obj: str) -> dict[str, KeyFn]:
        """Fields a record table indexes, with the key each is indexed by: external ids,
        unique and idLookup fields (case-insensitive unless caseSensitive), and for
        Lead/Contact the fields duplicate matching narrows candidates by."""
        out: dict[str, KeyFn] = {}
        for field in self.fields(obj):
            if field["name"] == "Id":
                continue
            if field.get("externalId") or field.get("unique") or field.get("idLookup"):
                out[field["name"]] = exact if field.get("caseSensitive") else fold
        if obj in ("Lead", "Contact"):
            out.update(MATCH_KEYS)
        if obj == "CampaignMember":  # "Already a campaign member." (rules.check_campaign_member)
            out.update(LeadId=exact, ContactId=exact)
        return out

    def key_prefix(self, obj: str) -> str:
        return self.describes[obj]["keyPrefix"]

    def object_for_id(self, record_id: str) -> str | None:
        return self._prefixes.get(record_id[:3])

    # -- mutation (schema-drift tests) -------------------------------------------------------

    def mutate(self, op: dict[str, Any]) -> None:
        """Apply one schema operation.

        ``{"object": "Lead", "remove_field": "Region__c"}`` drops a field;
        ``{"object": "Lead", "field": "Company", "set": {"createable": false}}`` sets
        describe properties (keys in MUTABLE_FIELD_KEYS);
        ``{"object": "Lead", "add_field": {...full field describe...}}`` adds one.
        Raises ValueError on an unknown object, field or property.
        """
        obj = self.object_name(str(op.get("object", "")))
        if obj is None:
            raise ValueError(f"unknown object: {op.get('object')!r}")
        fields = self.describes[obj]["fields"]
        if "remove_field" in op:
            target = self._require_field(obj, op["remove_field"])
            fields.remove(target)
        elif "add_field" in op:
            new = op["add_field"]
            if not isinstance(new, dict) or "name" not in new or "type" not in new:
                raise ValueError("add_field needs a field describe with name and type")
            fields.append(new)
        elif "field" in op and isinstance(op.get("set"), dict):
            target = self._require_field(obj, op["field"])
            unknown = set(op["set"]) - MUTABLE_FIELD_KEYS
            if unknown:
                raise ValueError(
                    f"cannot set {sorted(unknown)}; allowed: {sorted(MUTABLE_FIELD_KEYS)}"
                )
            target.update(op["set"])
        else:
            raise ValueError("expected remove_field, add_field, or field + set")
        self._reindex()

    def _require_field(self, obj: str, name: str) -> dict[str, Any]:
        target = self.field(obj, str(name))
        if target is None:
            raise ValueError(f"unknown field {obj}.{name}")
        return target
