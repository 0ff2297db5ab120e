"""Boundary models of the profiles context: API bodies and event payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from functions.profiles.crm_import.mapping import ColumnMapping
from shared.interactions import (  # noqa: F401 - re-exported: profiles' own event payloads
    ConversionRecorded,
    EventContext,
    IdentityLinked,
    InteractionRecorded,
    InteractionType,
    ProfileUpdated,
    RecentInteraction,
)

MAX_EVENTS_PER_BATCH = 500
MAX_BATCH_BYTES = 256 * 1024
# Clocks on phones drift; more than this in the future is a bug, not skew.
MAX_CLOCK_SKEW = timedelta(minutes=5)

_NEEDS_ITEM = {"product_view", "add_to_cart", "remove_from_cart"}

Id = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@\-]+$")


class TrackingEvent(BaseModel):
    """One storefront event as the collection API accepts it."""

    model_config = ConfigDict(extra="forbid")

    type: InteractionType
    event_id: str | None = Field(default=None, min_length=8, max_length=64, description="Client id for deduplication; without it the id is a digest of the event's content")
    anonymous_id: str | None = Id
    customer_id: str | None = Id
    timestamp: AwareDatetime
    item_id: str | None = Field(default=None, min_length=1, max_length=128)
    category: str | None = Field(default=None, max_length=128)
    brand: str | None = Field(default=None, max_length=128)
    query: str | None = Field(default=None, max_length=256)
    value: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    context: EventContext = Field(default_factory=EventContext)
    unsubscribe_token: str | None = Field(default=None, max_length=128, description="unsubscribe of a customer_id: the "
                                          "one-click token of the link in the customer's e-mail (shared/sessions.py), when "
                                          "sent without the customer's session")

    @model_validator(mode="after")
    def _consistent(self) -> TrackingEvent:
        if not (self.anonymous_id or self.customer_id):
            raise ValueError("anonymous_id or customer_id is required")
        if self.type == "identify" and not (self.anonymous_id and self.customer_id):
            raise ValueError("identify needs both anonymous_id and customer_id")
        if self.type in _NEEDS_ITEM and not self.item_id:
            raise ValueError(f"{self.type} needs item_id")
        if self.type == "search" and not self.query:
            raise ValueError("search needs query")
        if self.type == "purchase" and (self.value is None or not self.currency):
            raise ValueError("purchase needs value and currency")
        if self.timestamp > datetime.now(UTC) + MAX_CLOCK_SKEW:
            raise ValueError("timestamp is in the future")
        return self


class TrackingBatch(BaseModel):
    """Body of `POST /v1/events`. Items are validated one by one so that one bad
    event is rejected on its own instead of failing the whole batch."""

    model_config = ConfigDict(
        extra="forbid",
        # The items are raw on purpose (see above); the contract still documents their shape.
        json_schema_extra=lambda schema: schema["properties"]["events"].update(
            items={"$ref": "#/components/schemas/TrackingEvent"}
        ),
    )

    events: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)


class Rejection(BaseModel):
    index: int
    errors: list[str]


class CollectResult(BaseModel):
    accepted: int
    rejected: list[Rejection]
    changed: list[Rejection] = Field(default_factory=list, description="Accepted items recorded differently, and why "
                                     "(a storefront purchase is a view of the order page: revenue comes from the backend)")
    withheld: int = Field(default=0, description="Accepted browsing not stored: the person has not consented to analytics "
                          "or personalization (counted only as an anonymous total)")


class Unsubscribed(BaseModel):
    customer_id: str
    unsubscribed: bool = Field(description="The e-mail marketing consent is withdrawn (the privacy context records it)")


class InteractionCounts(BaseModel):
    total: int
    by_type: dict[str, int]


class AttributeValue(BaseModel):
    """A value with its lineage: which source set it, and when."""

    value: Any
    source: str
    at: datetime


class OrderSummary(BaseModel):
    order_count: int
    revenue: dict[str, Decimal] = Field(description="Per currency")
    first_order_at: datetime | None
    last_order_at: datetime | None


class CampaignEngagement(BaseModel):
    event_counts: dict[str, int]
    last_engaged_at: datetime | None
    unsubscribed: bool


class ProfileView(BaseModel):
    profile_id: str = Field(description="The customer id, or the anonymous id of a visitor not identified yet")
    linked_ids: list[str] = Field(default_factory=list, description="Anonymous ids linked to this customer")
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    orders: OrderSummary | None = None
    campaign_engagement: CampaignEngagement | None = None
    interactions: InteractionCounts = Field(default_factory=lambda: InteractionCounts(total=0, by_type={}))
    recent_interactions: list[RecentInteraction] = Field(default_factory=list, description="Newest first, up to 20, kept 90 days")
    segments: list[str] = Field(default_factory=list, description="e.g. rfm:champions, lifecycle:at_risk, persona:runner")
    segment_detail: dict[str, Any] = Field(default_factory=dict, description="RFM scores, churn risk, top categories and brands, search terms")
    data_quality: dict[str, Any] | None = Field(default=None, description="Score 0-100 with completeness, freshness and missing key fields")


class SegmentCount(BaseModel):
    name: str
    count: int


class SegmentCounts(BaseModel):
    computed_at: datetime
    as_of: datetime = Field(description="The date segments were computed for (the newest order for historical data)")
    profiles: int
    segments: list[SegmentCount]


class FieldReport(BaseModel):
    """Fill is not validity: a filled e-mail may still be invalid."""

    filled: int
    valid: int
    fill_rate: float = Field(description="filled / rows that could be split into fields")
    validity_rate: float = Field(description="valid / filled")


class ImportReport(BaseModel):
    """One dropped export. rows_read = accepted + duplicates + quarantined + suppressed."""

    import_id: str
    status: Literal["received", "running", "completed", "failed"]
    kind: Literal["customers", "orders", "campaign"] | None = None
    source: str = Field(default="default", description="The exporting system: `<kind>/<source>/file`, else `default`")
    bucket: str
    key: str
    size_bytes: int
    etag: str
    received_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    rows_read: int = 0
    rows_parsed: int = Field(default=0, description="Rows that could be split into fields (the base of fill rates)")
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    suppressed: int = Field(default=0, description="Rows of erased people, skipped (GDPR Art. 17 suppression list)")
    profiles_written: int = 0
    fields: dict[str, FieldReport] = Field(default_factory=dict)
    unmapped_columns: list[str] = Field(default_factory=list)
    quarantine_key: str | None = Field(default=None, description="Quarantine object: one JSON line per rejected row")
    failure_reason: str | None = None


class RegisteredMapping(BaseModel):
    kind: Literal["customers", "orders", "campaign"]
    source: str
    mapping: ColumnMapping


class MappingList(BaseModel):
    mappings: list[RegisteredMapping]


class ImportList(BaseModel):
    imports: list[ImportReport]


class SourceQuality(BaseModel):
    """Data quality of one source of one kind, over all its completed imports."""

    kind: Literal["customers", "orders", "campaign"]
    source: str
    imports: int = Field(description="Completed imports")
    failed_imports: int
    last_import_at: datetime | None = Field(description="When the newest completed import finished")
    days_since_last_import: float | None = Field(description="Freshness of this source's data")
    rows_read: int
    accepted: int
    duplicates: int
    quarantined: int
    duplicate_rate: float = Field(description="duplicates / rows read")
    quarantine_rate: float = Field(description="quarantined / rows read")
    fields: dict[str, FieldReport] = Field(description="Per field, summed over imports: fill is not validity")


class ProfileQuality(BaseModel):
    """Per-profile quality scores rolled up, as of the last full segment run."""

    computed_at: datetime
    scored_profiles: int = Field(description="Profiles with imported attributes (anonymous visitors have no score)")
    mean_score: float | None
    score_bands: dict[str, int] = Field(description="Profiles per score band: poor 0-49, fair 50-79, good 80-100")
    missing_fields: dict[str, int] = Field(description="Profiles missing each key field")
    possible_duplicates: int = Field(description="Profiles sharing an e-mail or phone with another profile")


class QualityReport(BaseModel):
    sources: list[SourceQuality]
    profiles: ProfileQuality | None = Field(description="None until segments have been computed once")
