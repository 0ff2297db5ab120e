"""Environment of the recommend functions; each loads only what it is granted."""

from typing import Literal

from pydantic import Field

from shared.settings import PersonaSettings


class TableSettings(PersonaSettings):
    recommend_table_name: str


class ModelsSettings(PersonaSettings):
    models_bucket_name: str
    # How often a container looks for a newly published model, catalog or rules.
    model_check_interval_s: float = Field(default=60.0, ge=0)


class ConsentPolicySettings(PersonaSettings):
    # What an unknown visitor (no consent recorded) gets: EU default, nothing personal.
    consent_default_policy: Literal["eu", "opt_out"] = "eu"
    # The program's global holdout (shared with experiments): never personalized.
    global_holdout_share: float = Field(default=0.05, ge=0, le=0.5)


class BusSettings(PersonaSettings):
    event_bus_name: str


class ExportsSettings(PersonaSettings):
    exports_bucket_name: str
