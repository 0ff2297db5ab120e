"""Environment of the privacy functions; each loads only what it is granted."""

from pydantic import Field

from shared.settings import PersonaSettings


class TableSettings(PersonaSettings):
    privacy_table_name: str


class BusSettings(PersonaSettings):
    event_bus_name: str


class ExportsSettings(PersonaSettings):
    exports_bucket_name: str


class KeySettings(PersonaSettings):
    privacy_keys_secret_name: str


class ContactKeySettings(PersonaSettings):
    contact_keys_secret_name: str


class CustomerIdSettings(PersonaSettings):
    # Optional (`cdk deploy -c customer_id_pattern=...`): ids of this shape are customers' even before Persona
    # has heard of them, so nobody can set their consents or file a request for them ahead of the customer.
    customer_id_pattern: str = ""


class OrchestrationSettings(PersonaSettings):
    # Set from the topology: every context that consumes PrivacyRequestAccepted.
    privacy_contexts: str = Field(min_length=1)

    @property
    def contexts(self) -> list[str]:
        return sorted(c for c in self.privacy_contexts.split(",") if c)


class SiteSettings(PersonaSettings):
    # Where the privacy centre lives: links in verification messages point there.
    # Never taken from the request (an Origin header would let anyone phish tokens).
    persona_site_url: str = ""
