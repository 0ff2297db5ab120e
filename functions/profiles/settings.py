"""Environment of the profiles functions; each function loads only what it is granted."""

from shared.consent import DefaultPolicy, LawfulBasis
from shared.settings import PersonaSettings


class TableSettings(PersonaSettings):
    profiles_table_name: str


class BusSettings(PersonaSettings):
    event_bus_name: str


class QuarantineSettings(PersonaSettings):
    quarantine_bucket_name: str


class KeySettings(PersonaSettings):
    profiles_keys_secret_name: str


class ExportsSettings(PersonaSettings):
    exports_bucket_name: str


class DropSettings(PersonaSettings):
    crm_drop_bucket_name: str


class ContactKeySettings(PersonaSettings):
    contact_keys_secret_name: str


class ProcessingSettings(PersonaSettings):
    """The lawful basis of each processing of storefront behaviour (docs/security.md). EU default: consent."""

    # Storing browsing (views, searches, carts, e-mail clicks): needs analytics or personalization consent.
    browsing_basis: LawfulBasis = "consent"
    # Behaviour and affinity segments made of it: need profiling consent.
    behaviour_segments_basis: LawfulBasis = "consent"
    # A subject the profiles context has no ConsentChanged for.
    consent_default_policy: DefaultPolicy = "eu"
