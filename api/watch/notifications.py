"""What a notification on `appconfig_changes` says, read with suspicion: any role may NOTIFY.

A change names its entity (`application` or `configuration`), its action (`created`,
`updated`, `deleted`), its id and its application's id (db/README.md). The keys of a change
are the resources whose reads it may alter; the keys of a resource, what it names.
"""

import json
from typing import Any

# What a change names: ("application", id) or ("configuration", id).
Key = tuple[str, str]

ENTITIES = frozenset({"application", "configuration"})
ACTIONS = frozenset({"created", "updated", "deleted"})


def parse(payload: str) -> dict[str, Any] | None:
    """The notification's change, if it is one; None for anything else."""
    try:
        change = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(change, dict) or change.get("entity") not in ENTITIES or change.get("action") not in ACTIONS:
        return None
    if not all(isinstance(change.get(name), str) for name in ("id", "application_id")):
        return None
    return change


def keys_of_change(change: dict[str, Any]) -> frozenset[Key]:
    own = (change["entity"], change["id"])
    if change["entity"] == "configuration" and change["action"] != "updated":
        return frozenset({own, ("application", change["application_id"])})  # its configuration_ids changed
    return frozenset({own})


def keys_of_resource(body: bytes) -> frozenset[Key]:
    """What a resource's JSON text names: a configuration names its application too, whose rename
    or deletion changes what a read by name finds."""
    resource = json.loads(body)
    if "application_id" in resource:
        return frozenset({("configuration", resource["id"]), ("application", resource["application_id"])})
    return frozenset({("application", resource["id"])})
