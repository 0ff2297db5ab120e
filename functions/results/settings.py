"""Environment of the results functions; each loads only what it is granted."""

from pydantic import Field

from shared.settings import PersonaSettings


class TableSettings(PersonaSettings):
    results_table_name: str


class BusSettings(PersonaSettings):
    event_bus_name: str


class ExportsSettings(PersonaSettings):
    exports_bucket_name: str


class ProgramSettings(PersonaSettings):
    # The same share experiments and recommend hold out (set once in the topology).
    global_holdout_share: float = Field(default=0.05, ge=0, le=0.5)
