"""The request path: who is asking, what consent allows, what they did, what they were
shown; then ranking.py decides and the answer shown is recorded for frequency caps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from functions.recommend import ranking
from functions.recommend.registry import ModelRegistry
from functions.recommend.consent import fallback_reason
from functions.recommend.schemas import Exposure, Recommendations
from functions.recommend.store import RecommendStore
from shared.bucketing import in_global_holdout
from shared.consent import DefaultPolicy


@dataclass(frozen=True)
class RecommendationRequest:
    query: ranking.Query
    user_id: str | None
    anonymous_id: str | None
    device: str | None = None
    time_of_day: str | None = None


class Recommender:
    def __init__(self, store: RecommendStore, registry: ModelRegistry, policy: DefaultPolicy, holdout_share: float = 0.0) -> None:
        self.store, self.registry, self.policy, self.holdout_share = store, registry, policy, holdout_share

    def recommend(self, request: RecommendationRequest) -> Recommendations:
        serving = self.registry.current()
        query = request.query
        if not (request.user_id or request.anonymous_id):  # nobody the caller proved: an unknown visitor, nothing stored
            return ranking.recommend(query, ranking.Person("unknown_visitor"), serving.model, serving.catalog, serving.rules)
        subjects, consents = self.store.requester(request.user_id, request.anonymous_id)
        # The customer's own choice wins; a session's choice counts until they have one.
        state = next((consents[s] for s in subjects if s in consents), None)
        if in_global_holdout(subjects[0], self.holdout_share):  # the program's control group: never personalized
            person = ranking.Person("holdout")
        else:
            person = ranking.Person(fallback_reason(state, query.placement == "email", self.policy))
        if person.fallback_reason is None:
            # An e-mail goes to the customer: a shared device's session must not leak into it.
            own = subjects[:1] if query.placement == "email" else subjects
            person.history = self.store.history(own, serving.rules.history_limit)
            since = query.now - timedelta(days=serving.rules.frequency_cap.days)
            person.exposures = self.store.exposures(subjects[0], since)
        answer = ranking.recommend(query, person, serving.model, serving.catalog, serving.rules)
        if person.fallback_reason is None and answer.items:
            self.store.record_exposure(subjects[0], Exposure(
                placement=query.placement, items=[i.item_id for i in answer.items], at=query.now,
                device=request.device, time_of_day=request.time_of_day,
            ))
        return answer


def market_of(locale: str | None) -> str | None:
    """`de-DE` -> `DE`; a language alone names no market."""
    if locale and "-" in locale:
        return locale.split("-", 1)[1].upper()
    return None
