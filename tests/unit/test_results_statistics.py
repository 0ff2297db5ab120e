"""The results context's statistics against scipy, hand-computed values and simulation."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from functions.results import statistics as s
from persona.cli import main

# ---------------------------------------------------------------- distributions


@pytest.mark.parametrize("df", [1.0, 2.5, 7.0, 30.0, 1_000.0, 20_000.0, 1e6])
def test_student_t_tail_and_quantile_match_scipy(df):
    t = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(s.t_sf(t, df), stats.t.sf(t, df), rtol=1e-6, atol=1e-15)
    p = np.array([1e-9, 1e-4, 0.005, 0.025, 0.2, 0.5, 0.8, 0.975, 0.995, 0.9999])
    np.testing.assert_allclose(s.t_quantile(p, df), stats.t.ppf(p, df), rtol=1e-6, atol=1e-12)


def test_normal_and_chi_square_match_scipy():
    z = np.linspace(-37, 37, 741)
    np.testing.assert_allclose(s.normal_sf(z), stats.norm.sf(z), rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(s.normal_cdf(z), stats.norm.cdf(z), rtol=1e-9, atol=1e-300)
    p = np.concatenate([np.logspace(-250, -1, 60), np.linspace(0.02, 0.98, 49), 1 - np.logspace(-12, -2, 11)])
    np.testing.assert_allclose(s.normal_quantile(p), stats.norm.ppf(p), rtol=1e-9, atol=1e-12)
    for df in (1, 2, 4, 9, 99):
        x = np.linspace(0, 4 * df + 60, 400)
        np.testing.assert_allclose(s.chi2_sf(x, df), stats.chi2.sf(x, df), rtol=1e-9, atol=1e-300)


# ---------------------------------------------------------------- frequentist


def _unit_sums(samples: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([len(x) for x in samples], dtype=float), np.array([x.sum() for x in samples]),
            np.array([(x * x).sum() for x in samples]))


def test_welch_p_values_and_intervals_match_scipy():
    rng = np.random.default_rng(11)
    samples = [rng.gamma(2.0, 10.0, 400), rng.gamma(2.2, 10.0, 250), rng.gamma(2.0, 11.0, 35), rng.gamma(1.5, 10.0, 3)]
    n, sums, sums_sq = _unit_sums(samples)
    result = s.frequentist_cells(n, sums, sums_sq, alpha=0.1)
    for i, treatment in enumerate(samples[1:]):
        reference = stats.ttest_ind(treatment, samples[0], equal_var=False)
        assert result.p_value[i] == pytest.approx(reference.pvalue, rel=1e-6)
        interval = reference.confidence_interval(confidence_level=0.9)
        assert (result.abs_ci_low[i], result.abs_ci_high[i]) == pytest.approx((interval.low, interval.high), rel=1e-6)
        assert result.lift[i] == pytest.approx(treatment.mean() / samples[0].mean() - 1)


def test_welch_on_proportions_is_scipys_test_from_summary_statistics():
    n = np.array([[10_000, 10_000, 9_800], [500, 520, 480]], dtype=float)
    conversions = np.array([[1_000, 1_080, 950], [40, 61, 39]], dtype=float)
    result = s.frequentist_cells(n, conversions, conversions)
    for cell in range(2):
        p = conversions[cell] / n[cell]
        sd = np.sqrt(n[cell] * p * (1 - p) / (n[cell] - 1))
        for v in (1, 2):
            reference = stats.ttest_ind_from_stats(p[v], sd[v], n[cell, v], p[0], sd[0], n[cell, 0], equal_var=False)
            assert result.p_value[cell, v - 1] == pytest.approx(reference.pvalue, rel=1e-6)


def test_relative_lift_interval_covers_the_true_lift_95_percent_of_the_time():
    rng = np.random.default_rng(5)
    experiments, units, rate, true_lift = 4_000, 8_000, 0.05, 0.1
    conversions = np.stack([rng.binomial(units, rate, experiments), rng.binomial(units, rate * (1 + true_lift), experiments)], axis=1)
    result = s.frequentist_cells(np.full(conversions.shape, units), conversions, conversions)
    covered = (result.ci_low[:, 0] <= true_lift) & (true_lift <= result.ci_high[:, 0])
    assert 0.935 <= covered.mean() <= 0.965


def test_no_variance_at_all_means_no_evidence_and_a_zero_control_has_no_relative_lift():
    result = s.frequentist_cells([[100, 100, 100]], [[0, 0, 5]], [[0, 0, 5]])
    assert result.p_value[0, 0] == 1.0 and result.abs_lift[0, 0] == 0.0
    assert np.isnan(result.lift).all() and 0 < result.p_value[0, 1] < 0.05


# ---------------------------------------------------------------- Bayesian


def test_bayesian_chance_loss_and_interval_agree_with_monte_carlo():
    rng = np.random.default_rng(2)
    n, conversions = np.array([5_000.0, 5_000.0]), np.array([500.0, 560.0])
    result = s.bayesian(s.moments(n, conversions, conversions), alpha=0.05)
    mean = conversions / n
    sd = np.sqrt(mean * (1 - mean) / (n - 1))
    control, treatment = (rng.normal(mean[i], sd[i], 1_000_000) for i in range(2))
    assert result.chance_to_win[0] == pytest.approx((treatment > control).mean(), abs=0.003)
    assert result.expected_loss[0] == pytest.approx(np.maximum(control - treatment, 0).mean(), rel=0.03)
    low, high = np.quantile(treatment / control - 1, [0.025, 0.975])
    assert (result.ci_low[0], result.ci_high[0]) == pytest.approx((low, high), abs=0.006)
    # the normal approximation is close to the Beta posterior of a proportion at this size
    beta_control = rng.beta(1 + conversions[0], 1 + n[0] - conversions[0], 1_000_000)
    beta_treatment = rng.beta(1 + conversions[1], 1 + n[1] - conversions[1], 1_000_000)
    assert result.chance_to_win[0] == pytest.approx((beta_treatment > beta_control).mean(), abs=0.01)
    assert np.isnan(result.p_value).all()


def test_bayesian_without_variance_is_certain():
    result = s.bayesian(s.moments([50, 50, 50], [0, 50, 0], [0, 50, 0]))
    assert result.chance_to_win.tolist() == [1.0, 0.5] and result.expected_loss.tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- sequential


def test_sequential_stays_valid_over_30_daily_looks_where_a_naive_test_does_not():
    rng = np.random.default_rng(7)
    experiments, days, daily_units, rate, alpha = 2_000, 30, 300, 0.1, 0.05
    conversions = rng.binomial(daily_units, rate, (experiments, days, 2)).cumsum(axis=1).astype(float)
    units = np.broadcast_to(daily_units * np.arange(1, days + 1, dtype=float)[None, :, None], conversions.shape)
    flat = s.moments(units.reshape(-1, 2), conversions.reshape(-1, 2), conversions.reshape(-1, 2))
    always_valid = s.sequential(flat, alpha, planned_units_per_variant=days * daily_units)
    naive = s.frequentist(flat, alpha)
    ever_rejected = (always_valid.p_value.reshape(experiments, days) <= alpha).any(axis=1).mean()
    ever_outside = ((always_valid.abs_ci_low > 0) | (always_valid.abs_ci_high < 0)).reshape(experiments, days).any(axis=1).mean()
    naive_rejected = (naive.p_value.reshape(experiments, days) <= alpha).any(axis=1).mean()
    assert ever_rejected <= alpha + 0.01 and ever_outside == ever_rejected  # the p-value and the interval agree
    assert naive_rejected > alpha + 0.05
    # and it still finds a real effect: a 20 % lift, by day 30
    lifted = rng.binomial(daily_units * days, [rate, rate * 1.2], (500, 2)).astype(float)
    found = s.sequential(s.moments(np.full(lifted.shape, daily_units * days), lifted, lifted), alpha, days * daily_units)
    assert (found.p_value <= alpha).mean() > 0.75


def test_sequential_interval_is_wider_than_the_fixed_horizon_one_and_narrowest_near_the_plan():
    m = s.moments([[20_000, 20_000]], [[2_000, 2_150]], [[2_000, 2_150]])
    fixed = s.frequentist(m)
    widths = {planned: float(np.squeeze(r.abs_ci_high - r.abs_ci_low))
              for planned in (200, 20_000, 2_000_000) for r in [s.sequential(m, 0.05, planned)]}
    assert min(widths.values()) > float(np.squeeze(fixed.abs_ci_high - fixed.abs_ci_low))
    assert widths[20_000] < widths[200] and widths[20_000] < widths[2_000_000]


# ---------------------------------------------------------------- CUPED and ratio metrics


def test_cuped_reduces_the_variance_by_the_squared_correlation():
    rng = np.random.default_rng(3)
    rho, units = 0.7, 20_000
    covariate = [rng.normal(10, 2, units) for _ in range(3)]
    outcome = [50 + effect + 5 * (rho * (x - 10) / 2 + np.sqrt(1 - rho**2) * rng.normal(size=units))
               for x, effect in zip(covariate, (0.0, 0.3, 0.0), strict=True)]
    n, sums, sums_sq = _unit_sums(outcome)
    sum_x = np.array([x.sum() for x in covariate])
    sum_x2 = np.array([(x * x).sum() for x in covariate])
    sum_xy = np.array([(x * y).sum() for x, y in zip(covariate, outcome, strict=True)])
    adjusted = s.cuped(n, sums, sums_sq, sum_x, sum_x2, sum_xy)
    demeaned_x = np.concatenate([x - x.mean() for x in covariate])
    demeaned_y = np.concatenate([y - y.mean() for y in outcome])
    assert adjusted.theta == pytest.approx(np.polyfit(demeaned_x, demeaned_y, 1)[0], rel=1e-9)
    assert adjusted.pooled_variance_reduction == pytest.approx(rho**2, abs=0.02)
    assert adjusted.variance_reduction == pytest.approx(np.full(3, rho**2), abs=0.03)
    raw = s.frequentist(s.moments(n, sums, sums_sq))
    cuped = s.frequentist(adjusted.moments)
    width = lambda r: r.abs_ci_high - r.abs_ci_low  # noqa: E731
    np.testing.assert_allclose(width(cuped) / width(raw), np.sqrt(1 - rho**2), rtol=0.05)
    assert cuped.p_value[0] < 0.05 and abs(cuped.abs_lift[0] - 0.3) < 3 * width(cuped)[0] / 4


def test_ratio_variance_by_the_delta_method_matches_replication():
    rng = np.random.default_rng(9)
    replications, units = 3_000, 400
    orders = rng.poisson(1.5, (replications, units)).astype(float)
    revenue = orders * rng.gamma(3.0, 20.0, (replications, units))
    m = s.ratio_moments(np.full(replications, units), revenue.sum(1), orders.sum(1), (revenue**2).sum(1),
                        (orders**2).sum(1), (revenue * orders).sum(1))
    assert np.mean(m.mean_variance) == pytest.approx(np.var(m.mean, ddof=1), rel=0.08)


# ---------------------------------------------------------------- SRM and multiple testing


def test_sample_ratio_mismatch_matches_scipy_and_flags_real_mismatches():
    counts = [[10_000, 10_400], [10_000, 10_050], [10_000, 10_500], [5_000, 2_600, 2_420]]
    weights = [[0.5, 0.5]] * 3 + [[0.5, 0.25, 0.25]]
    for observed, w in zip(counts, weights, strict=True):
        observed = np.array(observed, dtype=float)
        expected = np.array(w) * observed.sum()
        assert s.sample_ratio_mismatch(observed, w) == pytest.approx(stats.chisquare(observed, expected).pvalue, rel=1e-9)
    cells = s.sample_ratio_mismatch([[10_000, 10_500], [10_000, 10_050], [10_000, 10_400]], [1, 1])
    assert cells[0] < s.SRM_THRESHOLD < cells[1]
    assert s.SRM_THRESHOLD < cells[2] < 0.01  # 10,400 is suspicious (p = 0.005) but not flagged at 0.001


def test_holm_and_benjamini_hochberg_on_hand_computed_values():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max
    np.testing.assert_allclose(s.holm(p), [0.03, 0.06, 0.06, 0.02])
    # BH: sorted times 4/1, 4/2, 4/3, 4/4 = 0.02, 0.02, 0.04, 0.04 -> running min from the top
    np.testing.assert_allclose(s.benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02])
    grid = np.random.default_rng(1).uniform(0, 0.2, (4, 3, 5))  # variants x metrics x cells
    np.testing.assert_allclose(s.benjamini_hochberg(grid), stats.false_discovery_control(grid.ravel()).reshape(grid.shape))
    with_gap = s.holm([0.2, np.nan, 0.01, 0.9])
    assert np.isnan(with_gap[1]) and with_gap[[0, 2, 3]].tolist() == pytest.approx([0.4, 0.03, 0.9])


# ---------------------------------------------------------------- planner


@pytest.mark.parametrize(("baseline", "mde", "daily", "variants", "bonferroni"), [
    (s.Baseline.rate(0.1), 0.10, 1_000, 2, False),
    (s.Baseline(mean=40.0, variance=30.0**2), 0.05, 600, 3, True),
])
def test_planned_days_detect_the_mde_80_percent_of_the_time(baseline, mde, daily, variants, bonferroni):
    days = s.days_for_mde(baseline, mde, daily, variants=variants, bonferroni=bonferroni)
    assert s.mde_for_days(baseline, days, daily, variants=variants, bonferroni=bonferroni) <= mde
    assert s.mde_for_days(baseline, days - 1, daily, variants=variants, bonferroni=bonferroni) > mde
    units = days * daily // variants
    rng = np.random.default_rng(17)
    experiments = 2_000
    means = baseline.mean * np.array([1.0, 1.0 + mde])
    if baseline.is_rate:
        sums = rng.binomial(units, means, (experiments, 2)).astype(float)
        sums_sq = sums
    else:  # a normal metric's sufficient statistics: the mean is normal, the sample variance a scaled χ²
        sums = units * rng.normal(means, np.sqrt(baseline.variance / units), (experiments, 2))
        variance = baseline.variance * rng.chisquare(units - 1, (experiments, 2)) / (units - 1)
        sums_sq = (units - 1) * variance + sums**2 / units
    result = s.frequentist_cells(np.full((experiments, 2), float(units)), sums, sums_sq)
    tested_alpha = 0.05 / (variants - 1) if bonferroni else 0.05
    detected = ((result.p_value[:, 0] < tested_alpha) & (result.abs_lift[:, 0] > 0)).mean()
    assert 0.74 <= detected <= 0.86


# ---------------------------------------------------------------- `persona stats`


def _payload(**changes) -> dict:
    payload = {
        "metric": {"type": "proportion"},
        "engine": "frequentist",
        "alpha": 0.05,
        "variants": [
            {"name": "control", "n": 10_000, "sum": 1_000, "sum_squares": 1_000},
            {"name": "bigger-banner", "n": 10_050, "sum": 1_105, "sum_squares": 1_105},
            {"name": "no-banner", "n": 9_990, "sum": 980, "sum_squares": 980},
        ],
        "expected_weights": [1, 1, 1],
    }
    payload.update(changes)
    return payload


def _run_stats(monkeypatch, capsys, text: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code = main(["stats"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_persona_stats_reads_the_contract_and_prints_the_result(monkeypatch, capsys):
    code, out, err = _run_stats(monkeypatch, capsys, json.dumps(_payload()))
    assert code == 0 and err == ""
    result = json.loads(out)
    assert result["srm_p_value"] == pytest.approx(stats.chisquare([10_000, 10_050, 9_990]).pvalue)
    assert [v["name"] for v in result["variants"]] == ["bigger-banner", "no-banner"]
    first = result["variants"][0]
    assert {"name", "mean", "lift", "ci", "p_value", "chance_to_win"} <= set(first)
    p = np.array([1_000 / 10_000, 1_105 / 10_050])
    sd = np.sqrt(np.array([10_000, 10_050]) * p * (1 - p) / (np.array([10_000, 10_050]) - 1))
    reference = stats.ttest_ind_from_stats(p[1], sd[1], 10_050, p[0], sd[0], 10_000, equal_var=False)
    assert first["p_value"] == pytest.approx(reference.pvalue, rel=1e-6)
    assert first["mean"] == pytest.approx(p[1]) and first["lift"] == pytest.approx(p[1] / p[0] - 1)
    assert first["ci"][0] < first["lift"] < first["ci"][1] and first["chance_to_win"] is None


@pytest.mark.parametrize("engine", ["bayesian", "sequential"])
def test_each_engine_fills_its_own_fields(engine):
    result = s.analyze(_payload(engine=engine))
    first = result["variants"][0]
    assert (first["p_value"] is None) == (engine == "bayesian")
    assert (first["chance_to_win"] is None) == (engine == "sequential")
    assert first["ci"][0] < first["lift"] < first["ci"][1]


def test_analyze_applies_cuped_when_the_covariate_is_given():
    payload = _payload(metric={"type": "mean"}, expected_weights=None)
    for variant in payload["variants"]:
        variant.update(sum_x=variant["sum"], sum_x2=variant["sum"], sum_xy=variant["sum"])
    result = s.analyze(payload)
    assert result["cuped"]["variance_reduction"] == pytest.approx(1.0)  # y is its own covariate
    assert result["variants"][0]["adjusted_mean"] is not None


def test_analyze_takes_a_ratio_metric():
    variants = [{"name": name, "n": 1_000, "sum_num": num, "sum_den": 1_500, "sum_num2": 9e6, "sum_den2": 3_000, "sum_num_den": 1.1e5}
                for name, num in (("control", 60_000), ("free-shipping", 66_000))]
    result = s.analyze({"metric": {"type": "ratio"}, "engine": "frequentist", "variants": variants})
    assert result["control"]["mean"] == pytest.approx(40.0) and result["variants"][0]["lift"] == pytest.approx(0.1)
    with pytest.raises(s.StatisticsInputError, match="sum_den > 0"):
        s.analyze({"metric": {"type": "ratio"}, "engine": "frequentist", "variants": [{**variants[0], "sum_den": 0}, variants[1]]})


def test_the_module_runs_without_scipy():
    """The results bundle carries numpy only."""
    code = "import sys, functions.results.statistics as s; s.frequentist_cells([[50, 50]], [[5, 9]], [[5, 9]]); print('scipy' in sys.modules)"
    repo = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo).stdout.strip() == "False"


def _with_control(control: dict) -> dict:
    return {"variants": [control, {"name": "b", "n": 10, "sum": 1, "sum_squares": 1}], "expected_weights": [1, 1]}


@pytest.mark.parametrize(("change", "message"), [
    ({"engine": "psychic"}, "engine must be one of"),
    ({"metric": {"type": "median"}}, "metric.type must be one of"),
    ({"variants": [{"name": "control", "n": 10, "sum": 1, "sum_squares": 1}]}, "at least 2"),
    (_with_control({"name": "a", "n": 1, "sum": 1, "sum_squares": 1}), "at least 2"),
    (_with_control({"name": "a", "n": 10, "sum": -1, "sum_squares": 1}), "negative"),
    (_with_control({"name": "a", "n": 10, "sum_squares": 1}), "'sum' is missing"),
    (_with_control({"name": "a", "n": 10, "sum": 11, "sum_squares": 11}), "conversions <= n"),
    (_with_control({"name": "a", "n": 10, "sum": True, "sum_squares": 1}), "finite number"),
    ({"expected_weights": [0.5, 0.5]}, "one per variant"),
    ({"alpha": 1.5}, "alpha"),
])
def test_bad_input_is_a_clear_value_error(change, message):
    with pytest.raises(s.StatisticsInputError, match=message):
        s.analyze(_payload(**change))
    assert issubclass(s.StatisticsInputError, ValueError)


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "invalid JSON"),
    (json.dumps(_payload(engine="psychic")), "engine must be one of"),
    ("[1, 2]", "must be a JSON object"),
])
def test_persona_stats_rejects_bad_input_with_exit_code_2(monkeypatch, capsys, text, message):
    code, out, err = _run_stats(monkeypatch, capsys, text)
    assert code == 2 and out == ""
    assert err.startswith("persona stats: ") and message in err
