"""Persistence of the profiles context (one DynamoDB table, pk/sk)."""

from __future__ import annotations

from datetime import datetime, timedelta

from functions.profiles.interaction_counts import counts_from_item, increments, visitor_ids
from functions.profiles.schemas import ImportReport, InteractionCounts, InteractionRecorded
from functions.profiles.settings import TableSettings
from shared import settings
from shared.aws.dynamodb import DynamoTable

# Long enough to cover any redelivery (SQS keeps messages at most 14 days).
DEDUP_WINDOW = timedelta(days=15)
IMPORTS_PK = "IMPORTS"


def _visitor_key(visitor_id: str) -> dict[str, str]:
    return {"pk": f"VISITOR#{visitor_id}", "sk": "COUNTS"}


class ProfileStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def count_interaction(self, interaction: InteractionRecorded, now: datetime) -> bool:
        """Count the interaction for each of its visitor ids, once; False if it was seen before."""
        return self.table.increment_once(
            marker_key={"pk": f"INTERACTION#{interaction.interaction_id}", "sk": "COUNTED"},
            marker_expires_at=int((now + DEDUP_WINDOW).timestamp()),
            updates=[(_visitor_key(v), increments(interaction)) for v in visitor_ids(interaction)],
        )

    def interaction_counts(self, visitor_id: str) -> InteractionCounts | None:
        item = self.table.get(_visitor_key(visitor_id))
        return counts_from_item(item) if item else None

    def register_import(self, report: ImportReport) -> bool:
        item = {"pk": IMPORTS_PK, "sk": report.import_id, **report.model_dump(mode="json")}
        return self.table.put_if_absent(item)

    def imports(self, limit: int = 100) -> list[ImportReport]:
        items = self.table.query("pk", IMPORTS_PK)
        reports = [ImportReport.model_validate(item) for item in items]
        return sorted(reports, key=lambda r: r.received_at, reverse=True)[:limit]

    def get_import(self, import_id: str) -> ImportReport | None:
        item = self.table.get({"pk": IMPORTS_PK, "sk": import_id})
        return ImportReport.model_validate(item) if item else None


@settings.per_container
def profile_store() -> ProfileStore:
    """The store on the table named by this function's environment (one per container)."""
    return ProfileStore(DynamoTable(settings.load(TableSettings).profiles_table_name))
