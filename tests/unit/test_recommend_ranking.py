"""Placements, rules, fallbacks and the creepiness guard of ranking.py, on a small model
whose scores are easy to reason about (one latent factor per category)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from functions.recommend import ranking
from functions.recommend.model import GraphOutput, ScoringModel, index_catalog
from functions.recommend.rules import RecommendRules
from functions.recommend.schemas import Catalog, CatalogItem, ConsentState, Exposure, HistoryEntry
from functions.recommend.consent import fallback_reason
from functions.recommend.service import market_of
from shared.errors import BadRequest

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
CATEGORIES = {"shoes": 6, "socks": 4, "jackets": 4, "lingerie": 3}


def _items() -> list[CatalogItem]:
    items = []
    for category, count in CATEGORIES.items():
        for i in range(count):
            items.append(CatalogItem(
                item_id=f"{category}-{i}", title=f"{category.title()} {i}", category=category,
                brand="Stride" if i % 2 == 0 else "Aero", price=10 + i, stock=5, margin=0.2,
                replenishable=category == "socks", added_on=NOW.date() - timedelta(days=400),
            ))
    return items


class NumpyModel(ScoringModel):
    """The scoring graph's contract in plain numpy: u = w @ Q[h]; scores = u @ Y.T."""

    def __init__(self, items: list[str], factors: np.ndarray, popularity: np.ndarray, trending: np.ndarray | None = None,
                 copurchase: dict[str, list[str]] | None = None) -> None:
        self.items, self.index = items, {item: i for i, item in enumerate(items)}
        self.q = self.y = factors.astype(np.float32)
        self.popularity = popularity.astype(np.float32)
        self.trending = trending.astype(np.float32) if trending is not None else np.zeros(len(items), np.float32)
        self.neighbours = self.strength = None
        if copurchase:
            self.neighbours = np.full((len(items), 3), -1, np.int32)
            self.strength = np.zeros((len(items), 3), np.float32)
            for source, targets in copurchase.items():
                for slot, target in enumerate(targets):
                    self.neighbours[self.index[source], slot] = self.index[target]
                    self.strength[self.index[source], slot] = 1.0 - 0.1 * slot
        self.calls = 0

    @property
    def version(self) -> str:
        return "test-1"

    def score(self, history, weights, exclude, k):
        self.calls += 1
        user = weights @ self.q[history]
        scores = np.where(exclude, -np.inf, self.y @ user)
        top = np.argsort(-scores, kind="stable")[: min(k, len(self.items))]
        basis = (self.q[history] * weights[:, None]) @ self.y[top].T
        return GraphOutput(items=top, scores=scores[top].astype(np.float32), basis=basis)


@pytest.fixture
def shop():
    catalog = Catalog(items=_items())
    ids = [i.item_id for i in catalog.items]
    factors = np.zeros((len(ids), len(CATEGORIES)), np.float32)
    for row, item in enumerate(catalog.items):
        factors[row, list(CATEGORIES).index(item.category)] = 1.0
        factors[row] += 0.01 * (row % 5)  # ties broken deterministically
    popularity = np.arange(len(ids), 0, -1, dtype=np.float32)  # earlier items are more popular
    model = NumpyModel(ids, factors, popularity, copurchase={"shoes-0": ["socks-1", "socks-2"], "jackets-0": ["shoes-3"]})
    return model, catalog


def _run(shop, placement="home", history=(), exposures=(), reason=None, rules=None, n=4, **query):
    model, catalog = shop
    rules = rules or RecommendRules(max_per_category=None, boosts={"margin": 0, "new_arrival": 0})
    index = index_catalog(catalog, model.items, rules, NOW.date())
    person = ranking.Person(reason, list(history), list(exposures))
    return ranking.recommend(ranking.Query(placement=placement, n=n, now=NOW, **query), person, model, index, rules)


def _seen(item_id, type="product_view", minutes_ago=5):
    return HistoryEntry(item_id=item_id, type=type, at=NOW - timedelta(minutes=minutes_ago), interaction_id=f"{item_id}-{type}-{minutes_ago}")


def _ids(answer):
    return [i.item_id for i in answer.items]


# ---------------------------------------------------------------- placements
def test_home_folds_in_recent_views_and_says_why(shop):
    answer = _run(shop, history=[_seen("jackets-1")])
    assert answer.personalized and answer.fallback_reason is None
    assert all(i.category == "jackets" for i in answer.items[:3])
    assert "jackets-1" not in _ids(answer)  # already seen
    assert answer.items[0].reason.code == "viewed" and answer.items[0].reason.text == "Because you viewed Jackets 1"


def test_a_new_session_view_changes_the_next_answer(shop):
    before = _run(shop, history=[_seen("jackets-1", minutes_ago=60)])
    after = _run(shop, history=[_seen("shoes-2", type="add_to_cart", minutes_ago=1), _seen("jackets-1", minutes_ago=60)])
    assert _ids(before) != _ids(after)
    assert after.items[0].category == "shoes" and after.items[0].reason.code == "carted"


def test_product_page_shows_similar_items_and_same_brand_on_request(shop):
    similar = _run(shop, placement="product", item_id="shoes-0")
    assert similar.items[0].category == "shoes" and "shoes-0" not in _ids(similar)
    assert similar.items[0].reason.text == "Similar to Shoes 0"
    same_brand = _run(shop, placement="product", item_id="shoes-0", same_brand=True, n=10)
    assert {i.brand for i in same_brand.items} == {"Stride"}
    assert same_brand.items[0].reason.code == "same_brand"


def test_cart_cross_sells_what_is_bought_together(shop):
    answer = _run(shop, placement="cart", item_id="shoes-0")
    assert _ids(answer)[:2] == ["socks-1", "socks-2"]
    assert answer.items[0].reason.code == "bought_together" and answer.items[0].reason.basis_item_id == "shoes-0"


def test_cart_placement_reads_the_basket_from_history(shop):
    history = [_seen("jackets-0", "add_to_cart", 2), _seen("shoes-0", "remove_from_cart", 3), _seen("shoes-0", "add_to_cart", 4)]
    answer = _run(shop, placement="cart", history=history)
    assert _ids(answer)[0] == "shoes-3"  # jackets-0 is in the cart; shoes-0 was removed


def test_email_uses_history_like_home(shop):
    answer = _run(shop, placement="email", history=[_seen("socks-1", "purchase", 60 * 24)])
    assert answer.personalized and answer.items[0].reason.code == "bought"


@pytest.mark.parametrize("query, code", [({"placement": "product"}, "missing_item_id"),
                                         ({"placement": "product", "item_id": "nope"}, "unknown_item")])
def test_bad_anchor_is_a_400(shop, query, code):
    with pytest.raises(BadRequest) as raised:
        _run(shop, **query)
    assert raised.value.code == code


# ---------------------------------------------------------------- rules
def test_out_of_stock_items_are_never_shown(shop):
    model, catalog = shop
    catalog.items[1].stock = 0  # shoes-1
    answer = _run(shop, history=[_seen("shoes-0")], n=5)
    assert "shoes-1" not in _ids(answer) and answer.items[0].category == "shoes"


def test_purchased_items_are_excluded_unless_replenishable(shop):
    rules = RecommendRules(max_per_category=None, boosts={"margin": 0, "new_arrival": 0})
    bought = [_seen("shoes-1", "purchase", 60), _seen("socks-0", "purchase", 60)]
    product = _run(shop, placement="product", item_id="shoes-0", history=bought, n=10, rules=rules)
    assert "shoes-1" not in _ids(product)
    socks = _run(shop, placement="product", item_id="socks-1", history=bought, n=10, rules=rules)
    assert "socks-0" in _ids(socks)  # socks are bought again and again


def test_category_rules(shop):
    rules = RecommendRules(excluded_categories=["jackets"], placement_categories={"home": ["jackets", "socks"]},
                           max_per_category=None, boosts={"margin": 0, "new_arrival": 0})
    answer = _run(shop, history=[_seen("jackets-1"), _seen("shoes-1")], rules=rules, n=10)
    assert {i.category for i in answer.items} == {"socks"}


def test_diversity_caps_items_per_category(shop):
    rules = RecommendRules(max_per_category=2, boosts={"margin": 0, "new_arrival": 0})
    answer = _run(shop, history=[_seen("shoes-1")], rules=rules, n=6)
    categories = [i.category for i in answer.items]
    assert len(answer.items) == 6 and max(categories.count(c) for c in set(categories)) <= 2


def test_margin_boost_reorders_close_candidates(shop):
    model, catalog = shop
    catalog.items[5].margin = 1.0  # shoes-5, the weakest shoe by score
    plain = _run(shop, history=[_seen("shoes-0")], n=3)
    boosted = _run(shop, history=[_seen("shoes-0")], n=3,
                   rules=RecommendRules(max_per_category=None, boosts={"margin": 0.5, "new_arrival": 0}))
    assert "shoes-5" not in _ids(plain)[:1] and _ids(boosted)[0] == "shoes-5"


def test_frequency_cap_rests_items_shown_too_often(shop):
    first = _run(shop, history=[_seen("shoes-0")], n=2)
    shown = [Exposure(placement="home", items=_ids(first), at=NOW - timedelta(hours=h)) for h in (1, 2, 3)]
    rested = _run(shop, history=[_seen("shoes-0")], exposures=shown, n=2)
    assert not set(_ids(first)) & set(_ids(rested))


# ---------------------------------------------------------------- creepiness guard
def test_a_single_recent_sensitive_view_changes_nothing(shop):
    base = _run(shop, history=[_seen("jackets-1", minutes_ago=30)], n=6)
    with_view = _run(shop, history=[_seen("lingerie-0", minutes_ago=1), _seen("jackets-1", minutes_ago=30)], n=6)
    assert _ids(base) == _ids(with_view)
    assert all(i.reason.basis_item_id != "lingerie-0" for i in with_view.items)


def test_sensitive_items_only_appear_next_to_their_own_category(shop):
    home = _run(shop, history=[_seen("lingerie-0"), _seen("lingerie-1")], n=17)
    assert "lingerie" not in {i.category for i in home.items}
    page = _run(shop, placement="product", item_id="lingerie-0", n=2)
    assert {i.category for i in page.items} == {"lingerie"}
    elsewhere = _run(shop, placement="product", item_id="shoes-0", n=17)
    assert "lingerie" not in {i.category for i in elsewhere.items}


# ---------------------------------------------------------------- fallbacks
def test_without_consent_the_answer_is_neutral(shop):
    answer = _run(shop, history=[_seen("jackets-1")], reason="no_consent")
    assert not answer.personalized and answer.fallback_reason == "no_consent"
    assert _ids(answer) == ["shoes-0", "shoes-1", "shoes-2", "shoes-3"]  # by popularity
    assert answer.items[0].reason.code == "popular"


def test_without_consent_a_product_page_still_shows_similar_items(shop):
    answer = _run(shop, placement="product", item_id="jackets-0", reason="unknown_visitor")
    assert not answer.personalized and answer.items[0].category == "jackets"


def test_trending_items_lead_the_fallback_when_known(shop):
    model, _ = shop
    model.trending = np.zeros(len(model.items), np.float32)
    model.trending[model.index["socks-3"]] = 9
    answer = _run(shop, reason="no_consent")
    assert _ids(answer)[0] == "socks-3" and answer.items[0].reason.text == "Trending now"


def test_no_history_answers_popular_items_unpersonalized(shop):
    answer = _run(shop)
    assert not answer.personalized and answer.fallback_reason == "no_history"


def test_scoring_error_falls_back(shop, monkeypatch):
    model, _ = shop
    monkeypatch.setattr(model, "score", lambda *a: (_ for _ in ()).throw(RuntimeError("onnx broke")))
    answer = _run(shop, history=[_seen("jackets-1")])
    assert answer.fallback_reason == "scoring_error" and len(answer.items) == 4


def test_over_budget_falls_back(shop):
    model, catalog = shop
    rules = RecommendRules(budget_ms=5)
    ticks = iter([0.0, 1.0])  # the scoring "took" one second
    answer = ranking.recommend(ranking.Query(placement="home", n=3, now=NOW), ranking.Person(None, [_seen("shoes-0")]),
                               model, index_catalog(catalog, model.items, rules, NOW.date()), rules, clock=lambda: next(ticks))
    assert answer.fallback_reason == "over_budget" and not answer.personalized and answer.items


def test_no_model_answers_empty_and_says_so(shop):
    answer = ranking.recommend(ranking.Query(placement="home", n=3, now=NOW), ranking.Person(None), None, None, RecommendRules())
    assert answer.items == [] and answer.fallback_reason == "no_model"


def test_markets_limit_items_and_name_the_area(shop):
    model, catalog = shop
    catalog.items[0].markets = ["DE"]  # shoes-0, the most popular
    fr = _run(shop, reason="no_consent", market="FR")
    de = _run(shop, reason="no_consent", market="DE")
    assert "shoes-0" not in _ids(fr) and _ids(de)[0] == "shoes-0"
    assert de.items[0].reason.code == "popular_in_area" and de.items[1].reason.code == "popular"
    assert fr.items[0].reason.code == "popular"


@pytest.mark.parametrize("state, email, expected", [
    (None, False, "unknown_visitor"),
    (ConsentState(personalization=True, email_marketing=False, changed_at=NOW), False, None),
    (ConsentState(personalization=True, email_marketing=False, changed_at=NOW), True, "no_consent"),
    (ConsentState(personalization=False, email_marketing=True, changed_at=NOW), False, "no_consent"),
    (ConsentState(personalization=False, email_marketing=False, restricted=True, changed_at=NOW), False, "restricted"),
    (ConsentState(personalization=False, email_marketing=False, objections=["profiling"], changed_at=NOW), False, "objection"),
])
def test_consent_decides_before_anything_is_read(state, email, expected):
    assert fallback_reason(state, email, "eu") == expected


def test_opt_out_policy_personalizes_unknown_visitors():
    assert fallback_reason(None, False, "opt_out") is None


def test_market_from_locale():
    assert market_of("de-DE") == "DE" and market_of("de") is None and market_of(None) is None
