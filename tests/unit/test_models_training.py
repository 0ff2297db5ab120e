from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import onnx
import onnxruntime
import pytest

from functions.recommend.artifacts import COPURCHASE_FILE, GRAPH_INPUTS, GRAPH_OUTPUTS, METADATA_FILE, MODEL_FILE, ModelMetadata, subject_hash
from models import item_signals, onnx_export, train
from models.data import DataError, SparseMatrix, load_interactions
from tests.unit.models_fixtures import clustered_rows, write_csv

DAY = 24 * 3600


def session_for(factors: train.Factors) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(onnx_export.build(factors).SerializeToString(), providers=["CPUExecutionProvider"])


def run(session, history, weights, exclude, k):
    items, scores, basis = session.run(
        None,
        {
            "history_items": np.asarray(history, np.int64),
            "history_weights": np.asarray(weights, np.float32),
            "exclude": exclude,
            "k": np.array([k], np.int64),
        },
    )
    return items, scores, basis


def random_factors(n_items=40, n_factors=6, seed=1) -> train.Factors:
    rng = np.random.default_rng(seed)
    return train.Factors(rng.normal(size=(n_items, n_factors)).astype(np.float32), rng.normal(size=(n_items, n_factors)).astype(np.float32))


def test_graph_is_valid_onnx_with_the_contract_names():
    model = onnx_export.build(random_factors())
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == list(GRAPH_INPUTS)
    assert [o.name for o in model.graph.output] == list(GRAPH_OUTPUTS)
    assert model.ir_version == onnx_export.IR_VERSION and model.opset_import[0].version == onnx_export.OPSET


def test_graph_equals_the_numpy_computation_with_exclusion_order_and_basis():
    factors = random_factors()
    history, weights = [3, 17, 3, 25], [1.0, 5.0, 0.5, 3.0]  # a repeated item counts twice
    exclude = np.zeros(40, bool)
    exclude[[3, 17, 25]] = True
    user = np.asarray(weights, np.float32) @ factors.fold_in[history]
    expected_scores = user @ factors.items.T
    expected_scores[exclude] = -np.inf
    # The numpy best 5 excluding history; then also exclude the numpy winner to prove the mask works.
    for extra in (None, int(np.argmax(expected_scores))):
        if extra is not None:
            exclude[extra] = True
            expected_scores[extra] = -np.inf
        expected_items = np.argsort(-expected_scores, kind="stable")[:5]
        items, scores, basis = run(session_for(factors), history, weights, exclude, 5)
        np.testing.assert_array_equal(items, expected_items)
        np.testing.assert_allclose(scores, expected_scores[expected_items], rtol=1e-5)
        assert not exclude[items].any()
        expected_basis = (factors.fold_in[history] * np.asarray(weights, np.float32)[:, None]) @ factors.items[items].T
        np.testing.assert_allclose(basis, expected_basis, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(basis.sum(axis=0), scores, rtol=1e-4)  # the reasons add up to the score


def test_graph_returns_excluded_items_last_with_minus_infinity_when_too_few_are_allowed():
    exclude = np.ones(40, bool)
    exclude[[7, 9]] = False
    items, scores, basis = run(session_for(random_factors()), [1], [1.0], exclude, 4)
    assert sorted(items[:2].tolist()) == [7, 9] and np.isfinite(scores[:2]).all()
    assert np.isneginf(scores[2:]).all() and basis.shape == (1, 4)


def clustered_matrix():
    rows = clustered_rows()
    users = sorted({u for u, _ in rows})
    items = sorted({i for _, i in rows})
    coo = np.array([[users.index(u), items.index(i)] for u, i in rows])
    return SparseMatrix.from_coo(coo[:, 0], coo[:, 1], np.ones(len(rows), np.float32), (len(users), len(items))), items


@pytest.mark.parametrize("algorithm", train.ALGORITHMS)
def test_fold_in_follows_the_history(algorithm):
    matrix, items = clustered_matrix()
    session = session_for(train.fit(matrix, algorithm, factors=8))
    no_exclusions = np.zeros(len(items), bool)
    for history, taste in ((["a0", "a3"], "a"), (["b1"], "b"), (["b2", "b5", "b7"], "b")):
        indices = [items.index(i) for i in history]
        exclude = no_exclusions.copy()
        exclude[indices] = True
        found, _, _ = run(session, indices, [1.0] * len(indices), exclude, 5)
        assert all(items[i].startswith(taste) for i in found), (algorithm, history, [items[i] for i in found])


def test_lrla_without_the_diagonal_penalty_is_the_eigendecomposition_closed_form():
    rng = np.random.default_rng(3)
    dense = (rng.random((30, 12)) < 0.4).astype(np.float32)
    matrix = SparseMatrix.from_coo(*np.nonzero(dense), dense[np.nonzero(dense)], dense.shape)
    model = train.fit(matrix, "lrla", factors=5, regularization=0.5, dropout=0.0, user_exponent=0.0)
    gram = dense.T.astype(np.float64) @ dense
    strength, vectors = np.linalg.eigh(gram)
    strength, vectors = strength[::-1][:5], vectors[:, ::-1][:, :5]
    penalty = 0.5 * np.diag(gram).mean()
    expected = vectors * (strength / (strength + penalty)) @ vectors.T  # Q Yᵀ = V_f diag(s/(s+λ)) V_fᵀ
    np.testing.assert_allclose(model.fold_in @ model.items.T, expected, atol=1e-5)


def test_ials_solves_each_row_exactly_and_folds_in_with_its_regularized_inverse():
    rng = np.random.default_rng(4)
    dense = np.where(rng.random((25, 9)) < 0.35, rng.integers(1, 4, (25, 9)), 0).astype(np.float32)
    matrix = SparseMatrix.from_coo(*np.nonzero(dense), dense[np.nonzero(dense)], dense.shape)
    fixed = rng.normal(size=(9, 4))
    solved = train._als_half_step(matrix, fixed, regularization=0.7, alpha=2.0)
    for row in range(25):
        confidence = 2.0 * dense[row]
        lhs = fixed.T @ fixed + fixed.T @ (confidence[:, None] * fixed) + 0.7 * np.eye(4)
        rhs = fixed.T @ np.where(dense[row] > 0, 1 + confidence, 0)
        np.testing.assert_allclose(solved[row], np.linalg.solve(lhs, rhs), rtol=1e-8, atol=1e-10)
    model = train.fit(matrix, "ials", factors=4, regularization=0.7, iterations=3)
    y = model.items.astype(np.float64)
    np.testing.assert_allclose(model.fold_in @ (y.T @ y + 0.7 * np.eye(4)), y, atol=1e-4)


def test_lrla_refuses_a_catalog_too_large_for_its_dense_matrix(monkeypatch):
    matrix, _ = clustered_matrix()
    monkeypatch.setattr(train, "LRLA_MAX_ITEMS", 19)
    with pytest.raises(DataError, match="20 items is over its limit of 19; train with --algorithm ials"):
        train.fit(matrix, "lrla")
    assert train.fit(matrix, "ials", factors=2, iterations=1).items.shape == (20, 2)


def test_unknown_algorithm_or_parameter_is_refused():
    matrix, _ = clustered_matrix()
    with pytest.raises(ValueError, match="unknown algorithm"):
        train.fit(matrix, "svd")
    with pytest.raises(ValueError, match="no parameter"):
        train.fit(matrix, "lrla", alpha=3)


def test_train_model_writes_the_artifact_folder(tmp_path):
    rows = [(u, i, "purchase", "2026-11-20T10:00:00Z") for u, i in clustered_rows()]
    data = load_interactions(write_csv(tmp_path / "shop.csv", rows, "user_id,item_id,type,timestamp"))
    out = tmp_path / "model"
    metadata = train.train_model(data, out, factors=8, now=datetime(2026, 11, 26, 15, 0, 0, 123, tzinfo=UTC))
    assert metadata.model_version == "20261126T150000Z-lrla8"
    assert sorted(p.name for p in out.iterdir()) == sorted([MODEL_FILE, METADATA_FILE, COPURCHASE_FILE])
    stored = ModelMetadata.model_validate_json((out / METADATA_FILE).read_text())
    assert stored == metadata
    assert stored.items == data.item_ids and stored.interactions == len(rows)
    assert stored.parameters["factors"] == 8 and stored.parameters["dropout"] == train.DEFAULT_PARAMETERS["lrla"]["dropout"]
    assert stored.popularity == pytest.approx(np.bincount(data.items, weights=data.weights).tolist())
    session = onnxruntime.InferenceSession(str(out / MODEL_FILE), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(GRAPH_INPUTS)


def test_lineage_finds_every_trained_subject_and_forgets_on_erasure(tmp_path):
    data = load_interactions(write_csv(tmp_path / "p.csv", clustered_rows(users_per_taste=3)))
    lineage = train.train_model(data, tmp_path / "m1", factors=4).lineage
    other = train.train_model(data, tmp_path / "m2", factors=4).lineage
    assert re.fullmatch(r"[0-9a-f]{32}", lineage.salt) and lineage.salt != other.salt
    assert lineage.subjects == 6 and lineage.subject_hashes == sorted(subject_hash(lineage.salt, u) for u in data.user_ids)
    assert set(lineage.subject_hashes).isdisjoint(other.subject_hashes)  # salted: not comparable across models
    assert all(lineage.contains(u) for u in data.user_ids) and not lineage.contains("someone-else")
    assert lineage.forget({"a-user-1"}, "req-1", datetime(2026, 11, 26, tzinfo=UTC))
    assert not lineage.contains("a-user-1") and lineage.contains("a-user-2") and lineage.retrain_required


def signals_data(tmp_path, rows, header="user_id,item_id,type,timestamp"):
    return load_interactions(write_csv(tmp_path / "s.csv", rows, header))


def test_copurchases_count_baskets_of_one_user_and_day(tmp_path):
    day1, day2 = 1_795_000_000, 1_795_000_000 + DAY
    rows = [
        ("u1", "x", "purchase", day1), ("u1", "y", "purchase", day1 + 60), ("u1", "z", "purchase", day1 + 120),
        ("u1", "w", "product_view", day1),  # viewing is not buying
        ("u2", "x", "purchase", day1), ("u2", "y", "purchase", day1),
        ("u2", "x", "purchase", day2),  # alone in its basket: counts for x, pairs with nothing
    ]  # fmt: skip
    data = signals_data(tmp_path, rows)
    pairs = item_signals.copurchases(data)
    index = {item: i for i, item in enumerate(data.item_ids)}
    # baskets: {x,y,z}, {x,y}, {x} -> counts x 3, y 2, z 1; co-counts xy 2, xz 1, yz 1
    expected = {"x": [("y", 2 / np.sqrt(6)), ("z", 1 / np.sqrt(3))], "y": [("x", 2 / np.sqrt(6)), ("z", 1 / np.sqrt(2))], "z": [("y", 1 / np.sqrt(2)), ("x", 1 / np.sqrt(3))], "w": []}
    for item, neighbours in expected.items():
        row = index[item]
        found = [(data.item_ids[j], s) for j, s in zip(pairs.neighbours[row], pairs.strength[row], strict=True) if j >= 0]
        assert [n for n, _ in found] == [n for n, _ in neighbours]
        np.testing.assert_allclose([s for _, s in found], [s for _, s in neighbours], rtol=1e-6)
    assert pairs.neighbours.shape == (4, item_signals.MAX_NEIGHBOURS) and pairs.neighbours.dtype == np.int32
    assert (pairs.neighbours[index["w"]] == -1).all() and pairs.strength.dtype == np.float32
    assert (item_signals.copurchases(data, max_neighbours=1).neighbours[index["z"]] == [index["y"]]).all()


def test_without_types_a_users_day_is_a_basket_and_without_pairs_there_is_no_file(tmp_path):
    day = 1_795_000_000
    untyped = signals_data(tmp_path, [("u", "x", day), ("u", "y", day + 5), ("u", "z", day + 2 * DAY)], "user_id,item_id,timestamp")
    pairs = item_signals.copurchases(untyped)
    assert pairs.neighbours[0, 0] == 1 and pairs.neighbours[1, 0] == 0 and (pairs.neighbours[2] == -1).all()
    lonely = signals_data(tmp_path, [("u", "x", "purchase", day), ("v", "y", "purchase", day)])
    assert item_signals.copurchases(lonely) is None
    assert item_signals.copurchases(signals_data(tmp_path, [("u", "x"), ("u", "y")], "user_id,item_id")) is None
    train.train_model(lonely, tmp_path / "m", factors=2)
    assert not (tmp_path / "m" / COPURCHASE_FILE).exists()


def test_trending_is_the_last_seven_days_of_the_data(tmp_path):
    newest = 1_795_000_000
    rows = [("u", "x", newest - 8 * DAY), ("u", "y", newest - 6 * DAY), ("v", "y", newest), ("v", "x", newest - 30 * DAY)]
    data = signals_data(tmp_path, rows, "user_id,item_id,timestamp")
    assert item_signals.popularity(data).tolist() == [2.0, 2.0]
    assert item_signals.trending(data).tolist() == [0.0, 2.0]
    undated = signals_data(tmp_path, [("u", "x", 2), ("v", "y", 3)], "user_id,item_id,weight")
    assert item_signals.trending(undated).tolist() == item_signals.popularity(undated).tolist() == [2.0, 3.0]
