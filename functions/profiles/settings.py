"""Environment of the profiles functions; each function loads only what it is granted."""

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
