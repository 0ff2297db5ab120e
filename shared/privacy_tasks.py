"""The contract between the privacy orchestrator and every context holding personal data.

The orchestrator publishes `PrivacyRequestAccepted`; each context acts on its own
data and answers `PrivacyTaskCompleted` (exports go to the exports bucket under
`part_key`). Which contexts must answer comes from the topology: those that
consume `PrivacyRequestAccepted`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.consent import Objection

RequestType = Literal["access", "portability", "rectification", "erasure", "restriction", "objection"]
EXPORTING = frozenset({"access", "portability"})


class PrivacyRequestAccepted(BaseModel):
    request_id: str
    type: RequestType
    subject_id: str
    corrections_key: str | None = Field(
        default=None, description="rectification: exports-bucket key of the corrected values (personal data never travels in an event)")
    objection: Objection | None = None
    accepted_at: datetime
    identifiers: list[str] = Field(default_factory=list, description="Every id the request covers, fixed when it was verified: "
                                   "a link that appears later is not followed (empty only in requests accepted before it existed)")

    def covered(self, linked: Callable[[str], set[str]]) -> set[str]:
        """The ids to act on: those fixed at verification; `linked(subject)` only for older requests without them."""
        return set(self.identifiers) if self.identifiers else linked(self.subject_id)


class PrivacyTaskCompleted(BaseModel):
    request_id: str
    context: str
    type: RequestType
    action: str = Field(description="What the context did: exported, erased, rectified, restricted, nothing_held…")
    records: int = Field(ge=0, description="How many stored records it touched")
    part_key: str | None = Field(default=None, description="Exports-bucket key of this context's part of an access export")
    completed_at: datetime


def part_key(request_id: str, context: str) -> str:
    return f"requests/{request_id}/parts/{context}.json"


def corrections_key(request_id: str) -> str:
    """Matches the topology's CORRECTIONS_OBJECTS, the only exports objects the profiles context may read."""
    return f"requests/{request_id}/corrections.json"


class Outcome(BaseModel):
    """What a context did for a request, before it is published as PrivacyTaskCompleted."""

    action: str
    records: int = 0
    part_key: str | None = None


def completed(accepted: PrivacyRequestAccepted, context: str, outcome: Outcome, now: datetime) -> PrivacyTaskCompleted:
    return PrivacyTaskCompleted(request_id=accepted.request_id, context=context, type=accepted.type, action=outcome.action,
                                records=outcome.records, part_key=outcome.part_key, completed_at=now)


def export_tables(tables: dict[str, list[dict]], request_id: str, context: str, put) -> Outcome:
    """Store a context's part of an access export (`put(key, body)`) and say what it held."""
    key = part_key(request_id, context)
    put(key, json.dumps(tables).encode())
    records = sum(len(rows) for rows in tables.values())
    return Outcome(action="exported" if records else "nothing_held", records=records, part_key=key)


def erased(records: int) -> Outcome:
    return Outcome(action="erased" if records else "nothing_held", records=records)


def carry_out(accepted: PrivacyRequestAccepted, context: str, *, export, erase, put,
              rectification: str = "nothing_to_rectify", otherwise: str = "noted") -> Outcome:
    """A context's part of a request: `export()` -> its tables, `erase()` -> records deleted,
    `put(key, body)` stores an export part. Restriction and objection are carried out by the
    ConsentChanged that follows them, so here they are only `otherwise`."""
    if accepted.type in EXPORTING:
        return export_tables(export(), accepted.request_id, context, put)
    if accepted.type == "erasure":
        return erased(erase())
    return Outcome(action=rectification if accepted.type == "rectification" else otherwise)
