"""The experiments services on this function's resources (built once per container)."""

from __future__ import annotations

from functions.experiments.service import Assigner
from functions.experiments.settings import AssignmentSettings, BusSettings
from functions.experiments.store import experiments_store
from shared import settings
from shared.aws.events import EventPublisher


@settings.per_container
def publisher() -> EventPublisher:
    return EventPublisher(settings.load(BusSettings).event_bus_name)


@settings.per_container
def assigner() -> Assigner:
    config = settings.load(AssignmentSettings)
    return Assigner(experiments_store(), publisher(), config.global_holdout_share, config.consent_default_policy,
                    config.experiments_refresh_s)
