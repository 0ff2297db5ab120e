"""Boundary models of the privacy context: API bodies, stored records, event payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from shared.consent import Objection, Purpose
from shared.privacy_tasks import RequestType

SubjectId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@\-]+$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")]
ConsentSource = Literal["banner", "privacy_centre", "crm_import", "email_unsubscribe", "privacy_request"]
RequestStatus = Literal["pending_verification", "in_progress", "completed", "lifted"]
# How a request is being verified. A customer's link goes only to the e-mail on file; otherwise the request
# waits for the privacy team to verify the person by other means (`by_staff`).
VerificationRoute = Literal["link_sent", "contact_not_on_file", "no_contact_on_file", "by_staff"]
# Attributes a data subject may correct (the profile's imported attributes).
CORRECTABLE = ("email", "phone", "first_name", "last_name", "birth_date", "country")


class ConsentUpdate(BaseModel):
    """Choices per purpose and/or an IAB TCF v2 string; purposes not named keep their state."""

    purposes: dict[Purpose, bool] = Field(default_factory=dict, description="true grants, false withdraws")
    tcf_string: str | None = Field(default=None, max_length=10_000, description="IAB TCF v2 TC string, decoded into purposes")
    source: Literal["banner", "privacy_centre"]
    policy_version: str = Field(min_length=1, max_length=32)

    @model_validator(mode="after")
    def _something_to_record(self) -> ConsentUpdate:
        if not self.purposes and not self.tcf_string:
            raise ValueError("give purposes and/or a tcf_string")
        return self


class ConsentRecord(BaseModel):
    """One append-only history entry: a choice for one purpose."""

    purpose: Purpose
    granted: bool
    at: datetime
    source: ConsentSource
    policy_version: str | None = None
    carried_from: str | None = Field(default=None, description="A choice the customer made as an anonymous visitor before "
                                     "signing in: that visitor's id (carried over on a proven link only)")


class ConsentView(BaseModel):
    subject_id: str
    purposes: dict[str, ConsentRecord] = Field(description="The current choice per purpose (absent: never asked)")
    effective: dict[Purpose, bool] = Field(description="What the data may be used for now: choices minus restriction and objections")
    restricted: bool
    objections: list[Objection]
    history: list[ConsentRecord] = Field(description="Every choice, newest first")


class ConsentSignal(BaseModel):
    """Payload of `ConsentReported`: a choice seen outside the privacy centre (CRM opt-in, unsubscribe)."""

    subject_id: str
    purpose: Purpose
    granted: bool
    at: datetime
    source: Literal["crm_import", "email_unsubscribe"]


class PrivacyRequestIn(BaseModel):
    type: RequestType
    subject_id: SubjectId
    contact: Email = Field(description="Where the verification link is sent")
    corrections: dict[Literal["email", "phone", "first_name", "last_name", "birth_date", "country"],
                      Annotated[str, StringConstraints(min_length=1, max_length=254)]] | None = Field(
        default=None, description="rectification only: attribute -> corrected value")
    objection: Objection | None = Field(default=None, description="objection only: what the subject objects to")

    @model_validator(mode="after")
    def _type_specific(self) -> PrivacyRequestIn:
        if self.type == "rectification" and not self.corrections:
            raise ValueError("a rectification needs corrections")
        if self.type != "rectification" and self.corrections:
            raise ValueError("corrections belong to a rectification")
        if self.type == "objection" and not self.objection:
            raise ValueError("an objection needs objection: direct_marketing or profiling")
        if self.type != "objection" and self.objection:
            raise ValueError("objection belongs to an objection request")
        return self


class TaskState(BaseModel):
    status: Literal["pending", "done"] = "pending"
    action: str | None = None
    records: int = 0
    part_key: str | None = None
    completed_at: datetime | None = None


class PrivacyRequest(BaseModel):
    """A request as stored. After an erasure, subject_id holds a pseudonym and contact is gone."""

    request_id: str
    type: RequestType
    status: RequestStatus
    subject_id: str
    contact: str | None
    corrections: dict[str, str] | None = None
    objection: Objection | None = None
    received_at: datetime
    due_at: datetime = Field(description="One month from receipt (GDPR Art. 12(3)), later if extended")
    extension_months: int = 0
    extension_reason: str | None = None
    verified_at: datetime | None = None
    completed_at: datetime | None = None
    last_published_at: datetime | None = None
    tasks: dict[str, TaskState] = Field(default_factory=dict)
    export_key: str | None = None
    flag: Literal["on_track", "at_risk", "overdue"] | None = None
    verification: VerificationRoute | None = Field(
        default=None, description="link_sent: to the typed address (a visitor) or to the matching address on file (a customer); "
        "contact_not_on_file / no_contact_on_file: no link was sent, the privacy team verifies the person (staff verification)")
    customer_id: str | None = Field(default=None, description="The customer the request was about when received (the subject "
                                    "or the customer its id was linked to); None: an anonymous visitor's own id")
    identifiers: list[str] = Field(default_factory=list, description="Fixed at verification: every id the request covers "
                                   "(a visitor's own id; a customer and the anonymous ids proven theirs by then)")


class RequestCreated(BaseModel):
    request_id: str
    status: RequestStatus
    received_at: datetime
    due_at: datetime
    message: str


class RequestStatusView(BaseModel):
    """What anybody holding the request id sees; the download link only with a valid token."""

    request_id: str
    type: RequestType
    status: RequestStatus
    received_at: datetime
    due_at: datetime
    completed_at: datetime | None
    download_url: str | None = Field(default=None, description="Access/portability bundle (zip), valid for minutes")


class OwnRequests(BaseModel):
    """A person's own privacy requests, newest first: what, when, where each stands (no contact, no token)."""

    subject_id: str
    requests: list[RequestStatusView]


class Verification(BaseModel):
    token: str = Field(min_length=1, max_length=512)


class AdminRequestView(PrivacyRequest):
    """The DPO's view (admin API)."""


class StaffVerification(BaseModel):
    note: str = Field(min_length=10, max_length=1000,
                      description="How the person's identity was checked, recorded in the audit log, which outlives an erasure: "
                      "say how, without personal data (e.g. 'call back to the phone on file; the last order's details matched')")


class StaffVerified(BaseModel):
    request: AdminRequestView
    status_link: str = Field(description="The privacy-centre link with the request's token: give it to the person through the "
                             "channel you verified; it shows the status and, for access and portability, the download")


class RequestQueue(BaseModel):
    requests: list[AdminRequestView]


class Extension(BaseModel):
    months: Literal[1, 2] = Field(description="Added to the one-month deadline; at most two in all (Art. 12(3))")
    reason: str = Field(min_length=10, max_length=1000, description="Recorded in the audit log and told to the subject")


class AuditEntry(BaseModel):
    at: datetime
    step: str
    detail: dict = Field(default_factory=dict)


class AuditTrail(BaseModel):
    request_id: str
    entries: list[AuditEntry]


class OutboxMessage(BaseModel):
    message_id: str
    to: str
    subject: str
    body: str
    link: str
    request_id: str
    created_at: datetime
