"""Offline evaluation: one hold-out split, top-k metrics, and peers to compare against.

Split: every user with at least 5 distinct items has 20% of them (rounded, at least
one) held out at random (seed 42); everything else is training data. Random rather
than "latest 20%": in MovieLens the timestamps record when a rating was typed in
(many users rated dozens of films in one sitting), so time order says little about
what came next, and a random per-user hold-out is the protocol published numbers use.

Every model ranks all items the user has no training interaction with. Metrics,
averaged over evaluated users (relevance is binary: held out or not):
- ndcg@k: DCG of the top k over the DCG of an ideal list of min(k, |held out|) hits;
- precision@k: hits / k;
- recall@k: hits / min(k, |held out|), so a user with more than k held-out items can
  still reach 1;
- coverage@k: share of the catalog that appears in anyone's top k.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from models.data import DataError, Interactions, SparseMatrix
from models.train import ALGORITHMS, DEFAULT_FACTORS, fit, resolved_parameters

SEED = 42
HOLDOUT_FRACTION = 0.2
MIN_INTERACTIONS = 5
K = 10
# implicit's ALS is tried with each of these and reported with the best, so that the
# comparison is not won by a bad setting of the peer.
IMPLICIT_ALPHAS = (1.0, 2.0, 4.0)
IMPLICIT_REGULARIZATIONS = (0.01, 1.0, 10.0, 20.0, 40.0)
IMPLICIT_ITERATIONS = 15

# (user indices [B], their training rows, dense [B, N]) -> scores [B, N]
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Split:
    train: SparseMatrix
    held_out: list[np.ndarray]  # per user, item indices; empty for users not evaluated

    @property
    def evaluated_users(self) -> int:
        return sum(1 for items in self.held_out if len(items))


@dataclass(frozen=True)
class Result:
    name: str
    metrics: dict[str, float]
    parameters: dict[str, Any] = field(default_factory=dict)
    fit_seconds: float = 0.0


def holdout_split(
    matrix: SparseMatrix, fraction: float = HOLDOUT_FRACTION, min_interactions: int = MIN_INTERACTIONS, seed: int = SEED
) -> Split:
    lengths = matrix.row_lengths()
    rows = matrix.row_of_entries()
    # A random rank of each entry within its row; the lowest ranks are held out.
    order = np.lexsort((np.random.default_rng(seed).random(matrix.nnz), rows))
    rank = np.empty(matrix.nnz, np.int64)
    rank[order] = np.arange(matrix.nnz) - matrix.indptr[rows[order]]
    quota = np.where(lengths >= min_interactions, np.maximum(1, np.round(fraction * lengths)), 0).astype(np.int64)
    if not quota.any():
        raise DataError(f"no user has {min_interactions} or more distinct items: nothing to hold out for an evaluation")
    held = rank < quota[rows]
    held_out = [np.sort(matrix.indices[start:stop][held[start:stop]]) for start, stop in zip(matrix.indptr[:-1], matrix.indptr[1:])]
    return Split(matrix.select_entries(~held), held_out)


def top_k(scores: np.ndarray, exclude: np.ndarray, k: int) -> np.ndarray:
    """Best k item indices per row, best first (ties: lower index); -1 where fewer are allowed."""
    k = min(k, scores.shape[1])
    allowed = np.where(exclude, -np.inf, scores)
    candidates = np.argpartition(-allowed, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(allowed, candidates, axis=1)
    order = np.lexsort((candidates, -values), axis=1)
    best = np.take_along_axis(candidates, order, axis=1)
    return np.where(np.take_along_axis(values, order, axis=1) == -np.inf, -1, best)


def ranking_metrics(top: np.ndarray, held_out: list[np.ndarray], n_items: int) -> dict[str, float]:
    """Metrics of top-k lists (rows of `top`, -1 pads) against each row's held-out items."""
    k = top.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg, precision, recall = [], [], []
    for ranked, relevant in zip(top, held_out, strict=True):
        hits = np.isin(ranked, relevant)
        ideal = min(k, len(relevant))
        ndcg.append(float(hits @ discounts) / discounts[:ideal].sum())
        precision.append(hits.sum() / k)
        recall.append(hits.sum() / ideal)
    shown = np.unique(top[top >= 0])
    return {
        f"ndcg@{k}": float(np.mean(ndcg)),
        f"precision@{k}": float(np.mean(precision)),
        f"recall@{k}": float(np.mean(recall)),
        f"coverage@{k}": len(shown) / n_items,
    }


def score_split(split: Split, scorer: Scorer, k: int = K) -> dict[str, float]:
    """Rank every evaluated user's non-training items with `scorer` and measure the result."""
    tops, held = [], []
    for start, stop in split.train.row_chunks(max_cells=4_000_000):
        users = np.arange(start, stop)
        evaluated = np.array([len(split.held_out[u]) > 0 for u in users], bool)
        if not evaluated.any():
            continue
        rows = split.train.dense_rows(start, stop)[evaluated]
        tops.append(top_k(scorer(users[evaluated], rows), rows > 0, k))
        held.extend(split.held_out[u] for u in users[evaluated])
    return ranking_metrics(np.concatenate(tops), held, split.train.shape[1])


def evaluate_algorithm(
    matrix: SparseMatrix, algorithm: str, factors: int = DEFAULT_FACTORS, parameters: dict[str, Any] | None = None, k: int = K
) -> dict[str, float]:
    """Metrics of one of our algorithms, trained on the split's training part."""
    split = holdout_split(matrix)
    model = fit(split.train, algorithm, factors, **(parameters or {}))
    return score_split(split, lambda _users, rows: model.scores(rows), k)


@dataclass(frozen=True)
class Comparison:
    data: dict[str, Any]
    split: dict[str, Any]
    k: int
    results: list[Result]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        columns = [f"ndcg@{self.k}", f"precision@{self.k}", f"recall@{self.k}", f"coverage@{self.k}"]
        header = f"{'model':<14}" + "".join(f"{c:>14}" for c in columns) + f"{'fit s':>8}  parameters"
        lines = [header, "-" * len(header)]
        for result in self.results:
            settings = ", ".join(f"{name}={value}" for name, value in result.parameters.items())
            values = "".join(f"{result.metrics[c]:>14.4f}" for c in columns)
            lines.append(f"{result.name:<14}{values}{result.fit_seconds:>8.2f}  {settings}")
        return "\n".join(lines)


def compare(
    data: Interactions,
    k: int = K,
    factors: int = DEFAULT_FACTORS,
    algorithms: tuple[str, ...] = ALGORITHMS,
    with_implicit: bool = True,
    progress: Callable[[str], None] = lambda _line: None,
) -> Comparison:
    """Our algorithms (default settings), popularity, and implicit's ALS when installed."""
    split = holdout_split(data.matrix())
    popularity = np.bincount(split.train.indices, weights=split.train.values, minlength=split.train.shape[1])
    results = [Result("popularity", score_split(split, lambda _users, rows: np.broadcast_to(popularity, rows.shape), k))]
    for algorithm in algorithms:
        progress(f"fitting {algorithm}...")
        started = time.perf_counter()
        model = fit(split.train, algorithm, factors)
        seconds = time.perf_counter() - started
        metrics = score_split(split, lambda _users, rows, model=model: model.scores(rows), k)
        parameters = {"factors": model.items.shape[1], **resolved_parameters(algorithm, {})}
        results.append(Result(algorithm, metrics, parameters, round(seconds, 3)))
    if with_implicit:
        progress(f"fitting implicit ALS ({len(IMPLICIT_ALPHAS) * len(IMPLICIT_REGULARIZATIONS)} settings)...")
        peer = implicit_als(split, k, factors)
        if peer is None:
            progress("implicit is not installed: no peer in this comparison")
        else:
            results.append(peer)
    return Comparison(
        data={"source": data.source, "users": len(data.user_ids), "items": len(data.item_ids), "interactions": len(data)},
        split={
            "method": "random per-user hold-out",
            "fraction": HOLDOUT_FRACTION,
            "min_interactions": MIN_INTERACTIONS,
            "seed": SEED,
            "evaluated_users": split.evaluated_users,
        },
        k=k,
        results=results,
    )


def implicit_als(split: Split, k: int = K, factors: int = DEFAULT_FACTORS) -> Result | None:
    """implicit's ALS with its best (by ndcg@k) setting of the grid; None if not installed."""
    try:
        from implicit.cpu.als import AlternatingLeastSquares
        from scipy.sparse import csr_matrix
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    train = csr_matrix((split.train.values, split.train.indices, split.train.indptr), shape=split.train.shape)
    best: Result | None = None
    for alpha in IMPLICIT_ALPHAS:
        for regularization in IMPLICIT_REGULARIZATIONS:
            parameters = {"factors": factors, "alpha": alpha, "regularization": regularization, "iterations": IMPLICIT_ITERATIONS, "random_state": SEED}
            started = time.perf_counter()
            with threadpool_limits(1, "blas"):  # implicit parallelises itself; threaded BLAS slows it down
                model = AlternatingLeastSquares(**parameters)
                model.fit(train, show_progress=False)
            seconds = time.perf_counter() - started
            users, items = np.asarray(model.user_factors), np.asarray(model.item_factors)
            metrics = score_split(split, lambda chosen, _rows, users=users, items=items: users[chosen] @ items.T, k)
            if best is None or metrics[f"ndcg@{k}"] > best.metrics[f"ndcg@{k}"]:
                best = Result("implicit-als", metrics, {**parameters, "best_of": len(IMPLICIT_ALPHAS) * len(IMPLICIT_REGULARIZATIONS)}, round(seconds, 3))
    return best
