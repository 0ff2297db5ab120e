"""The privacy service on this function's resources (built once per container)."""

from __future__ import annotations

from functions.privacy.service import Privacy
from functions.privacy.settings import (
    BusSettings,
    ContactKeySettings,
    CustomerIdSettings,
    ExportsSettings,
    KeySettings,
)
from functions.privacy.store import privacy_store
from shared import settings
from shared.aws.events import EventPublisher
from shared.aws.s3 import ObjectStore
from shared.aws.secrets import secret_value


@settings.per_container
def _publisher() -> EventPublisher:
    return EventPublisher(settings.load(BusSettings).event_bus_name)


@settings.per_container
def exports() -> ObjectStore:
    return ObjectStore(settings.load(ExportsSettings).exports_bucket_name)


def _key() -> str:
    return secret_value(settings.load(KeySettings).privacy_keys_secret_name)  # cached by Powertools parameters


def _contact_key() -> str:
    return secret_value(settings.load(ContactKeySettings).contact_keys_secret_name)


def privacy(correlation_id: str) -> Privacy:
    return Privacy(privacy_store(), _publisher(), key_source=_key, contact_key_source=_contact_key,
                   correlation_id=correlation_id, customer_id_pattern=settings.load(CustomerIdSettings).customer_id_pattern)
