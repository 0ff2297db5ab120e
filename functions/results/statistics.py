"""The statistics of A/B test results, from per-variant sufficient statistics: pure, numpy only.

The results bundle carries numpy but not scipy, so the few distribution functions needed
are written here (checked against scipy in the tests). Everything is vectorized over
arrays shaped [..., variants] (typically [cells, variants]); the first variant is the
control and every other one is compared with it.

Inputs. A variant is n units and, over them, Σy and Σy² of the metric (a proportion has
Σy = Σy² = conversions). Optional: Σx, Σx², Σxy of a pre-exposure covariate x (CUPED),
or, for a ratio metric such as average order value (revenue / orders), Σa, Σb, Σa², Σb²,
Σab of the per-unit numerator a and denominator b. `Moments` reduces any of these to
what the tests need: n, the mean m and the per-unit variance v, so that Var(m) = v / n.
- mean or proportion: m = Σy / n, v = (Σy² - n m²) / (n - 1) (the unbiased variance).
- ratio (delta method, Deng et al. 2018): R = Σa / Σb and, with the means ā, b̄ and the
  sample variances and covariance of a and b, v = (s²_a - 2 R s_ab + R² s²_b) / b̄².
- CUPED (Deng et al. 2013): θ = Σᵢ cov_i(y, x) / Σᵢ var_i(x), pooled over the variants
  from within-variant moments (so the treatment effect cannot leak into θ); the adjusted
  mean is m_i - θ (x̄_i - x̄) with x̄ the mean of x over every unit, the adjusted variance
  v_i - 2θ cov_i(y, x) + θ² var_i(x). The variance reduction 1 - v_adj / v is reported
  per variant and pooled; the pooled one is the squared within-variant correlation ρ².

Contrasts. For a treatment t against the control c: the absolute lift d = m_t - m_c with
Var(d) = v_t / n_t + v_c / n_c, and the relative lift r = m_t / m_c - 1 with the delta
method's Var(r) = Var(m_t) / m_c² + m_t² Var(m_c) / m_c⁴ (the variance of a ratio of
independent means). Intervals are estimate ± k × standard error (the Bayesian relative
one excepted, see 2); the engines differ in k and in what they add.

1. Frequentist (`frequentist`): Welch's t-test. t = d / se(d) with the Welch-Satterthwaite
   degrees of freedom ν = Var(d)² / (Var(m_t)² / (n_t - 1) + Var(m_c)² / (n_c - 1)); the
   two-sided p-value is 2 P(T_ν > |t|) and k = the t quantile at 1 - α/2 with ν (for the
   relative interval too). The Student-t tail is ½ I_x(ν/2, ½) with x = ν / (ν + t²), the
   regularized incomplete beta evaluated by its continued fraction (modified Lentz, each
   element stops when its own factor is within 1e-14 of 1, so it never takes more than
   ~50 steps whatever ν); log B(a, b) uses Stirling's series for large arguments so the
   tail keeps its accuracy for ν in the millions. The quantile is Newton's method on the
   tail, kept inside the bracket [normal quantile, Cauchy quantile] (bisecting when a step
   leaves it), started from the Cornish-Fisher expansion.
2. Bayesian (`bayesian`): flat prior and the normal approximation of each mean,
   μ_i ~ N(m_i, v_i / n_i), for means and proportions alike (for the sample sizes of a
   storefront test the Beta posterior of a proportion is normal to within ~1/√n; the
   tests check both). Then D = μ_t - μ_c ~ N(d, se²) exactly, so the chance to beat the
   control is Φ(d / se) and the expected loss of choosing the treatment, E[max(μ_c - μ_t,
   0)] in the metric's units, is se φ(d / se) - d Φ(-d / se). The credible interval of the
   relative lift comes from the delta method on the log scale (as GrowthBook's):
   log(μ_t / μ_c) ~ N(log m_t - log m_c, Var(m_t) / m_t² + Var(m_c) / m_c²), interval
   exp(· ± z_{1-α/2} sd) - 1, which follows the right skew of a ratio of means (the
   symmetric r ± z se(r) misses the Monte Carlo quantiles by ~3 % of the width at 5,000
   units a variant and 10 % conversion). Where a mean is not positive the log is
   undefined and r ± z se(r) is used.
3. Sequential (`sequential`): an always-valid confidence sequence, the normal-mixture
   boundary (Robbins; Howard et al. 2021; in its asymptotic form Waudby-Smith et al. 2023,
   as GrowthBook uses it) which is the confidence set of the mixture SPRT (Johari et al.
   2017). With N = n_c + n_t units so far, V = Var(d) and mixing variance τ² = ρ² V N for
   the effect, the mixture likelihood ratio against "no effect" is
       Λ = (1 + Nρ²)^(-1/2) exp(Nρ² / (1 + Nρ²) × z² / 2),   z = d / √V,
   the always-valid p-value is min(1, 1/Λ) and the interval is d ± √V k with
       k² = (1 + Nρ²) / (Nρ²) × (2 log(1/α) + log(1 + Nρ²)).
   Under no effect, 1/Λ ≤ α happens at some look with probability ≤ α however often one
   looks (Ville's inequality, asymptotically in n). The p-value is the current look's, not
   the running minimum over past looks: stateless and never smaller, so still valid.
   Tuning: ρ² = (2 log(1/α) + log(1 + 2 log(1/α))) / N*, which makes the interval
   narrowest (to first order) when N reaches N* = 2 × `planned_units_per_variant` (default
   10,000 per variant). A wrong N* costs width (slowly: through log(N / N*)), never
   validity; it must be fixed for the life of the test, not chosen from the data. The
   relative lift gets the same boundary with Var(r).
4. Sample-ratio mismatch (`sample_ratio_mismatch`): Pearson's χ² = Σ (n_i - N w_i)² / (N w_i)
   against the configured weights w (normalized), k - 1 degrees of freedom; the p-value is
   the regularized upper incomplete gamma Q((k-1)/2, χ²/2) (series below a + 1, continued
   fraction above, as in Numerical Recipes). Flagged when p < 0.001 (`SRM_THRESHOLD`),
   the usual threshold, since an SRM check runs on every test at every look.
5. Multiple testing (`holm`, `benjamini_hochberg`) over any array of p-values (variants ×
   metrics × cells), NaN left out: with p sorted ascending and m of them, Holm's adjusted
   p_(j) = max_{i≤j} min(1, (m - i + 1) p_(i)) controls the family-wise error;
   Benjamini-Hochberg's p_(j) = min_{i≥j} min(1, m p_(i) / i) the false discovery rate.
6. Planner (`days_for_mde`, `mde_for_days`): two-sided z-test sample size per variant,
   n = (z_{1-α'/2} + z_{power})² (v_c + v_t) / δ², with δ = relative MDE × baseline mean,
   v_t = p_t (1 - p_t) for a rate (p_t = p (1 + MDE)) and v_t = v_c for a mean. Daily
   traffic is split equally over the variants; α' = α / (variants - 1) with `bonferroni`
   (every treatment against the control), otherwise α. For a rate the MDE reachable with n
   units solves (n + z²) δ² - z² (1 - 2p) δ - 2 z² p (1 - p) = 0 for its positive root.

The normal tail is Φ(-z) = ½ Q(½, z² / 2) (the same incomplete gamma), its quantile Newton
on that tail from Abramowitz & Stegun 26.2.23.

`analyze` is the `persona stats` contract; `frequentist_cells` the vectorized entry point
for many cells at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

SRM_THRESHOLD = 0.001
DEFAULT_PLANNED_UNITS_PER_VARIANT = 10_000
ENGINES = ("frequentist", "bayesian", "sequential")
METRIC_TYPES = ("proportion", "mean", "ratio")

_TOLERANCE = 1e-14  # a continued fraction or series element stops when its factor/term is this close
_MAX_STEPS = 1000  # never reached in practice (see the module docstring); a guard, not a setting
_TINY = 1e-300  # Lentz's substitute for a zero denominator
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# ---------------------------------------------------------------- distributions

# Lanczos (g = 7, 9 terms): ~1e-15 relative for the small arguments it is used for.
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)
_STIRLING_FROM = 10.0


def _stirling_remainder(x: Array) -> Array:
    """lgamma(x) - ((x - ½) log x - x + ½ log 2π), the series to x⁻⁹ (error < 1e-14 from x = 10)."""
    inverse_square = 1.0 / (x * x)
    return (1 / 12 - inverse_square * (1 / 360 - inverse_square * (1 / 1260 - inverse_square * (1 / 1680 - inverse_square / 1188)))) / x


def _lgamma(x: ArrayLike) -> Array:
    """log Γ(x) for x > 0: Stirling's series from 10 on, Lanczos below."""
    x = np.asarray(x, dtype=float)
    large = np.maximum(x, _STIRLING_FROM)
    stirling = (large - 0.5) * np.log(large) - large + _HALF_LOG_2PI + _stirling_remainder(large)
    small = np.clip(x, 1e-300, _STIRLING_FROM)
    shifted = np.where(small < 0.5, small + 1.0, small) - 1.0  # Lanczos needs >= ½; Γ(x) = Γ(x + 1) / x
    series = _LANCZOS[0] + sum(c / (shifted + k) for k, c in enumerate(_LANCZOS[1:], start=1))
    base = shifted + _LANCZOS_G + 0.5
    lanczos = _HALF_LOG_2PI + (shifted + 0.5) * np.log(base) - base + np.log(series)
    lanczos = np.where(small < 0.5, lanczos - np.log(small), lanczos)
    return np.where(x >= _STIRLING_FROM, stirling, lanczos)


def _log_beta(a: Array, b: Array) -> Array:
    """log B(a, b) without the cancellation of lgamma(a) + lgamma(b) - lgamma(a + b) when one is large (as R's lbeta)."""
    p, q = np.minimum(a, b), np.maximum(a, b)
    share = p / (p + q)
    big_q = np.maximum(q, _STIRLING_FROM)
    big_pq = big_q + p
    both_large = (-0.5 * np.log(big_q) + _HALF_LOG_2PI + _stirling_remainder(np.maximum(p, _STIRLING_FROM))
                  + _stirling_remainder(big_q) - _stirling_remainder(big_pq)
                  + (p - 0.5) * np.log(share) + big_q * np.log1p(-share))
    one_large = (_lgamma(p) + _stirling_remainder(big_q) - _stirling_remainder(big_pq)
                 + p - p * np.log(big_pq) + (big_q - 0.5) * np.log1p(-p / big_pq))
    neither = _lgamma(p) + _lgamma(q) - _lgamma(p + q)
    return np.where(p >= _STIRLING_FROM, both_large, np.where(q >= _STIRLING_FROM, one_large, neither))


def _nonzero(value: Array) -> Array:
    return np.where(np.abs(value) < _TINY, _TINY, value)


def _beta_continued_fraction(a: Array, b: Array, x: Array) -> Array:
    """The continued fraction of I_x(a, b) (Numerical Recipes' betacf), each element stopping on its own."""
    c = np.ones_like(x)
    d = 1.0 / _nonzero(1.0 - (a + b) * x / (a + 1.0))
    fraction = d.copy()
    active = np.ones(x.shape, dtype=bool)
    for m in range(1, _MAX_STEPS):
        even = m * (b - m) * x / ((a - 1.0 + 2 * m) * (a + 2 * m))
        d = 1.0 / _nonzero(1.0 + even * d)
        c = _nonzero(1.0 + even / c)
        factor = d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1.0 + 2 * m))
        d = 1.0 / _nonzero(1.0 + odd * d)
        c = _nonzero(1.0 + odd / c)
        factor = factor * d * c
        fraction = np.where(active, fraction * factor, fraction)
        active &= np.abs(d * c - 1.0) >= _TOLERANCE
        if not active.any():
            break
    return fraction


def _regularized_beta(a: Array, b: Array, x: Array, complement: Array) -> Array:
    """I_x(a, b), with 1 - x given exactly as `complement` (small tails keep their precision)."""
    with np.errstate(divide="ignore"):  # log(0) = -inf is right: the front factor is then 0
        log_x = np.where(x < 0.5, np.log(np.maximum(x, _TINY)), np.log1p(-complement))
        log_complement = np.where(complement < 0.5, np.log(np.maximum(complement, _TINY)), np.log1p(-x))
    front = np.exp(a * log_x + b * log_complement - _log_beta(a, b))
    direct = x < (a + 1.0) / (a + b + 2.0)  # where the fraction converges fast; else by symmetry
    result = np.empty_like(x)
    if direct.any():
        result[direct] = front[direct] * _beta_continued_fraction(a[direct], b[direct], x[direct]) / a[direct]
    mirrored = ~direct
    if mirrored.any():
        fraction = _beta_continued_fraction(b[mirrored], a[mirrored], complement[mirrored])
        result[mirrored] = 1.0 - front[mirrored] * fraction / b[mirrored]
    result[x <= 0] = 0.0
    result[complement <= 0] = 1.0
    return result


def _regularized_upper_gamma(a: Array, x: Array) -> Array:
    """Q(a, x) = Γ(a, x) / Γ(a): the series of P below a + 1, the continued fraction of Q above."""
    a, x = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(x, dtype=float))
    infinite = np.isinf(x)
    x = np.where(infinite, 1.0, x)  # Q(a, inf) = 0, set at the end
    with np.errstate(divide="ignore"):
        front = np.exp(-x + a * np.log(x) - _lgamma(a))
    result = np.empty(x.shape)
    by_series = x < a + 1.0
    if by_series.any():
        sa, sx = a[by_series], x[by_series]
        term = 1.0 / sa
        total = term.copy()
        active = np.ones(sa.shape, dtype=bool)
        for k in range(1, _MAX_STEPS):
            term = term * sx / (sa + k)
            total = np.where(active, total + term, total)
            active &= np.abs(term) >= np.abs(total) * _TOLERANCE
            if not active.any():
                break
        result[by_series] = 1.0 - front[by_series] * total
    by_fraction = ~by_series
    if by_fraction.any():
        fa, fx = a[by_fraction], x[by_fraction]
        b = fx + 1.0 - fa
        c = np.full(fa.shape, 1.0 / _TINY)
        d = 1.0 / b
        fraction = d.copy()
        active = np.ones(fa.shape, dtype=bool)
        for i in range(1, _MAX_STEPS):
            an = -i * (i - fa)
            b = b + 2.0
            d = 1.0 / _nonzero(an * d + b)
            c = _nonzero(b + an / c)
            fraction = np.where(active, fraction * d * c, fraction)
            active &= np.abs(d * c - 1.0) >= _TOLERANCE
            if not active.any():
                break
        result[by_fraction] = front[by_fraction] * fraction
    result[infinite] = 0.0
    return result


def normal_sf(z: ArrayLike) -> Array:
    """P(Z > z) for a standard normal Z."""
    z = np.asarray(z, dtype=float)
    tail = 0.5 * _regularized_upper_gamma(np.full(z.shape, 0.5), 0.5 * z * z)
    return np.where(z >= 0, tail, 1.0 - tail)


def normal_cdf(z: ArrayLike) -> Array:
    return normal_sf(-np.asarray(z, dtype=float))


def normal_pdf(z: ArrayLike) -> Array:
    z = np.asarray(z, dtype=float)
    return np.exp(-0.5 * z * z - _HALF_LOG_2PI)


def _invert_upper_tail(sf: Callable[[Array], Array], pdf: Callable[[Array], Array], q: Array,
                       low: Array, high: Array, guess: Array) -> Array:
    """x with sf(x) = q for a decreasing tail sf: Newton steps inside a shrinking bracket, bisection when a step leaves it."""
    x = np.clip(guess, low, high)
    active = np.ones(x.shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(200):
            excess = sf(x) - q  # > 0: x is still left of the answer
            low = np.where(excess > 0, x, low)
            high = np.where(excess > 0, high, x)
            stepped = x + excess / pdf(x)
            inside = (stepped >= low) & (stepped <= high)
            following = np.where(inside, stepped, 0.5 * (low + high))
            # 1e-11, not less: the tail itself is accurate to ~1e-14, and Newton would bounce on that noise
            converged = np.abs(following - x) <= 1e-11 * np.maximum(1.0, np.abs(x))
            x = np.where(active, following, x)
            active &= ~converged
            if not active.any():
                break
    return x


def _upper_tail_and_sign(p: ArrayLike) -> tuple[Array, Array]:
    p = np.asarray(p, dtype=float)
    return np.minimum(p, 1.0 - p), np.where(p < 0.5, -1.0, 1.0)


def normal_quantile(p: ArrayLike) -> Array:
    """z with P(Z <= z) = p."""
    q, sign = _upper_tail_and_sign(p)
    safe_q = np.clip(q, 1e-300, 0.5)
    root = np.sqrt(-2.0 * np.log(safe_q))
    guess = root - (2.515517 + root * (0.802853 + root * 0.010328)) / (1 + root * (1.432788 + root * (0.189269 + root * 0.001308)))
    z = _invert_upper_tail(normal_sf, normal_pdf, safe_q, np.zeros_like(q), np.full(q.shape, 40.0), guess)
    z = np.where(q <= 0, np.inf, np.where(q >= 0.5, 0.0, z))
    return np.where(np.isnan(q), np.nan, sign * z)


def t_sf(t: ArrayLike, df: ArrayLike) -> Array:
    """P(T > t) for Student's t with df degrees of freedom (df may be fractional)."""
    t, df = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(df, dtype=float))
    square = t * t
    with np.errstate(invalid="ignore"):
        tail = 0.5 * _regularized_beta(0.5 * df, np.full(t.shape, 0.5), df / (df + square), square / (df + square))
    result = np.where(t > 0, tail, 1.0 - tail)
    result = np.where(np.isinf(t), np.where(t > 0, 0.0, 1.0), result)
    return np.where(np.isnan(t) | np.isnan(df), np.nan, result)


def t_pdf(t: ArrayLike, df: ArrayLike) -> Array:
    t, df = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(df, dtype=float))
    return np.exp(-_log_beta(0.5 * df, np.full(t.shape, 0.5)) - 0.5 * np.log(df) - 0.5 * (df + 1.0) * np.log1p(t * t / df))


def t_quantile(p: ArrayLike, df: ArrayLike) -> Array:
    """t with P(T <= t) = p."""
    p, df = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(df, dtype=float))
    q, sign = _upper_tail_and_sign(p)
    safe_q = np.clip(q, 1e-300, 0.5)
    safe_df = np.where(np.isnan(df), 1.0, df)
    z = normal_quantile(1.0 - safe_q)  # the t quantile lies between the normal and the Cauchy one (df >= 1)
    high = np.maximum(1.0 / np.tan(np.pi * safe_q), z)
    short = safe_df < 1  # below 1 degree of freedom the Cauchy quantile may fall short: double it until it brackets
    for _ in range(64):
        if not short.any():
            break
        short &= t_sf(high, safe_df) > safe_q
        high = np.where(short, 2.0 * high, high)
    z2 = z * z
    guess = z + (z * (z2 + 1) / 4 + z * (z2 * (5 * z2 + 16) + 3) / (96 * safe_df)
                 + z * (z2 * (z2 * (3 * z2 + 19) + 17) - 15) / (384 * safe_df**2)) / safe_df
    t = _invert_upper_tail(lambda x: t_sf(x, safe_df), lambda x: t_pdf(x, safe_df), safe_q, z, high, guess)
    t = np.where(q <= 0, np.inf, np.where(q >= 0.5, 0.0, t))
    return np.where(np.isnan(q) | np.isnan(df), np.nan, sign * t)


def chi2_sf(x: ArrayLike, df: ArrayLike) -> Array:
    """P(X > x) for a χ² with df degrees of freedom."""
    x, df = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(df, dtype=float))
    return np.where(x <= 0, 1.0, _regularized_upper_gamma(0.5 * df, np.maximum(0.5 * x, 0.0)))


# ---------------------------------------------------------------- moments

@dataclass(frozen=True)
class Moments:
    """What every engine needs of a variant: units, the mean and the per-unit variance (Var(mean) = var / n).

    Arrays shaped [..., variants], the control first.
    """

    n: Array
    mean: Array
    var: Array

    @property
    def mean_variance(self) -> Array:
        return self.var / self.n


def _sample_moments(n: Array, sums: Array, sums_sq: Array) -> tuple[Array, Array]:
    mean = sums / n
    return mean, np.maximum(sums_sq - sums * mean, 0.0) / (n - 1.0)


def _sample_covariance(n: Array, sum_a: Array, sum_b: Array, sum_ab: Array) -> Array:
    return (sum_ab - sum_a * sum_b / n) / (n - 1.0)


def moments(n: ArrayLike, sums: ArrayLike, sums_sq: ArrayLike) -> Moments:
    """Moments of a mean (or, with sums_sq = sums = conversions, a proportion) metric."""
    n, sums, sums_sq = (np.asarray(v, dtype=float) for v in (n, sums, sums_sq))
    mean, var = _sample_moments(n, sums, sums_sq)
    return Moments(n, mean, var)


def ratio_moments(n: ArrayLike, sum_num: ArrayLike, sum_den: ArrayLike, sum_num2: ArrayLike,
                  sum_den2: ArrayLike, sum_num_den: ArrayLike) -> Moments:
    """Moments of a ratio of per-unit sums (revenue / orders), the variance by the delta method."""
    n, sum_num, sum_den, sum_num2, sum_den2, sum_num_den = (
        np.asarray(v, dtype=float) for v in (n, sum_num, sum_den, sum_num2, sum_den2, sum_num_den))
    ratio = sum_num / sum_den
    _, var_num = _sample_moments(n, sum_num, sum_num2)
    mean_den, var_den = _sample_moments(n, sum_den, sum_den2)
    covariance = _sample_covariance(n, sum_num, sum_den, sum_num_den)
    var = np.maximum(var_num - 2 * ratio * covariance + ratio**2 * var_den, 0.0) / mean_den**2
    return Moments(n, ratio, var)


@dataclass(frozen=True)
class Cuped:
    """CUPED-adjusted moments, the pooled θ and the variance reduction (per variant, and pooled over them)."""

    moments: Moments
    theta: Array
    variance_reduction: Array
    pooled_variance_reduction: Array


def cuped(n: ArrayLike, sums: ArrayLike, sums_sq: ArrayLike, sum_x: ArrayLike, sum_x2: ArrayLike,
          sum_xy: ArrayLike) -> Cuped:
    """Adjust a metric by its pre-exposure covariate x with one θ pooled over the variants."""
    n, sums, sums_sq, sum_x, sum_x2, sum_xy = (np.asarray(v, dtype=float) for v in (n, sums, sums_sq, sum_x, sum_x2, sum_xy))
    mean_y, var_y = _sample_moments(n, sums, sums_sq)
    mean_x, var_x = _sample_moments(n, sum_x, sum_x2)
    cov_xy = _sample_covariance(n, sum_x, sums, sum_xy)
    degrees = n - 1.0
    pooled_cov = (cov_xy * degrees).sum(axis=-1, keepdims=True)
    pooled_var_x = (var_x * degrees).sum(axis=-1, keepdims=True)
    pooled_var_y = (var_y * degrees).sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(pooled_var_x > 0, pooled_cov / pooled_var_x, 0.0)
        overall_mean_x = sum_x.sum(axis=-1, keepdims=True) / n.sum(axis=-1, keepdims=True)
        adjusted_var = np.maximum(var_y - 2 * theta * cov_xy + theta**2 * var_x, 0.0)
        reduction = 1.0 - adjusted_var / var_y
        pooled = 1.0 - (adjusted_var * degrees).sum(axis=-1, keepdims=True) / pooled_var_y
    adjusted = Moments(n, mean_y - theta * (mean_x - overall_mean_x), adjusted_var)
    return Cuped(adjusted, theta[..., 0], reduction, pooled[..., 0])


# ---------------------------------------------------------------- engines

@dataclass(frozen=True)
class _Contrast:
    """Each treatment against the control; arrays shaped [..., variants - 1]."""

    abs_lift: Array
    abs_se: Array
    lift: Array
    lift_se: Array
    welch_df: Array
    units: Array  # n_c + n_t


def _contrast(m: Moments) -> _Contrast:
    se2 = m.mean_variance
    control_mean, control_se2, control_n = m.mean[..., :1], se2[..., :1], m.n[..., :1]
    treatment_mean, treatment_se2, treatment_n = m.mean[..., 1:], se2[..., 1:], m.n[..., 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        abs_var = treatment_se2 + control_se2
        lift = np.where(control_mean != 0, treatment_mean / control_mean - 1.0, np.nan)
        lift_var = treatment_se2 / control_mean**2 + treatment_mean**2 * control_se2 / control_mean**4
        welch_df = abs_var**2 / (treatment_se2**2 / (treatment_n - 1.0) + control_se2**2 / (control_n - 1.0))
    return _Contrast(treatment_mean - control_mean, np.sqrt(abs_var), lift, np.sqrt(lift_var), welch_df,
                     treatment_n + control_n)


@dataclass(frozen=True)
class Comparison:
    """Each treatment against the control, arrays shaped [..., variants - 1]; NaN where the engine has no such number.

    `ci_*` bound the relative lift, `abs_ci_*` the absolute one.
    """

    abs_lift: Array
    abs_ci_low: Array
    abs_ci_high: Array
    lift: Array
    ci_low: Array
    ci_high: Array
    p_value: Array
    chance_to_win: Array
    expected_loss: Array


def _comparison(c: _Contrast, multiplier: Array, p_value: Array | None = None, chance_to_win: Array | None = None,
                expected_loss: Array | None = None) -> Comparison:
    """Intervals estimate ± multiplier × standard error, for the absolute and the relative lift."""
    missing = np.full(c.abs_lift.shape, np.nan)
    return Comparison(
        abs_lift=c.abs_lift, abs_ci_low=c.abs_lift - multiplier * c.abs_se, abs_ci_high=c.abs_lift + multiplier * c.abs_se,
        lift=c.lift, ci_low=c.lift - multiplier * c.lift_se, ci_high=c.lift + multiplier * c.lift_se,
        p_value=missing if p_value is None else p_value,
        chance_to_win=missing if chance_to_win is None else chance_to_win,
        expected_loss=missing if expected_loss is None else expected_loss,
    )


def _standardized(c: _Contrast) -> Array:
    """d / se(d): ±inf for a difference without variance, 0 for no difference at all."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c.abs_se > 0, c.abs_lift / c.abs_se, np.where(c.abs_lift == 0, 0.0, np.sign(c.abs_lift) * np.inf))


def frequentist(m: Moments, alpha: float = 0.05) -> Comparison:
    """Welch's t-test of each treatment against the control, with t intervals."""
    c = _contrast(m)
    statistic = _standardized(c)
    df = np.where(np.isnan(c.welch_df), np.minimum(m.n[..., 1:], m.n[..., :1]) - 1.0, c.welch_df)  # 0/0: no variance at all
    p_value = np.minimum(1.0, 2.0 * t_sf(np.abs(statistic), df))
    return _comparison(c, t_quantile(np.full(df.shape, 1.0 - alpha / 2), df), p_value=p_value)


def frequentist_cells(n: ArrayLike, sums: ArrayLike, sums_sq: ArrayLike, alpha: float = 0.05) -> Comparison:
    """Welch's test for many cells at once: inputs shaped [cells, variants], the control first."""
    return frequentist(moments(n, sums, sums_sq), alpha)


def bayesian(m: Moments, alpha: float = 0.05) -> Comparison:
    """Chance to beat the control, expected loss and credible intervals under the normal approximation."""
    c = _contrast(m)
    standardized = _standardized(c)
    chance = normal_cdf(standardized)
    with np.errstate(invalid="ignore"):
        loss = c.abs_se * normal_pdf(standardized) - c.abs_lift * normal_cdf(-standardized)
    loss = np.where(c.abs_se > 0, loss, np.maximum(-c.abs_lift, 0.0))
    z = normal_quantile(1.0 - alpha / 2)
    result = _comparison(c, z, chance_to_win=chance, expected_loss=loss)
    control_mean, treatment_mean = m.mean[..., :1], m.mean[..., 1:]
    se2 = m.mean_variance
    positive = (control_mean > 0) & (treatment_mean > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_lift = np.log(treatment_mean) - np.log(control_mean)
        log_se = np.sqrt(se2[..., 1:] / treatment_mean**2 + se2[..., :1] / control_mean**2)
    return replace(result, ci_low=np.where(positive, np.expm1(log_lift - z * log_se), result.ci_low),
                   ci_high=np.where(positive, np.expm1(log_lift + z * log_se), result.ci_high))


def _mixture_precision(alpha: float, planned_units_per_variant: float) -> float:
    """ρ² of the normal mixture, so that the boundary is narrowest at 2 × planned units (Howard et al. 2021)."""
    log_inverse = 2.0 * math.log(1.0 / alpha)
    return (log_inverse + math.log(1.0 + log_inverse)) / (2.0 * planned_units_per_variant)


def sequential(m: Moments, alpha: float = 0.05,
               planned_units_per_variant: float = DEFAULT_PLANNED_UNITS_PER_VARIANT) -> Comparison:
    """Always-valid intervals and p-values (normal-mixture confidence sequence): any number of looks."""
    c = _contrast(m)
    spread = c.units * _mixture_precision(alpha, planned_units_per_variant)  # Nρ² = τ² / V
    multiplier = np.sqrt((1.0 + spread) / spread * (2.0 * math.log(1.0 / alpha) + np.log1p(spread)))
    standardized = _standardized(c)
    with np.errstate(over="ignore", invalid="ignore"):
        log_likelihood_ratio = -0.5 * np.log1p(spread) + spread / (1.0 + spread) * standardized**2 / 2
        p_value = np.minimum(1.0, np.exp(-log_likelihood_ratio))
    return _comparison(c, multiplier, p_value=p_value)


# ---------------------------------------------------------------- checks across variants and tests

def sample_ratio_mismatch(n: ArrayLike, weights: ArrayLike) -> Array:
    """χ² goodness-of-fit p-value of the units per variant against the configured weights; shape [...]."""
    n = np.asarray(n, dtype=float)
    weights = np.asarray(weights, dtype=float)
    expected = n.sum(axis=-1, keepdims=True) * weights / weights.sum(axis=-1, keepdims=True)
    statistic = ((n - expected) ** 2 / expected).sum(axis=-1)
    return chi2_sf(statistic, np.full(statistic.shape, n.shape[-1] - 1.0))


def _adjust(p_values: ArrayLike, adjust_sorted: Callable[[Array, Array], Array]) -> Array:
    """Apply a step-wise correction to the finite p-values of any array (sorted ascending, ranks 1..m), NaN kept."""
    p = np.asarray(p_values, dtype=float)
    flat = p.ravel()
    finite = np.flatnonzero(np.isfinite(flat))
    order = finite[np.argsort(flat[finite], kind="stable")]
    adjusted = flat.copy()
    ranks = np.arange(1, order.size + 1, dtype=float)
    adjusted[order] = np.minimum(1.0, adjust_sorted(flat[order], ranks))
    return adjusted.reshape(p.shape)


def holm(p_values: ArrayLike) -> Array:
    """Holm's step-down adjusted p-values (family-wise error)."""
    return _adjust(p_values, lambda p, rank: np.maximum.accumulate((rank.size - rank + 1) * p))


def benjamini_hochberg(p_values: ArrayLike) -> Array:
    """Benjamini-Hochberg step-up adjusted p-values (false discovery rate)."""
    return _adjust(p_values, lambda p, rank: np.minimum.accumulate((rank.size * p / rank)[::-1])[::-1])


# ---------------------------------------------------------------- planner

@dataclass(frozen=True)
class Baseline:
    """The control's expected mean and per-unit variance; a rate's treatment variance moves with the lift."""

    mean: float
    variance: float
    is_rate: bool = False

    @classmethod
    def rate(cls, rate: float) -> Baseline:
        if not 0 < rate < 1:
            raise ValueError(f"a baseline rate is in (0, 1), not {rate}")
        return cls(rate, rate * (1 - rate), is_rate=True)


def _z_sum_squared(alpha: float, power: float, variants: int, bonferroni: bool) -> float:
    tested_alpha = alpha / (variants - 1) if bonferroni else alpha
    z = normal_quantile(np.array([1 - tested_alpha / 2, power]))
    return float(z.sum() ** 2)


def units_per_variant(baseline: Baseline, relative_mde: float, variants: int = 2, alpha: float = 0.05,
                      power: float = 0.8, bonferroni: bool = False) -> float:
    """Units each variant needs to detect the relative MDE with the given power."""
    delta = relative_mde * baseline.mean
    treated = baseline.mean + delta
    treatment_variance = treated * (1 - treated) if baseline.is_rate else baseline.variance
    return _z_sum_squared(alpha, power, variants, bonferroni) * (baseline.variance + treatment_variance) / delta**2


def days_for_mde(baseline: Baseline, relative_mde: float, daily_units: float, variants: int = 2, alpha: float = 0.05,
                 power: float = 0.8, bonferroni: bool = False) -> int:
    """Whole days of the targeted traffic (split equally over the variants) to detect the relative MDE."""
    needed = units_per_variant(baseline, relative_mde, variants, alpha, power, bonferroni)
    return max(1, math.ceil(needed / (daily_units / variants) - 1e-9))


def mde_for_days(baseline: Baseline, days: float, daily_units: float, variants: int = 2, alpha: float = 0.05,
                 power: float = 0.8, bonferroni: bool = False) -> float:
    """The smallest relative lift (upwards) detectable with the given power after that many days."""
    n = days * daily_units / variants
    z2 = _z_sum_squared(alpha, power, variants, bonferroni)
    p = baseline.mean
    if baseline.is_rate:
        delta = (z2 * (1 - 2 * p) + math.sqrt((z2 * (1 - 2 * p)) ** 2 + 8 * (n + z2) * z2 * p * (1 - p))) / (2 * (n + z2))
    else:
        delta = math.sqrt(z2 * 2 * baseline.variance / n)
    return delta / p


# ---------------------------------------------------------------- `persona stats`

class StatisticsInputError(ValueError):
    """The payload cannot be analysed; the message names the field and the reason."""


_SUM_FIELDS = {
    "proportion": ("sum", "sum_squares"),
    "mean": ("sum", "sum_squares"),
    "ratio": ("sum_num", "sum_den", "sum_num2", "sum_den2", "sum_num_den"),
}
_CUPED_FIELDS = ("sum_x", "sum_x2", "sum_xy")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise StatisticsInputError(f"{where} must be a finite number, not {value!r}")
    if value < 0:
        raise StatisticsInputError(f"{where} must not be negative ({value})")
    return float(value)


def _required(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise StatisticsInputError(f"{where}: '{key}' is missing")
    return mapping[key]


def _column(variants: Sequence[Mapping[str, Any]], key: str) -> Array:
    return np.array([_number(_required(v, key, f"variants[{i}]"), f"variants[{i}].{key}") for i, v in enumerate(variants)])


def _variants(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    variants = _required(payload, "variants", "payload")
    if not isinstance(variants, list) or len(variants) < 2:
        raise StatisticsInputError("variants must be a list of at least 2 (the control first)")
    for i, variant in enumerate(variants):
        if not isinstance(variant, Mapping):
            raise StatisticsInputError(f"variants[{i}] must be an object")
        if not isinstance(_required(variant, "name", f"variants[{i}]"), str):
            raise StatisticsInputError(f"variants[{i}].name must be a string")
        n = _number(_required(variant, "n", f"variants[{i}]"), f"variants[{i}].n")
        if n != int(n) or n < 2:
            raise StatisticsInputError(f"variants[{i}].n must be a whole number of at least 2, not {variant['n']!r}")
    return variants


def _choice(payload: Mapping[str, Any], key: str, where: str, choices: Sequence[str]) -> str:
    value = _required(payload, key, where)
    if value not in choices:
        raise StatisticsInputError(f"{where}.{key} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _weights(payload: Mapping[str, Any], count: int) -> Array:
    weights = payload.get("expected_weights")
    if weights is None:
        return np.full(count, 1.0 / count)
    if not isinstance(weights, list) or len(weights) != count:
        raise StatisticsInputError(f"expected_weights must be a list of {count} numbers, one per variant")
    values = np.array([_number(w, f"expected_weights[{i}]") for i, w in enumerate(weights)])
    if (values <= 0).any():
        raise StatisticsInputError("expected_weights must all be positive")
    return values


def _checked_moments(metric_type: str, variants: Sequence[Mapping[str, Any]], n: Array) -> tuple[Moments, Moments, Cuped | None]:
    """(observed moments, moments to test, CUPED details or None) after the consistency checks of the metric type."""
    columns = {key: _column(variants, key) for key in _SUM_FIELDS[metric_type]}
    if metric_type == "ratio":
        if (columns["sum_den"] <= 0).any():
            raise StatisticsInputError("a ratio metric needs sum_den > 0 in every variant")
        observed = ratio_moments(n, *columns.values())
        return observed, observed, None
    sums, sums_sq = columns["sum"], columns["sum_squares"]
    if metric_type == "proportion" and ((sums > n).any() or (sums_sq != sums).any()):
        raise StatisticsInputError("a proportion needs sum = sum_squares = conversions <= n in every variant")
    if (sums_sq * n < sums**2 * (1 - 1e-9)).any():
        raise StatisticsInputError("sum_squares cannot be below sum² / n (the variance would be negative)")
    observed = moments(n, sums, sums_sq)
    if not any(key in v for v in variants for key in _CUPED_FIELDS):
        return observed, observed, None
    adjusted = cuped(n, sums, sums_sq, *(_column(variants, key) for key in _CUPED_FIELDS))
    return observed, adjusted.moments, adjusted


def _json_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def analyze(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The `persona stats` contract: variant totals in, lifts, intervals, p-values and the SRM check out.

    Beyond the contract, all optional: `expected_weights` (equal when absent), a `ratio`
    metric (variants give sum_num, sum_den, sum_num2, sum_den2, sum_num_den instead of
    sum and sum_squares), CUPED (every variant gives sum_x, sum_x2, sum_xy) and the
    sequential engine's `planned_units_per_variant`. Numbers must be finite and not
    negative. Raises StatisticsInputError (a ValueError) on anything else.
    """
    if not isinstance(payload, Mapping):
        raise StatisticsInputError("the payload must be a JSON object")
    metric = _required(payload, "metric", "payload")
    if not isinstance(metric, Mapping):
        raise StatisticsInputError("metric must be an object with a 'type'")
    metric_type = _choice(metric, "type", "metric", METRIC_TYPES)
    engine = _choice(payload, "engine", "payload", ENGINES)
    alpha = payload.get("alpha", 0.05)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise StatisticsInputError(f"alpha must be a number in (0, 1), not {alpha!r}")
    planned = payload.get("planned_units_per_variant", DEFAULT_PLANNED_UNITS_PER_VARIANT)
    if _number(planned, "planned_units_per_variant") < 1:
        raise StatisticsInputError("planned_units_per_variant must be at least 1")
    variants = _variants(payload)
    n = _column(variants, "n")
    observed, tested, adjustment = _checked_moments(metric_type, variants, n)
    weights = _weights(payload, len(variants))

    if engine == "frequentist":
        result = frequentist(tested, alpha)
    elif engine == "bayesian":
        result = bayesian(tested, alpha)
    else:
        result = sequential(tested, alpha, planned)
    srm_p_value = float(sample_ratio_mismatch(n, weights))

    treatments = []
    for i, variant in enumerate(variants[1:]):
        row = {
            "name": variant["name"],
            "n": int(n[i + 1]),
            "mean": _json_number(observed.mean[i + 1]),
            "lift": _json_number(result.lift[i]),
            "ci": [_json_number(result.ci_low[i]), _json_number(result.ci_high[i])],
            "p_value": _json_number(result.p_value[i]),
            "chance_to_win": _json_number(result.chance_to_win[i]),
            "expected_loss": _json_number(result.expected_loss[i]),
            "abs_lift": _json_number(result.abs_lift[i]),
            "abs_ci": [_json_number(result.abs_ci_low[i]), _json_number(result.abs_ci_high[i])],
        }
        if adjustment is not None:
            row["adjusted_mean"] = _json_number(tested.mean[i + 1])
        treatments.append(row)
    output: dict[str, Any] = {
        "engine": engine,
        "metric": metric_type,
        "alpha": alpha,
        "srm_p_value": srm_p_value,
        "srm_flag": srm_p_value < SRM_THRESHOLD,
        "control": {"name": variants[0]["name"], "n": int(n[0]), "mean": _json_number(observed.mean[0])},
        "variants": treatments,
    }
    if adjustment is not None:
        output["cuped"] = {"theta": float(adjustment.theta),
                           "variance_reduction": _json_number(adjustment.pooled_variance_reduction)}
    if engine == "sequential":
        output["planned_units_per_variant"] = planned
    return output
