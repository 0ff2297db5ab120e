"""Environment of the experiments functions; each loads only what it is granted."""

from typing import Literal

from pydantic import Field

from shared.settings import PersonaSettings


class TableSettings(PersonaSettings):
    experiments_table_name: str


class BusSettings(PersonaSettings):
    event_bus_name: str


class ExportsSettings(PersonaSettings):
    exports_bucket_name: str


class AssignmentSettings(PersonaSettings):
    # Share of all units that never see an experiment or personalization (set once, never changed).
    global_holdout_share: float = Field(default=0.05, ge=0, le=0.5)
    # How long a container serves its list of running experiments before re-reading it.
    experiments_refresh_s: float = Field(default=30.0, ge=0)
    consent_default_policy: Literal["eu", "opt_out"] = "eu"
