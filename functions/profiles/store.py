"""Persistence of the profiles context (one DynamoDB table, pk/sk)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from functions.profiles import quality
from functions.profiles.crm_import import merge
from functions.profiles.crm_import.mapping import KINDS, ColumnMapping
from functions.profiles.imports import Progress
from functions.profiles.interaction_counts import (
    SEARCHED,
    counters_from_item,
    counts_from_item,
    increments,
    names_anything,
    search_terms,
)
from functions.profiles.schemas import (
    CampaignEngagement,
    ImportReport,
    InteractionCounts,
    InteractionRecorded,
    OrderSummary,
    ProfileQuality,
    ProfileView,
    QualityReport,
    RecentInteraction,
    RegisteredMapping,
    SegmentCount,
    SegmentCounts,
    SourceQuality,
)
from functions.profiles.segmentation import Base, Outcome, ProfileInputs, SegmentRecord
from functions.profiles.settings import TableSettings
from shared import settings
from shared.aws.dynamodb import Add, Delete, DynamoTable, Put
from shared.catalog import CatalogPublished
from shared.consent import ConsentChanged

if TYPE_CHECKING:  # the pipeline (and its row models) is only loaded by the import function
    from functions.profiles.crm_import.pipeline import Chunk

# Long enough to cover any redelivery (SQS keeps messages at most 14 days).
DEDUP_WINDOW = timedelta(days=15)
IMPORTS_PK = "IMPORTS"
IMPORT_PROGRESS_PREFIX = "IMPORT#"  # sk PROGRESS: counts only, no personal data
IMPORT_PROGRESS_KEPT = timedelta(days=30)  # as long as the drop bucket keeps the export
RECENT_PREFIX = "RECENT#"
RECENT_KEPT = timedelta(days=90)  # DynamoDB TTL removes older interactions
RECENT_SHOWN = 20
MAPPING_PREFIX = "MAPPING#"
SUPPRESSED_PK = "SUPPRESSED"  # keyed hashes of erased people's identifiers
SEGMENTS_PK = "SEGMENTS"
CUSTOMER_PREFIX = "CUSTOMER#"
# One item per customer and kind of import data, so a chunk touches one item per customer.
CHUNK_SORT_KEYS = {"customers": "ATTRIBUTES", "orders": "ORDERS", "campaign": "CAMPAIGN"}
# Every item of a customer profile (read by key: cheaper than a query, and O(1) in moto).
PROFILE_SORT_KEYS = (*CHUNK_SORT_KEYS.values(), "LINKS", "SEGMENTS", "LIMITS")
# What only a CRM import writes: a profile holding one of these is a customer on record (an import could bring them back).
CUSTOMER_RECORD_KEYS = frozenset(CHUNK_SORT_KEYS.values())


CATALOG_PK = "CATALOG"  # the published catalog's vocabulary (shared/catalog.py)
# The projection of ConsentChanged per subject (customer or anonymous id): what browsing may be stored and
# segmented. Its own partition, so that a consent alone makes no profile.
CONSENT_PREFIX = "CONSENT#"
VISITOR_PREFIX = "VISITOR#"


def _visitor_key(visitor_id: str) -> dict[str, str]:
    return {"pk": f"{VISITOR_PREFIX}{visitor_id}", "sk": "COUNTS"}


def _recent_item(profile_id: str, interaction: InteractionRecorded, now: datetime) -> dict:
    recent = RecentInteraction.model_validate(interaction.model_dump(include=set(RecentInteraction.model_fields)))
    return {
        "pk": f"{RECENT_PREFIX}{profile_id}",
        "sk": f"{interaction.occurred_at.isoformat()}#{interaction.interaction_id}",
        "interaction": recent.model_dump_json(exclude_none=True),
        "expires_at": int((now + RECENT_KEPT).timestamp()),
    }


def _link_key(anonymous_id: str) -> dict[str, str]:
    return {"pk": f"IDENTITY#{anonymous_id}", "sk": "LINK"}


class ProfileStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def count_interaction(self, interaction: InteractionRecorded, profile_id: str, now: datetime) -> bool:
        """Count the interaction on the profile and keep it among the recent ones, once;
        False if it was recorded before (one transaction with a dedup marker)."""
        # The names already counted (each kind is capped), read only when this interaction adds one.
        counted = (self.table.get(_visitor_key(profile_id)) or {}) if names_anything(interaction) else None
        return self.table.transact([
            Put({"pk": f"INTERACTION#{interaction.interaction_id}", "sk": "COUNTED",
                 "expires_at": int((now + DEDUP_WINDOW).timestamp())}, only_if_absent=True),
            Add(_visitor_key(profile_id), increments(interaction, counted), _searched(search_terms(interaction, counted))),
            Put(_recent_item(profile_id, interaction, now)),
        ])

    def recent_interactions(self, profile_id: str, limit: int = RECENT_SHOWN) -> list[RecentInteraction]:
        items = self.table.query("pk", f"{RECENT_PREFIX}{profile_id}", limit=limit, newest_first=True)
        return [RecentInteraction.model_validate_json(item["interaction"]) for item in items]

    def _move_recent(self, from_id: str, to_id: str) -> None:
        items = self.table.query("pk", f"{RECENT_PREFIX}{from_id}")
        self.table.put_many({**item, "pk": f"{RECENT_PREFIX}{to_id}"} for item in items)
        self.table.delete_many({"pk": item["pk"], "sk": item["sk"]} for item in items)

    def resolve(self, profile_id: str) -> str:
        """The customer an anonymous id was linked to, else the id itself."""
        link = self.table.get(_link_key(profile_id))
        return link["customer_id"] if link else profile_id

    def link(self, anonymous_id: str, customer_id: str, now: datetime) -> bool:
        """Link an anonymous id to a customer and move what was counted under it.

        One transaction, only if the anonymous id is not linked yet (the first
        identification wins; later ones from a shared device change nothing).
        """
        if anonymous_id == customer_id:
            return False
        anonymous_counts = self.table.get(_visitor_key(anonymous_id), consistent=True) or {}
        moved = counters_from_item(anonymous_counts)
        searched = _searched(frozenset(anonymous_counts.get(SEARCHED, ())))
        actions = [
            Put({**_link_key(anonymous_id), "customer_id": customer_id, "linked_at": now.isoformat()}, only_if_absent=True),
            Add({"pk": f"{CUSTOMER_PREFIX}{customer_id}", "sk": "LINKS"}, string_sets={"anonymous_ids": frozenset({anonymous_id})}),
        ]
        if moved:
            actions += [Add(_visitor_key(customer_id), moved, searched), Delete(_visitor_key(anonymous_id))]
        linked = self.table.transact(actions)
        if linked:
            self._move_recent(anonymous_id, customer_id)  # idempotent: a retry moves what is left
        return linked

    def interaction_counts(self, visitor_id: str) -> InteractionCounts | None:
        item = self.table.get(_visitor_key(visitor_id))
        return counts_from_item(item) if item else None

    def profile(self, any_id: str) -> ProfileView | None:
        """Everything known of the person behind a customer or anonymous id."""
        profile_id = self.resolve(any_id)
        keys = [{"pk": f"{CUSTOMER_PREFIX}{profile_id}", "sk": sk} for sk in PROFILE_SORT_KEYS]
        imported = {item["sk"]: item for item in self.table.get_many(keys)}
        counts = self.interaction_counts(profile_id)
        if not imported and counts is None:
            return None
        view = ProfileView(
            profile_id=profile_id,
            linked_ids=sorted(imported.get("LINKS", {}).get("anonymous_ids", set())),
            attributes=imported.get("ATTRIBUTES", {}).get("attributes", {}),
        )
        if counts is not None:
            view.interactions = counts
            view.recent_interactions = self.recent_interactions(profile_id)
        if "ORDERS" in imported:
            view.orders = OrderSummary.model_validate(imported["ORDERS"])
        if "CAMPAIGN" in imported:
            view.campaign_engagement = CampaignEngagement.model_validate(imported["CAMPAIGN"])
        if "SEGMENTS" in imported:
            detail = json.loads(imported["SEGMENTS"]["detail"])
            view.segments = list(imported["SEGMENTS"]["labels"])
            view.segment_detail = {k: v for k, v in detail.items() if k != "quality"}
            view.data_quality = detail.get("quality")
        return view

    def segmentation_inputs(self) -> dict[str, ProfileInputs]:
        """What segments are computed from, for every profile (one scan of the table)."""
        profiles: dict[str, ProfileInputs] = {}
        consents: dict[str, str] = {}
        for item in self.table.scan():
            pk, sk = item["pk"], item["sk"]
            if pk.startswith(CUSTOMER_PREFIX) or (pk.startswith(VISITOR_PREFIX) and sk == "COUNTS"):
                profile_id = pk.removeprefix(CUSTOMER_PREFIX).removeprefix(VISITOR_PREFIX)
                self._add_input(profiles.setdefault(profile_id, ProfileInputs()), sk, item)
            elif pk.startswith(CONSENT_PREFIX):
                consents[pk.removeprefix(CONSENT_PREFIX)] = item["state"]
        for profile_id, state in consents.items():  # a consent alone makes no profile
            if profile_id in profiles:
                profiles[profile_id].consent = ConsentChanged.model_validate_json(state)
        return profiles

    def save_segments(self, outcome: Outcome, computed_at: datetime) -> None:
        self.table.put_many(
            {"pk": f"{CUSTOMER_PREFIX}{r.profile_id}", "sk": "SEGMENTS", "labels": r.labels, "detail": r.detail,
             "computed_at": computed_at.isoformat()}
            for r in outcome.records
        )
        self.table.put({
            "pk": SEGMENTS_PK, "sk": "COUNTS", "counts": json.dumps(outcome.counts), "profiles": outcome.profiles,
            "as_of": outcome.base.as_of.isoformat(), "computed_at": computed_at.isoformat(), "base": outcome.base.to_json(),
            "quality": json.dumps(outcome.quality),
        })

    def segment_base(self) -> Base | None:
        item = self.table.get({"pk": SEGMENTS_PK, "sk": "COUNTS"})
        return Base.from_json(item["base"]) if item and "base" in item else None

    def profile_inputs(self, profile_id: str) -> ProfileInputs:
        """One profile's segmentation inputs, read by key."""
        keys = [{"pk": f"{CUSTOMER_PREFIX}{profile_id}", "sk": sk} for sk in PROFILE_SORT_KEYS] + [_visitor_key(profile_id)]
        inputs = ProfileInputs()
        for item in self.table.get_many([*keys, _consent_key(profile_id)]):
            if item["pk"].startswith(CONSENT_PREFIX):
                inputs.consent = ConsentChanged.model_validate_json(item["state"])
            else:
                self._add_input(inputs, item["sk"], item)
        return inputs

    @staticmethod
    def _add_input(inputs: ProfileInputs, sort_key: str, item: dict) -> None:
        if sort_key == "ORDERS":
            inputs.orders = item["orders"]
        elif sort_key == "CAMPAIGN":
            inputs.campaign = {"unsubscribed": item.get("unsubscribed"), "last_engaged_at": item.get("last_engaged_at")}
        elif sort_key == "ATTRIBUTES":
            inputs.attributes = item["attributes"]
        elif sort_key == "SEGMENTS":
            inputs.previous_labels, inputs.previous_detail = list(item["labels"]), item["detail"]
        elif sort_key == "COUNTS":
            inputs.counters = counters_from_item(item)
            inputs.searched = sorted(item.get(SEARCHED, ()))
        elif sort_key == "LIMITS":
            inputs.profiling_stopped = True

    def save_segment_record(self, record: SegmentRecord, computed_at: datetime) -> None:
        self.table.put({"pk": f"{CUSTOMER_PREFIX}{record.profile_id}", "sk": "SEGMENTS", "labels": record.labels,
                        "detail": record.detail, "computed_at": computed_at.isoformat()})

    def segment_counts(self) -> SegmentCounts | None:
        item = self.table.get({"pk": SEGMENTS_PK, "sk": "COUNTS"})
        if item is None:
            return None
        return SegmentCounts(
            computed_at=item["computed_at"], as_of=item["as_of"], profiles=int(item["profiles"]),
            segments=[SegmentCount(name=n, count=c) for n, c in json.loads(item["counts"]).items()],
        )

    def quality_report(self, now: datetime) -> QualityReport:
        sources = quality.source_quality(self.imports(limit=None), now)
        item = self.table.get({"pk": SEGMENTS_PK, "sk": "COUNTS"})
        profiles = None
        if item is not None and "quality" in item:
            profiles = ProfileQuality(computed_at=item["computed_at"], **json.loads(item["quality"]))
        return QualityReport(sources=[SourceQuality(**s) for s in sources], profiles=profiles)

    def save_mapping(self, kind: str, source: str, mapping: ColumnMapping) -> None:
        self.table.put({"pk": f"{MAPPING_PREFIX}{kind}", "sk": source, "mapping": mapping.model_dump_json(exclude_defaults=True)})

    def mapping(self, kind: str, source: str) -> ColumnMapping | None:
        item = self.table.get({"pk": f"{MAPPING_PREFIX}{kind}", "sk": source})
        return ColumnMapping.model_validate_json(item["mapping"]) if item else None

    def mappings(self) -> list[RegisteredMapping]:
        out = []
        for kind in KINDS:
            for item in self.table.query("pk", f"{MAPPING_PREFIX}{kind}"):
                out.append(RegisteredMapping(kind=kind, source=item["sk"], mapping=ColumnMapping.model_validate_json(item["mapping"])))
        return out

    def register_import(self, report: ImportReport) -> bool:
        return self.table.put_if_absent(self._import_item(report))

    def save_import(self, report: ImportReport) -> None:
        self.table.put(self._import_item(report))

    def import_progress(self, import_id: str) -> Progress:
        item = self.table.get({"pk": f"{IMPORT_PROGRESS_PREFIX}{import_id}", "sk": "PROGRESS"}, consistent=True)
        return Progress(*(int(item[f]) for f in Progress._fields)) if item else Progress()

    def save_import_progress(self, import_id: str, progress: Progress, now: datetime) -> None:
        self.table.put({"pk": f"{IMPORT_PROGRESS_PREFIX}{import_id}", "sk": "PROGRESS", **progress._asdict(),
                        "expires_at": int((now + IMPORT_PROGRESS_KEPT).timestamp())})

    @staticmethod
    def _import_item(report: ImportReport) -> dict:
        # Rates are floats in the model; DynamoDB wants Decimal, so the report is stored as JSON text.
        return {"pk": IMPORTS_PK, "sk": report.import_id, "received_at": report.received_at.isoformat(), "report": report.model_dump_json()}

    def merge_chunk(self, chunk: Chunk, *, source: str, at: str) -> tuple[int, int, dict[str, str | None]]:
        """Merge a chunk of per-customer aggregates into stored profiles.

        One batched read and at most one write per customer in the chunk.
        Returns (profiles written, rows found already stored, each customer's e-mail on file
        afterwards: None when unknown, as after an orders or campaign chunk).
        """
        sort_key = CHUNK_SORT_KEYS[chunk.kind]
        keys = [{"pk": f"{CUSTOMER_PREFIX}{cid}", "sk": sort_key} for cid in chunk.profiles]
        stored = {item["pk"]: item for item in self.table.get_many(keys)}
        writes: list[dict] = []
        duplicates = 0
        emails: dict[str, str | None] = dict.fromkeys(chunk.profiles)
        for key, (customer_id, incoming) in zip(keys, chunk.profiles.items()):
            current = stored.get(key["pk"])
            if chunk.kind == "customers":
                attributes, changed = merge.merge_attributes(current, incoming, source=source, at=at)
                emails[customer_id] = attributes["email"]["value"] if "email" in attributes else None
                if changed:
                    writes.append({**key, "customer_id": customer_id, "attributes": attributes})
                else:
                    duplicates += 1
                continue
            merged, found = (merge.merge_orders if chunk.kind == "orders" else merge.merge_campaign_events)(current, incoming)
            duplicates += found
            if found < len(incoming):
                writes.append({**key, "customer_id": customer_id, **merged})
        self.table.put_many(writes)
        return len(writes), duplicates, emails

    # ------------------------------------------------------------ privacy requests
    def identifiers(self, subject_id: str) -> set[str]:
        """The subject, the customer it was linked to and that customer's anonymous ids."""
        profile_id = self.resolve(subject_id)
        links = self.table.get({"pk": f"{CUSTOMER_PREFIX}{profile_id}", "sk": "LINKS"}) or {}
        return {subject_id, profile_id, *links.get("anonymous_ids", set())}

    def _profile_of(self, subject_id: str, covered: set[str] | None) -> str:
        """The profile a privacy request acts on: the customer the id was linked to only if the request covers it."""
        profile_id = self.resolve(subject_id)
        return profile_id if covered is None or profile_id in covered else subject_id

    def _subject_items(self, subject_id: str, covered: set[str] | None = None) -> tuple[str, list[dict], list[str]]:
        """(profile id, every stored item about the person, their linked anonymous ids), within the ids a request
        `covered` (fixed when it was verified; None: every linked id)."""
        profile_id = self._profile_of(subject_id, covered)
        keys = [{"pk": f"{CUSTOMER_PREFIX}{profile_id}", "sk": sk} for sk in PROFILE_SORT_KEYS] + [_visitor_key(profile_id),
                                                                                                  _consent_key(profile_id)]
        items = self.table.get_many(keys)
        anonymous_ids = sorted(a for a in next((i["anonymous_ids"] for i in items if i["sk"] == "LINKS"), set())
                               if covered is None or a in covered)
        # Before identifying, a visitor had a profile of its own (counts, segments): it is theirs too.
        more_keys = [k for a in anonymous_ids for k in (_link_key(a), _visitor_key(a), _consent_key(a),
                                                        *({"pk": f"{CUSTOMER_PREFIX}{a}", "sk": sk} for sk in PROFILE_SORT_KEYS))]
        items += self.table.get_many(more_keys) if more_keys else []
        for visitor in (profile_id, *anonymous_ids):
            items += self.table.query("pk", f"{RECENT_PREFIX}{visitor}")
        return profile_id, items, anonymous_ids

    def subject_export(self, subject_id: str, covered: set[str] | None = None) -> dict[str, list[dict]]:
        """Everything held about the person, as tables of rows (access and portability)."""
        profile_id, items, anonymous_ids = self._subject_items(subject_id, covered)
        by_sk = {i["sk"]: i for i in items if i["pk"] == f"{CUSTOMER_PREFIX}{profile_id}"}
        tables: dict[str, list[dict]] = {
            "identity": [{"profile_id": profile_id, "linked_anonymous_id": a} for a in anonymous_ids] or [{"profile_id": profile_id}],
            "attributes": [{"attribute": n, **a} for n, a in sorted(by_sk.get("ATTRIBUTES", {}).get("attributes", {}).items())],
            "orders": [dict(zip(("order_id", *merge.ORDER_FIELDS), (oid, *facts), strict=True))
                       for oid, facts in sorted(by_sk.get("ORDERS", {}).get("orders", {}).items())],
            "campaign_reactions": [dict(zip(("campaign_id", "event", "at"), facts, strict=True))
                                   for facts in by_sk.get("CAMPAIGN", {}).get("events", {}).values()],
            "interaction_counts": [{"counter": k, "count": v} for i in items if i["sk"] == "COUNTS"
                                   for k, v in sorted(counters_from_item(i).items())],
            "search_terms": [{"term": t} for i in items if i["sk"] == "COUNTS" for t in sorted(i.get(SEARCHED, ()))],
            "recent_interactions": [json.loads(i["interaction"]) for i in items if i["pk"].startswith(RECENT_PREFIX)],
            "segments": [{"labels": sorted(by_sk["SEGMENTS"]["labels"]), "detail": json.loads(by_sk["SEGMENTS"]["detail"])}]
            if "SEGMENTS" in by_sk else [],
        }
        if not (set(by_sk) - {"LINKS"}) and not tables["interaction_counts"] and not tables["recent_interactions"]:
            return {}  # nothing held: an empty part, not a fabricated identity row
        return {name: json.loads(json.dumps(rows, default=str)) for name, rows in tables.items()}

    def erase_subject(self, subject_id: str, covered: set[str] | None = None) -> tuple[int, set[str], set[str]]:
        """Delete every item about the person. (items deleted, identifiers they were known by, the CRM identifiers
        their own stored record holds: customer id, e-mail and phone, for the suppression list; none when no customer
        record was held)."""
        profile_id, items, anonymous_ids = self._subject_items(subject_id, covered)
        attributes = next((i["attributes"] for i in items if i["sk"] == "ATTRIBUTES"), {})
        contacts = {str(attributes[f]["value"]) for f in ("email", "phone") if f in attributes}
        identifiers = {subject_id, profile_id, *anonymous_ids, *contacts}
        customer_record = any(i["pk"] == f"{CUSTOMER_PREFIX}{profile_id}" and i["sk"] in CUSTOMER_RECORD_KEYS for i in items)
        on_record = {profile_id, *contacts} if customer_record else set()
        deleted = self.table.delete_many({"pk": i["pk"], "sk": i["sk"]} for i in items)
        return deleted, identifiers, on_record

    def profiling_stopped(self, profile_id: str) -> bool:
        return self.table.get({"pk": f"{CUSTOMER_PREFIX}{profile_id}", "sk": "LIMITS"}, consistent=True) is not None

    def set_profiling_stopped(self, subject_id: str, stopped: bool) -> str:
        """Mark (or unmark) the person as not to be profiled; returns their profile id."""
        profile_id = self.resolve(subject_id)
        key = {"pk": f"{CUSTOMER_PREFIX}{profile_id}", "sk": "LIMITS"}
        if stopped:
            self.table.put({**key, "customer_id": profile_id})
        else:
            self.table.delete_many([key])
        return profile_id

    def suppress(self, pseudonyms: set[str], now: datetime) -> None:
        self.table.put_many({"pk": SUPPRESSED_PK, "sk": p, "suppressed_at": now.isoformat()} for p in pseudonyms)

    def save_consent(self, changed: ConsentChanged) -> None:
        """The subject's latest ConsentChanged (an older one arriving late changes nothing)."""
        self.table.put_if_newer({**_consent_key(changed.subject_id), "changed_at": changed.changed_at.isoformat(),
                                 "state": changed.model_dump_json()}, "changed_at")

    def consents(self, subject_ids: set[str]) -> dict[str, ConsentChanged]:
        found = self.table.get_many([_consent_key(s) for s in sorted(subject_ids)]) if subject_ids else []
        return {i["pk"].removeprefix(CONSENT_PREFIX): ConsentChanged.model_validate_json(i["state"]) for i in found}

    def save_vocabulary(self, vocabulary: CatalogPublished) -> None:
        """The published catalog's words (CatalogPublished): the latest wins."""
        self.table.put({"pk": CATALOG_PK, "sk": "VOCABULARY", "vocabulary": vocabulary.model_dump_json()})

    def vocabulary(self) -> CatalogPublished | None:
        item = self.table.get({"pk": CATALOG_PK, "sk": "VOCABULARY"})
        return CatalogPublished.model_validate_json(item["vocabulary"]) if item else None

    def suppression_list(self) -> frozenset[str]:
        return frozenset(i["sk"] for i in self.table.query("pk", SUPPRESSED_PK))

    def rectify(self, subject_id: str, corrections: dict[str, str], at: str, covered: set[str] | None = None) -> tuple[str, int]:
        """Corrected attributes, with the data subject as their source (wins over later imports).
        (profile id, attributes corrected)."""
        profile_id = self._profile_of(subject_id, covered)
        key = {"pk": f"{CUSTOMER_PREFIX}{profile_id}", "sk": "ATTRIBUTES"}
        current = self.table.get(key, consistent=True)
        if current is None:  # nothing held to correct: a rectification never creates a profile
            return profile_id, 0
        attributes, changed = merge.merge_attributes(current, corrections, source=merge.DATA_SUBJECT, at=at)
        if changed:
            self.table.put({**key, "customer_id": profile_id, "attributes": attributes})
        return profile_id, len(corrections) if changed else 0

    def imports(self, limit: int | None = 100) -> list[ImportReport]:
        items = self.table.query("pk", IMPORTS_PK)
        reports = [ImportReport.model_validate_json(item["report"]) for item in items]
        return sorted(reports, key=lambda r: r.received_at, reverse=True)[:limit]

    def get_import(self, import_id: str) -> ImportReport | None:
        item = self.table.get({"pk": IMPORTS_PK, "sk": import_id}, consistent=True)
        return ImportReport.model_validate_json(item["report"]) if item else None


@settings.per_container
def profile_store() -> ProfileStore:
    """The store on the table named by this function's environment (one per container)."""
    return ProfileStore(DynamoTable(settings.load(TableSettings).profiles_table_name))


def _consent_key(subject_id: str) -> dict[str, str]:
    return {"pk": f"{CONSENT_PREFIX}{subject_id}", "sk": "STATE"}


def _searched(terms: frozenset[str]) -> dict[str, frozenset[str]]:
    """The string-set part of an Add (DynamoDB refuses an empty set)."""
    return {SEARCHED: terms} if terms else {}
