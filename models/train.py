"""Train a recommender and write its artifact folder (see functions/recommend/artifacts.py).

Every algorithm here ends in the same factorized form, because that is what the
serving graph computes for a person's recent history h with weights w:

    u = sum_h w_h * Q[h]          (fold-in: history -> user vector, f numbers)
    scores = u @ Y^T              (every item scored)

`Q` (fold-in) and `Y` (item factors) are N × f. Folding in at request time is what
lets a one-minute-old anonymous session get personal results without a retrain.

- `lrla` (default): a low-rank linear autoencoder, the rank-f closed form of
  "predict the rest of a person's items from the ones they have" (EASE/DLAE family):
  minimise ||X - XB||^2 + ||Λ^½ B||^2 with rank(B) <= f, Λ = λI + p/(1-p)·diag(G).
  The diagonal term (dropout-style, Steck 2020) keeps B from learning "an item
  predicts itself". Solution: W = top-f eigenvectors of G A⁻¹ G with A = G + Λ,
  then Y = W, Q = A⁻¹ G W. With p = 0 this is exactly Q = V_f·diag(s/(s+λ)), Y = V_f
  from the eigendecomposition G = V diag(s) Vᵀ. Needs the dense N × N Gram matrix:
  fine up to some ten thousand items.
- `ials`: implicit-feedback ALS (Hu, Koren, Volinsky 2008) on sparse data, any catalog
  size; its fold-in is the approximate one, Q = Y (YᵀY + λI)⁻¹ (it leaves out the
  history's own confidence term, so serving stays a single matrix product).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from functions.recommend.artifacts import COPURCHASE_FILE, METADATA_FILE, MODEL_FILE, Lineage, ModelMetadata, subject_hash
from models import item_signals
from models.data import TYPE_WEIGHTS, DataError, Interactions, SparseMatrix

DEFAULT_ALGORITHM = "lrla"
DEFAULT_FACTORS = 64
# lrla's were chosen on MovieLens 100k with the hold-out splits of seeds 1-3 (the reported
# split uses seed 42); ials' are the best of implicit's ALS on the same grid. See README.md.
DEFAULT_PARAMETERS: dict[str, dict[str, float | int]] = {
    "lrla": {
        "regularization": 3.0,  # λ as a multiple of the mean diagonal of G: scale-free across data sets
        "dropout": 0.8,  # p of the diagonal penalty p/(1-p)·diag(G)
        "user_exponent": 0.5,  # a user's row weighs n_u^-0.5 in G, so heavy users do not dominate it
    },
    "ials": {"regularization": 20.0, "alpha": 2.0, "iterations": 15, "seed": 42},
}
ALGORITHMS = tuple(DEFAULT_PARAMETERS)
# lrla holds a few dense N × N float64 matrices at once: 15,000 items is about 7 GB.
LRLA_MAX_ITEMS = 15_000


@dataclass(frozen=True)
class Factors:
    """What the serving graph needs: fold-in matrix Q and item factors Y (both float32 N × f)."""

    fold_in: np.ndarray
    items: np.ndarray

    def scores(self, history: np.ndarray) -> np.ndarray:
        """Scores of every item for each row of weighted history (dense [B, N])."""
        return (history @ self.fold_in) @ self.items.T


def fit(matrix: SparseMatrix, algorithm: str = DEFAULT_ALGORITHM, factors: int = DEFAULT_FACTORS, **params: Any) -> Factors:
    """Factors of `algorithm` fitted to users × items; `params` override its defaults."""
    if algorithm not in DEFAULT_PARAMETERS:
        raise ValueError(f"unknown algorithm {algorithm!r} (known: {', '.join(ALGORITHMS)})")
    merged = resolved_parameters(algorithm, params)
    rank = min(factors, matrix.shape[1])  # a tiny catalog cannot use more factors than it has items
    fitter = _fit_lrla if algorithm == "lrla" else _fit_ials
    return fitter(matrix, rank, **merged)


def resolved_parameters(algorithm: str, overrides: dict[str, Any]) -> dict[str, Any]:
    unknown = set(overrides) - set(DEFAULT_PARAMETERS[algorithm])
    if unknown:
        raise ValueError(f"{algorithm} has no parameter(s) {', '.join(sorted(unknown))}")
    return {**DEFAULT_PARAMETERS[algorithm], **overrides}


def _fit_lrla(matrix: SparseMatrix, factors: int, *, regularization: float, dropout: float, user_exponent: float) -> Factors:
    if not 0 <= dropout < 1:
        raise ValueError("dropout must be in [0, 1)")
    if matrix.shape[1] > LRLA_MAX_ITEMS:
        raise DataError(
            f"lrla works on a dense items × items matrix and {matrix.shape[1]} items is over its limit of "
            f"{LRLA_MAX_ITEMS}; train with --algorithm ials"
        )
    activity = np.bincount(matrix.row_of_entries(), weights=matrix.values, minlength=matrix.shape[0])
    row_weights = np.where(activity > 0, np.maximum(activity, 1e-12) ** -user_exponent, 0.0)
    gram = matrix.gram(row_weights)
    diagonal = np.diag(gram)
    penalty = regularization * max(diagonal.mean(), 1e-12) + dropout / (1 - dropout) * diagonal
    solved = np.linalg.solve(gram + np.diag(penalty), gram)  # A⁻¹G
    target = gram @ solved  # G A⁻¹ G, symmetric up to rounding
    _, vectors = np.linalg.eigh((target + target.T) / 2)
    basis = vectors[:, ::-1][:, :factors]
    return Factors(fold_in=(solved @ basis).astype(np.float32), items=basis.astype(np.float32))


def _fit_ials(
    matrix: SparseMatrix, factors: int, *, regularization: float, alpha: float, iterations: int, seed: int
) -> Factors:
    rng = np.random.default_rng(seed)
    items = rng.normal(0.0, 0.01, (matrix.shape[1], factors))
    by_item = matrix.transpose()
    for _ in range(int(iterations)):
        users = _als_half_step(matrix, items, regularization, alpha)
        items = _als_half_step(by_item, users, regularization, alpha)
    fold_in = items @ np.linalg.inv(items.T @ items + regularization * np.eye(factors))
    return Factors(fold_in=fold_in.astype(np.float32), items=items.astype(np.float32))


def _als_half_step(rows: SparseMatrix, fixed: np.ndarray, regularization: float, alpha: float) -> np.ndarray:
    """Exact least squares for every row with confidence 1 + alpha·weight on its entries.

    Rows are solved in batches of similar length (padded to a power of two), so numpy
    does the work in a few stacked products instead of a Python loop per row, and
    memory stays bounded whatever the number of rows. A row without entries stays 0."""
    factors = fixed.shape[1]
    shared = fixed.T @ fixed + regularization * np.eye(factors)
    lengths = rows.row_lengths()
    solved = np.zeros((rows.shape[0], factors))
    width = np.where(lengths > 0, 2 ** np.ceil(np.log2(np.maximum(lengths, 1))), 0).astype(np.int64)
    for padded in np.unique(width[width > 0]):
        members = np.flatnonzero(width == padded)
        per_batch = max(1, 4_000_000 // (padded * factors))
        for start in range(0, len(members), per_batch):
            batch = members[start : start + per_batch]
            offsets = np.arange(padded)
            present = offsets < lengths[batch, None]
            entries = np.where(present, rows.indptr[batch, None] + offsets, 0)
            vectors = fixed[rows.indices[entries]] * present[..., None]
            confidence = alpha * rows.values[entries].astype(np.float64) * present
            lhs = shared + np.einsum("blf,blg->bfg", vectors * confidence[..., None], vectors, optimize=True)
            rhs = np.einsum("blf,bl->bf", vectors, 1.0 + confidence)
            solved[batch] = np.linalg.solve(lhs, rhs[..., None])[..., 0]
    return solved


def model_version(trained_at: datetime, algorithm: str, factors: int) -> str:
    """e.g. 20261126T150000Z-lrla64: sorts by time, says what it is."""
    return f"{trained_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{algorithm}{factors}"


def lineage(data: Interactions) -> Lineage:
    salt = secrets.token_hex(16)
    hashes = sorted(subject_hash(salt, user) for user in data.user_ids)
    return Lineage(salt=salt, subjects=len(hashes), subject_hashes=hashes)


def train_model(
    interactions: Interactions,
    out_dir: str | Path,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
    factors: int = DEFAULT_FACTORS,
    evaluate: bool = False,
    now: datetime | None = None,
    **params: Any,
) -> ModelMetadata:
    """Fit, export and describe a model in `out_dir`: model.onnx, metadata.json and,
    when anything was ever bought together, copurchase.npz. With `evaluate`, the
    metrics of the same settings on the hold-out split go into the metadata."""
    from models import onnx_export  # onnx is needed here only, not by whoever imports train

    matrix = interactions.matrix()
    parameters = resolved_parameters(algorithm, params)
    metrics: dict[str, float] = {}
    if evaluate:
        from models.evaluate import evaluate_algorithm

        metrics = evaluate_algorithm(matrix, algorithm, factors, parameters)
    started = time.perf_counter()
    model = fit(matrix, algorithm, factors, **parameters)
    fitted = time.perf_counter()
    rank = model.items.shape[1]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    onnx_export.save(model, out / MODEL_FILE)
    pairs = item_signals.copurchases(interactions)
    (out / COPURCHASE_FILE).unlink(missing_ok=True)  # a stale file from an earlier model would lie
    if pairs is not None:
        pairs.save(out / COPURCHASE_FILE)
    trained_at = (now or datetime.now(UTC)).replace(microsecond=0)
    metadata = ModelMetadata(
        model_version=model_version(trained_at, algorithm, rank),
        trained_at=trained_at,
        algorithm=algorithm,
        parameters={
            "factors": rank,
            **parameters,
            "type_weights": TYPE_WEIGHTS,
            "copurchase_neighbours": item_signals.MAX_NEIGHBOURS if pairs is not None else 0,
            "training_data": interactions.source,
            "fit_seconds": round(fitted - started, 3),
        },
        metrics=metrics,
        interactions=len(interactions),
        items=interactions.item_ids,
        popularity=item_signals.popularity(interactions).tolist(),
        trending=item_signals.trending(interactions).tolist(),
        lineage=lineage(interactions),
    )
    (out / METADATA_FILE).write_text(metadata.model_dump_json())
    return metadata
