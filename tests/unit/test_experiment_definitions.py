"""Experiment definitions: what makes a test readable is checked before it is stored."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.experiments.schemas import ExperimentIn

BASE = {"key": "hero-banner", "hypothesis": "A warmer hero lifts conversion", "primary_metric": "conversion_rate"}


def test_ab_test_with_weights():
    spec = ExperimentIn(**BASE, variants=[{"key": "control", "weight": 0.5}, {"key": "warm", "weight": 0.5}])
    assert [a.key for a in spec.arms()] == ["control", "warm"]


def test_multivariate_is_the_full_factorial_with_equal_weights():
    spec = ExperimentIn(**BASE, factors={"hero": ["a", "b"], "cta": ["buy", "shop", "go"]})
    arms = spec.arms()
    assert len(arms) == 6 and arms[0].key == "cta=buy|hero=a"
    assert sum(a.weight for a in arms) == pytest.approx(1.0)


@pytest.mark.parametrize("change, message", [
    ({"variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.4}]}, "sum to 1"),
    ({"variants": [{"key": "a", "weight": 0.5}, {"key": "a", "weight": 0.5}]}, "unique"),
    ({"variants": [{"key": "a", "weight": 1.0}]}, "2 to 24"),
    ({}, "either variants"),
    ({"variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}], "factors": {"x": ["1", "2"]}}, "either variants"),
    ({"factors": {"x": ["1", "1"]}}, "distinct levels"),
    ({"variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}], "secondary_metrics": ["conversion_rate"]}, "primary metric"),
    ({"variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}], "coverage": 0}, "greater than 0"),
    ({"variants": [{"key": "a", "weight": 0.5}, {"key": "B!", "weight": 0.5}]}, "pattern"),
    ({"variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}], "starts_at": "2026-12-02T00:00:00Z",
      "ends_at": "2026-12-01T00:00:00Z"}, "after starts_at"),
])
def test_unreadable_tests_are_refused_with_a_reason(change, message):
    with pytest.raises(ValidationError) as raised:
        ExperimentIn(**BASE, **change)
    assert message in str(raised.value)
