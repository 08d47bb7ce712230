"""What a notification on `appconfig_changes` says, read with suspicion: any role may NOTIFY.

A change names its revision, its entity (`application` or `configuration`), its action
(`created`, `updated`, `deleted`), its id and its application's id, and the new ETags
(db/README.md).
`parse()` takes only that, each field checked for its form; anything else, or anything more,
is not a change. What reaches a client is written again from the checked fields alone.

The keys of a change are the resources whose reads it may alter; the keys of a resource,
what it names.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

# What a change names: ("application", id) or ("configuration", id).
Key = tuple[str, str]

ENTITIES = frozenset({"application", "configuration"})
ACTIONS = frozenset({"created", "updated", "deleted"})
# Ids as the functions write them: canonical ULIDs. ETags as app_private.etag() writes them.
ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
ETAG = re.compile(r'"[0-9a-f]{32}"')
FIELDS = frozenset({"revision", "entity", "action", "id", "application_id", "etag", "application_etag"})
# Revisions are numbers of a bigint sequence.
MAX_BIGINT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Change:
    """A change as a writing function announced it, every field checked."""

    revision: int
    entity: str
    action: str
    id: str
    application_id: str
    etag: str | None = None  # none on a delete
    application_etag: str | None = None  # a configuration created or deleted: its application's new one

    def event_data(self) -> str:
        """The change as an event's JSON text, in the order jsonb writes its keys."""
        fields: dict[str, str | int] = {"id": self.id}
        if self.etag is not None:
            fields["etag"] = self.etag
        fields |= {"action": self.action, "entity": self.entity, "revision": self.revision}
        fields["application_id"] = self.application_id
        if self.application_etag is not None:
            fields["application_etag"] = self.application_etag
        return json.dumps(fields)

    def keys(self) -> frozenset[Key]:
        own = (self.entity, self.id)
        if self.entity == "configuration" and self.action != "updated":
            return frozenset({own, ("application", self.application_id)})  # its configuration_ids changed
        return frozenset({own})


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse(payload: str) -> Change | None:
    """The notification's change, if it is one, exactly as the functions send it; else None."""
    try:
        fields = json.loads(payload, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return change_of(fields)


def change_of(fields: object) -> Change | None:
    """The change these decoded fields describe, if they are one; else None."""
    if not isinstance(fields, dict) or not fields.keys() <= FIELDS:
        return None
    revision = fields.get("revision")
    if type(revision) is not int or not 0 < revision <= MAX_BIGINT:  # bool is an int, but not one
        return None
    entity, action = fields.get("entity"), fields.get("action")
    if not isinstance(entity, str) or not isinstance(action, str) or entity not in ENTITIES or action not in ACTIONS:
        return None
    if not all(isinstance(fields.get(name), str) and ULID.fullmatch(fields[name]) for name in ("id", "application_id")):
        return None
    if entity == "application" and fields["id"] != fields["application_id"]:
        return None
    etag, application_etag = fields.get("etag"), fields.get("application_etag")
    if (etag is None) != (action == "deleted") or not _etag_or_none(etag):
        return None
    announces_application = entity == "configuration" and action != "updated"
    if (application_etag is not None and not announces_application) or not _etag_or_none(application_etag):
        return None
    return Change(revision, entity, action, fields["id"], fields["application_id"], etag, application_etag)


def _etag_or_none(value: object) -> bool:
    return value is None or (isinstance(value, str) and ETAG.fullmatch(value) is not None)


def keys_of_resource(body: bytes) -> frozenset[Key]:
    """What a resource's JSON text names: a configuration names its application too, whose rename
    or deletion changes what a read by name finds."""
    resource = json.loads(body)
    if "application_id" in resource:
        return frozenset({("configuration", resource["id"]), ("application", resource["application_id"])})
    return frozenset({("application", resource["id"])})
