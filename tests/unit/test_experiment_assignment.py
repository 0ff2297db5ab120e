"""Experiment assignment: GrowthBook's own test cases, then the statistical properties
Persona relies on (uniform splits, independent experiments, exclusive layers, a
holdout that sees nothing) and stickiness when a running test is changed."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from scipy import stats

from functions.experiments.assignment import (
    ExperimentSpec,
    ExperimentStatus,
    Variant,
    assign,
    assign_all,
    bucket_ranges,
    choose_variation,
    fnv1a32,
    gb_hash,
    holdout,
    in_namespace,
    layer_ranges,
    sticky_or_assign,
)

GROWTHBOOK_CASES = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "growthbook" / "cases.json").read_text())
UNITS = [f"u-{i}" for i in range(100_000)]  # sequential ids: the hardest input for a weak hash
SOME_UNITS = UNITS[:50_000]  # enough for the slower whole-request checks
CHI2_DF1_P001 = 10.828
CHI2_DF2_P001 = 13.816


def _experiment(key: str, weights: tuple[float, ...] = (0.5, 0.5), **fields) -> ExperimentSpec:
    variants = tuple(Variant(key=f"v{i}", weight=weight) for i, weight in enumerate(weights))
    return ExperimentSpec(key=key, variants=variants, status=fields.pop("status", ExperimentStatus.RUNNING), **fields)


def _chi_square(observed: list[int], expected: list[float]) -> float:
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))


def _cases(section: str) -> list:
    return [pytest.param(*case, id=f"{section}[{i}]") for i, case in enumerate(GROWTHBOOK_CASES[section])]


# --- GrowthBook's cases (tests/fixtures/growthbook/cases.json) --------------------------------


@pytest.mark.parametrize(("seed", "value", "version", "expected"), _cases("hash"))
def test_hash_matches_growthbook(seed: str, value: str, version: int, expected: float | None) -> None:
    assert gb_hash(seed, value, version) == expected


@pytest.mark.parametrize(("name", "inputs", "expected"), _cases("getBucketRange"))
def test_bucket_ranges_match_growthbook(name: str, inputs: list, expected: list[list[float]]) -> None:
    n_variations, coverage, weights = inputs
    ranges = bucket_ranges(n_variations, coverage, weights)
    assert [list(r) for r in ranges] == [pytest.approx(r, abs=1e-9) for r in expected]


@pytest.mark.parametrize(("name", "n", "ranges", "expected"), _cases("chooseVariation"))
def test_choose_variation_matches_growthbook(name: str, n: float, ranges: list, expected: int) -> None:
    assert choose_variation(n, [tuple(r) for r in ranges]) == expected


@pytest.mark.parametrize(("name", "user_id", "namespace", "expected"), _cases("inNamespace"))
def test_in_namespace_matches_growthbook(name: str, user_id: str, namespace: list, expected: bool) -> None:
    assert in_namespace(user_id, tuple(namespace)) is expected


def test_every_vendored_section_is_exercised() -> None:
    assert {k: len(v) for k, v in GROWTHBOOK_CASES.items() if k != "specVersion"} == {
        "hash": 15, "getBucketRange": 13, "chooseVariation": 13, "inNamespace": 16,
    }


@pytest.mark.parametrize(("text", "expected"), [
    # Computed by running GrowthBook's hashFnv32a (packages/sdk-js/src/util.ts, same commit) under Node:
    # JavaScript hashes UTF-16 code units, so Latin-1, BMP and astral characters all matter.
    ("é", 1812687940), ("café", 856211068), ("ü-日本", 162881099), ("😀", 3409036472), ("anon-😀-1", 679791937),
    # Longer than 40 code units: the loop that reduces at every step.
    ("3f2a9c1e-7b4d-4e8a-9f1c-000000000042@persona-global-holdout", 3917320747),
    ("Ünïcödé visitor 😀 with a name longer than forty code units", 3904878151),
])
def test_fnv1a32_hashes_utf16_code_units_like_javascript(text: str, expected: int) -> None:
    assert fnv1a32(text) == expected


@pytest.mark.parametrize(("prefix", "rest"), [("checkout-button", "anon-42"), ("é" * 30, "😀" * 30)])
def test_fnv1a32_continues_from_a_prefix_state(prefix: str, rest: str) -> None:
    assert fnv1a32(prefix + rest) == fnv1a32(rest, fnv1a32(prefix))


# --- Persona's assignment --------------------------------------------------------------------


@pytest.mark.parametrize(("unit_id", "fields", "expected"), [
    # Experiments from the "run" section of GrowthBook's cases.json (same commit), by name.
    ("1", {"key": "key", "seed": "foo"}, 1),  # Uses seed with default weights/coverage
    ("1", {"key": "key", "seed": "foo", "coverage": 0.99}, 1),  # Uses seed with weights/coverage
    ("1", {"key": "my-test", "hash_version": 1, "coverage": 0.4}, None),  # coverage - 1
    ("2", {"key": "my-test", "hash_version": 1, "coverage": 0.4}, 0),  # coverage - 2
    ("5", {"key": "my-test", "hash_version": 1, "coverage": 0.4}, 1),  # coverage - 5
    ("8", {"key": "my-test", "hash_version": 1, "coverage": 0.4}, 1),  # coverage - 8
    ("1", {"key": "my-test", "hash_version": 1, "layer": "namespace", "layer_range": (0.1, 1)}, 1),  # namespace - pass
    ("1", {"key": "my-test", "hash_version": 1, "layer": "namespace", "layer_range": (0, 0.1)}, None),  # - fail
    ("1", {"key": "no-coverage", "hash_version": 1, "coverage": 0}, None),  # Experiment coverage - Works when 0
    # From the "hash" section: v2 hashes 0.0505 and 0.7516 fall in the first and second half.
    ("a", {"key": "k", "seed": "seed"}, 0),
    ("123", {"key": "k", "seed": "90850943850283058242805"}, 1),
])
def test_assign_agrees_with_growthbook_and_is_deterministic(unit_id: str, fields: dict, expected: int | None) -> None:
    experiment = _experiment(**fields)
    assert assign(unit_id, experiment) == expected
    assert assign(unit_id, experiment) == expected


def test_seed_defaults_to_the_key() -> None:
    assert _experiment("hero-banner").seed == "hero-banner"
    assert [assign(u, _experiment("hero-banner")) for u in UNITS[:200]] == [
        assign(u, _experiment("other-name", seed="hero-banner")) for u in UNITS[:200]
    ]


def test_only_running_experiments_assign() -> None:
    for status in (ExperimentStatus.DRAFT, ExperimentStatus.STOPPED):
        experiment = _experiment("paused", status=status)
        assert assign("u-1", experiment) is None
        assert sticky_or_assign("u-1", experiment, {"paused": 1}) is None


@pytest.mark.parametrize("fields", [
    {"weights": (1.0,)},
    {"layer": "checkout"},
    {"layer_range": (0, 0.5)},
    {"hash_version": 3},
])
def test_spec_rejects_what_cannot_be_assigned(fields: dict) -> None:
    with pytest.raises(ValueError):
        _experiment("bad", **fields)


def test_split_is_uniform_for_50_25_25() -> None:
    experiment = _experiment("checkout-button", weights=(0.5, 0.25, 0.25))
    counts = Counter(assign(unit, experiment) for unit in UNITS)
    observed = [counts[0], counts[1], counts[2]]
    expected = [len(UNITS) * w for w in (0.5, 0.25, 0.25)]
    statistic = _chi_square(observed, expected)
    assert statistic == pytest.approx(stats.chisquare(observed, expected).statistic)
    assert sum(observed) == len(UNITS)
    assert statistic < CHI2_DF2_P001


def test_two_experiments_are_independent() -> None:
    first, second = _experiment("hero-banner"), _experiment("free-shipping-threshold")
    table = Counter((assign(unit, first), assign(unit, second)) for unit in UNITS)
    observed = [[table[(a, b)] for b in (0, 1)] for a in (0, 1)]
    rows, columns, total = [sum(r) for r in observed], [sum(c) for c in zip(*observed)], len(UNITS)
    statistic = _chi_square([observed[a][b] for a in (0, 1) for b in (0, 1)],
                            [rows[a] * columns[b] / total for a in (0, 1) for b in (0, 1)])
    assert statistic == pytest.approx(stats.chi2_contingency(observed, correction=False).statistic)
    assert statistic < CHI2_DF1_P001


def test_layer_ranges_are_consecutive_and_disjoint() -> None:
    assert layer_ranges([("a", 0.1), ("b", 0.2), ("c", 0.4)]) == {"a": (0.0, 0.1), "b": (0.1, 0.3), "c": (0.3, 0.7)}
    assert layer_ranges([]) == {}


@pytest.mark.parametrize("shares", [[("a", 0.6), ("b", 0.5)], [("a", -0.1)], [("a", 0.2), ("a", 0.2)]])
def test_layer_ranges_reject_impossible_layers(shares: list) -> None:
    with pytest.raises(ValueError):
        layer_ranges(shares)


def test_experiments_in_one_layer_are_mutually_exclusive_and_get_their_share() -> None:
    shares = {"pdp-gallery": 0.5, "pdp-reviews": 0.3, "pdp-price": 0.2}
    slices = layer_ranges(shares.items())
    experiments = [_experiment(key, layer="product-page", layer_range=slices[key]) for key in shares]
    counts: Counter[str] = Counter()
    for unit in SOME_UNITS:
        assigned = assign_all(unit, experiments)
        assert len(assigned) <= 1, (unit, assigned)
        counts.update(assigned.keys())
    statistic = _chi_square([counts[key] for key in shares], [len(SOME_UNITS) * share for share in shares.values()])
    assert statistic < CHI2_DF2_P001


def test_holdout_takes_its_share_and_sees_no_experiment() -> None:
    share = 0.1
    experiments = [_experiment("hero-banner"), _experiment("pdp-gallery", layer="product-page", layer_range=(0, 1))]
    held = 0
    for unit in SOME_UNITS:
        assigned = assign_all(unit, experiments, holdout_share=share, recorded={"hero-banner": 1})
        if holdout(unit, share):
            held += 1
            assert assigned == {}
        else:
            assert assigned == {"hero-banner": 1, "pdp-gallery": assign(unit, experiments[1])}
    total = len(SOME_UNITS)
    assert _chi_square([held, total - held], [total * share, total * (1 - share)]) < CHI2_DF1_P001


def test_raising_coverage_keeps_every_earlier_assignment() -> None:
    half, full = (_experiment("checkout-button", weights=(0.5, 0.25, 0.25), coverage=c) for c in (0.5, 1.0))
    before = {unit: assign(unit, half) for unit in UNITS[:20_000]}
    after = {unit: assign(unit, full) for unit in UNITS[:20_000]}
    kept = {unit: index for unit, index in before.items() if index is not None}
    assert 9_000 < len(kept) < 11_000
    assert all(after[unit] == index for unit, index in kept.items())
    assert None not in after.values()


def test_recorded_assignments_survive_a_change_of_weights() -> None:
    even, skewed = _experiment("hero-banner"), _experiment("hero-banner", weights=(0.9, 0.1))
    recorded = {unit: assign(unit, even) for unit in UNITS[:5_000]}
    moved = [unit for unit, index in recorded.items() if assign(unit, skewed) != index]
    assert moved, "a weight change moves unrecorded units: this is why assignments are recorded"
    assert all(sticky_or_assign(unit, skewed, {"hero-banner": recorded[unit]}) == recorded[unit] for unit in moved)


def test_sticky_or_assign_ignores_what_it_cannot_use() -> None:
    experiment = _experiment("hero-banner")
    fresh = assign("u-7", experiment)
    assert sticky_or_assign("u-7", experiment, None) == fresh
    assert sticky_or_assign("u-7", experiment, {"another-test": 1}) == fresh
    assert sticky_or_assign("u-7", experiment, {"hero-banner": 5}) == fresh  # no such variant any more
