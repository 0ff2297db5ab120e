from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from models import evaluate
from models.data import DataError, Interactions, SparseMatrix, movielens_100k


def test_metrics_on_a_hand_computed_case():
    top = np.array([[1, 2, 3], [4, 5, 6], [7, -1, -1]])
    held_out = [np.array([2, 9]), np.array([8]), np.array([7, 1, 2, 3])]
    metrics = evaluate.ranking_metrics(top, held_out, n_items=20)
    # user 1: a hit at rank 2 of 2 relevant; user 2: nothing; user 3: a hit at rank 1, list cut short by -1 pads.
    ndcg_1 = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    ndcg_3 = 1 / (1 + 1 / np.log2(3) + 1 / np.log2(4))
    assert metrics["ndcg@3"] == pytest.approx((ndcg_1 + 0 + ndcg_3) / 3)
    assert metrics["precision@3"] == pytest.approx((1 / 3 + 0 + 1 / 3) / 3)
    assert metrics["recall@3"] == pytest.approx((1 / 2 + 0 + 1 / 3) / 3)  # denominators min(3, |held out|)
    assert metrics["coverage@3"] == pytest.approx(7 / 20)  # items 1..7 shown, pads not counted


def test_a_perfect_list_scores_one():
    metrics = evaluate.ranking_metrics(np.array([[4, 2]]), [np.array([2, 4, 6])], n_items=8)
    assert metrics["ndcg@2"] == pytest.approx(1.0) and metrics["recall@2"] == pytest.approx(1.0)


def test_top_k_orders_by_score_then_index_and_never_returns_excluded_items():
    scores = np.array([[0.1, 0.9, 0.5, 0.9, 0.7], [3.0, 2.0, 1.0, 0.0, -1.0]])
    exclude = np.array([[False, False, False, True, False], [True, True, True, False, False]])
    np.testing.assert_array_equal(evaluate.top_k(scores, exclude, 3), [[1, 4, 2], [3, 4, -1]])


def random_matrix(users=60, items=30, density=0.3, seed=0) -> SparseMatrix:
    dense = np.random.default_rng(seed).random((users, items)) < density
    rows, cols = np.nonzero(dense)
    return SparseMatrix.from_coo(rows, cols, np.ones(len(rows), np.float32), dense.shape)


def test_holdout_split_keeps_a_fifth_of_each_active_user_aside_reproducibly():
    matrix = random_matrix()
    split = evaluate.holdout_split(matrix)
    lengths = matrix.row_lengths()
    for user in range(matrix.shape[0]):
        everything = set(matrix.row(user)[0].tolist())
        held, kept = set(split.held_out[user].tolist()), set(split.train.row(user)[0].tolist())
        expected = max(1, round(0.2 * lengths[user])) if lengths[user] >= 5 else 0
        assert len(held) == expected and held | kept == everything and not held & kept
    again = evaluate.holdout_split(matrix)
    other = evaluate.holdout_split(matrix, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(split.held_out, again.held_out, strict=True))
    assert any(not np.array_equal(a, b) for a, b in zip(split.held_out, other.held_out, strict=True))


def test_nothing_to_evaluate_is_a_data_error():
    with pytest.raises(DataError, match="5 or more"):
        evaluate.holdout_split(random_matrix(users=10, items=4, density=0.9))


def test_popularity_scores_below_a_model_on_structured_data():
    # Two tastes over disjoint halves of the catalog: a model must beat "most popular".
    rng = np.random.default_rng(1)
    rows, cols = [], []
    for user in range(80):
        half = (user % 2) * 15
        chosen = rng.choice(15, 8, replace=False) + half
        rows += [user] * 8
        cols += chosen.tolist()
    users, items, weights = np.array(rows, np.int32), np.array(cols, np.int32), np.ones(len(rows), np.float32)
    data = Interactions([f"u{i}" for i in range(80)], [f"i{i}" for i in range(30)], users, items, weights, None, None, "synthetic")
    matrix = data.matrix()
    comparison = evaluate.compare(data, k=5, factors=8, with_implicit=False)
    by_name = {r.name: r.metrics["ndcg@5"] for r in comparison.results}
    assert set(by_name) == {"popularity", "lrla", "ials"}
    assert by_name["lrla"] > by_name["popularity"] + 0.1 and by_name["ials"] > by_name["popularity"] + 0.1
    assert comparison.split["evaluated_users"] == 80 and "lrla" in comparison.table()
    assert evaluate.evaluate_algorithm(matrix, "lrla", 8, k=5)["ndcg@5"] == pytest.approx(by_name["lrla"])


@pytest.mark.skipif(importlib.util.find_spec("implicit") is None, reason="implicit is not installed (it is in the dev dependencies)")
def test_on_movielens_our_default_model_is_at_least_as_good_as_implicit_als():
    data = movielens_100k()
    if data is None:
        pytest.skip("recbole (which ships MovieLens 100k) is not installed; make install adds it")
    comparison = evaluate.compare(data, algorithms=("lrla",))
    ndcg = {r.name: r.metrics["ndcg@10"] for r in comparison.results}
    print("\n" + comparison.table())
    assert ndcg["lrla"] >= ndcg["implicit-als"], comparison.table()
    assert ndcg["lrla"] > 1.5 * ndcg["popularity"], comparison.table()
