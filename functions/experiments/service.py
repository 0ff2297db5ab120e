"""The experiments service: definitions and their life cycle (admin), and assignment of a
unit to the running experiments it qualifies for (storefront)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from functions.experiments import assignment
from functions.experiments.schemas import (
    TRANSITIONS,
    Assignment,
    AssignmentRequest,
    AssignmentResponse,
    ExperimentIn,
    ExperimentPatch,
    ExperimentView,
    Skipped,
    Targeting,
)
from functions.experiments.store import ExperimentsStore
from shared.aws.events import EventPublisher
from shared.bucketing import in_global_holdout
from shared.consent import ConsentChanged, DefaultPolicy, allowed
from shared.envelope import new_event
from shared.errors import BadRequest, Conflict, NotFound
from shared.exposures import ArmWeight, ExperimentChanged, ExposureContext, ExposureLogged


# ---------------------------------------------------------------- admin: definitions and life cycle
def changed_event(experiment: ExperimentView, correlation_id: str):
    """`ExperimentChanged` for results, which keeps its own copy of what it needs."""
    payload = ExperimentChanged(
        key=experiment.key, hypothesis=experiment.hypothesis, status=experiment.status,
        variants=[ArmWeight(key=a.key, weight=a.weight) for a in experiment.arms()],
        primary_metric=experiment.primary_metric, secondary_metrics=list(experiment.secondary_metrics),
        attribution_days=experiment.attribution_days, started_at=experiment.started_at, stopped_at=experiment.stopped_at,
        version=experiment.version,
    )
    return new_event("ExperimentChanged", payload, context="experiments", correlation_id=correlation_id)


def create(store: ExperimentsStore, spec: ExperimentIn, now: datetime) -> ExperimentView:
    experiment = ExperimentView(**spec.model_dump(), seed=spec.key, created_at=now)
    store.create(experiment)
    return experiment


def get(store: ExperimentsStore, key: str) -> ExperimentView:
    experiment = store.get(key)
    if experiment is None:
        raise NotFound(f"No experiment {key!r}.", code="experiment_not_found")
    return experiment


def change(store: ExperimentsStore, key: str, patch: ExperimentPatch, now: datetime) -> ExperimentView:
    """Apply a change. The variants of a running or stopped test never change (its results
    would mean nothing); their weights, coverage and targeting may, and units already
    assigned keep their variant (the sticky record wins, see assignment.py)."""
    current = get(store, key)
    fields = patch.model_dump(exclude_unset=True)
    status = fields.pop("status", None)
    if "variants" in fields and current.status != "draft" and [v["key"] for v in fields["variants"]] != [a.key for a in current.arms()]:
        raise Conflict(f"Experiment {key!r} is {current.status}: its variants cannot change (weights may). "
                       "Stop it and create a new one.", code="variants_locked")
    merged = {**current.model_dump(), **fields, "version": current.version + 1}
    if "variants" in fields:
        merged["factors"] = None
    try:
        changed = ExperimentView.model_validate(merged)
    except ValueError as exc:  # pydantic's ValidationError: the merged definition is not readable
        raise BadRequest(f"The change makes experiment {key!r} invalid: {exc}", code="invalid_change") from exc
    if status and status != current.status:
        if status not in TRANSITIONS[current.status]:
            raise Conflict(f"Experiment {key!r} cannot go from {current.status} to {status}.", code="invalid_transition")
        changed.status = status
        if status == "running":
            changed.started_at = now
            if changed.layer:
                changed.layer_range = _free_slice(store.all(), changed)
        else:
            changed.stopped_at = now
    store.replace(changed)
    return changed


def _free_slice(experiments: list[ExperimentView], starting: ExperimentView) -> tuple[float, float]:
    """The first gap of the layer wide enough for the experiment's share, among running ones."""
    taken = sorted(e.layer_range for e in experiments
                   if e.layer == starting.layer and e.status == "running" and e.layer_range and e.key != starting.key)
    start = 0.0
    for low, high in [*taken, (1.0, 1.0)]:
        if low - start >= starting.layer_share - 1e-9:
            return (round(start, 9), round(start + starting.layer_share, 9))
        start = max(start, high)
    raise Conflict(f"Layer {starting.layer!r} has no free share of {starting.layer_share:g}; stop an experiment in it or "
                   "take a smaller share.", code="layer_full")


# ---------------------------------------------------------------- storefront: assignment
def spec_of(experiment: ExperimentView) -> assignment.ExperimentSpec:
    return assignment.ExperimentSpec(
        key=experiment.key, seed=experiment.seed, status=experiment.status, coverage=experiment.coverage,
        variants=tuple(assignment.Variant(a.key, a.weight) for a in experiment.arms()),
        layer=experiment.layer if experiment.layer_range else None, layer_range=experiment.layer_range,
    )


def exclusion(state: ConsentChanged | None, policy: DefaultPolicy) -> str | None:
    """Why a unit takes part in no experiment. Measuring a test is analytics: it needs that
    consent (EU default: none for an unknown visitor); a restriction stops everything."""
    if state is None:
        return None if allowed(None, "analytics", policy) else "unknown_visitor"
    if state.restricted:
        return "restricted"
    return None if state.effective.get("analytics") else "no_consent"


def market_of(locale: str | None) -> str | None:
    """`de-DE` -> `DE`; a language alone names no market."""
    return locale.split("-", 1)[1] if locale and "-" in locale else None


def qualifies(targeting: Targeting, request: AssignmentRequest, segments: list[str] | None) -> bool | None:
    """True/False; None when the targeting needs profile data the unit did not allow."""
    context = request.context
    checks = [
        not targeting.markets or market_of(context.locale) in targeting.markets,
        not targeting.devices or context.device in targeting.devices,
        targeting.visitor is None or context.visitor == targeting.visitor,
        not targeting.traffic_sources or context.traffic_source in targeting.traffic_sources,
    ]
    if not all(checks):
        return False
    if targeting.segments:
        if segments is None:
            return None
        return bool(set(targeting.segments) & set(segments))
    return True


class Assigner:
    """Assigns units; keeps the running experiments for `refresh_s` per container."""

    def __init__(self, store: ExperimentsStore, publisher: EventPublisher, holdout_share: float, policy: DefaultPolicy,
                 refresh_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.publisher = store, publisher
        self.holdout_share, self.policy, self.refresh_s, self.clock = holdout_share, policy, refresh_s, clock
        self._running: list[tuple[ExperimentView, assignment.ExperimentSpec]] = []
        self._read_at: float | None = None

    def running(self) -> list[tuple[ExperimentView, assignment.ExperimentSpec]]:
        now = self.clock()
        if self._read_at is None or now - self._read_at >= self.refresh_s:
            self._running = [(e, spec_of(e)) for e in self.store.all() if e.status == "running"]
            self._read_at = now
        return self._running

    def assign(self, request: AssignmentRequest, now: datetime, correlation_id: str) -> AssignmentResponse:
        if not (request.user_id or request.anonymous_id):  # nobody the caller proved: in no experiment, nothing recorded
            return AssignmentResponse(unit_id=None, holdout=False, excluded_reason="unknown_visitor", assignments=[])
        unit, consents, segments = self.store.unit_state(request.user_id, request.anonymous_id)
        if in_global_holdout(unit, self.holdout_share):
            return AssignmentResponse(unit_id=unit, holdout=True, excluded_reason="holdout", assignments=[])
        state = consents.get(unit) or consents.get(request.anonymous_id or "")
        excluded = exclusion(state, self.policy)
        if excluded:
            return AssignmentResponse(unit_id=unit, holdout=False, excluded_reason=excluded, assignments=[])
        profile_allowed = state is not None and allowed(state.effective, "personalization") and "profiling" not in state.objections
        running = self.running()
        recorded = self.store.recorded(unit) if running else {}
        assignments, skipped, exposures = [], [], []
        layer_positions: assignment.LayerPositions = {}
        for experiment, spec in running:
            fit = qualifies(experiment.targeting, request, segments if profile_allowed else None)
            if not fit:
                if experiment.key not in recorded:
                    skipped.append(Skipped(experiment=experiment.key,
                                           reason="targeting" if fit is False else "profile_targeting_needs_consent"))
                    continue
            index = assignment.sticky_or_assign(unit, spec, recorded, layer_positions=layer_positions)
            if index is None:
                continue
            variant = spec.variants[index].key
            first = experiment.key not in recorded and self.store.record(unit, experiment.key, variant, index, now)
            assignments.append(Assignment(experiment=experiment.key, variant=variant, variant_index=index, first_exposure=first))
            if first:
                exposures.append(ExposureLogged(
                    experiment=experiment.key, variant=variant, variant_index=index, unit_id=unit,
                    anonymous_id=request.anonymous_id, exposed_at=now, segments=segments if profile_allowed else [],
                    context=ExposureContext(device=request.context.device, traffic_source=request.context.traffic_source,
                                            visitor=request.context.visitor, market=market_of(request.context.locale)),
                ))
        if exposures:
            self.publisher.publish([new_event("ExposureLogged", e, context="experiments", correlation_id=correlation_id) for e in exposures])
        return AssignmentResponse(unit_id=unit, holdout=False, assignments=assignments, skipped=skipped)
