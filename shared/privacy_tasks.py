"""The contract between the privacy orchestrator and every context holding personal data.

The orchestrator publishes `PrivacyRequestAccepted`; each context acts on its own
data and answers `PrivacyTaskCompleted` (exports go to the exports bucket under
`part_key`). Which contexts must answer comes from the topology: those that
consume `PrivacyRequestAccepted`.
"""

from __future__ import annotations

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
    corrections: dict[str, str] | None = None
    objection: Objection | None = None
    accepted_at: datetime


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
