"""The scoring graph (`model.onnx`) for factors Q (fold-in) and Y (items).

Inputs and outputs are the contract's (functions/recommend/artifacts.py):

    Qh     = Gather(Q, history_items)                  [H, f]
    u      = history_weights[1, H] @ Qh                [1, f]
    scores = u @ Yᵀ                                    [N]   (Yᵀ stored as [f, N])
    masked = Where(exclude, -inf, scores)
    scores, items = TopK(masked, k)                    [k], best first
    basis  = (Qh * history_weights[:, None]) @ Yᵀ[:, items]   [H, k]

Each column of `basis` sums to that item's score: the "because you viewed X" reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from functions.recommend.artifacts import GRAPH_INPUTS, GRAPH_OUTPUTS
from models.train import Factors

# onnxruntime 1.31 runs IR version 10 / opset 21 and older; newer onnx writes newer by default.
OPSET = 21
IR_VERSION = 10
PRODUCER = "persona-models"


def build(factors: Factors) -> onnx.ModelProto:
    n_items, n_factors = factors.items.shape
    history_items, history_weights, exclude, k = GRAPH_INPUTS
    items_out, scores_out, basis_out = GRAPH_OUTPUTS
    initializers = [
        numpy_helper.from_array(np.ascontiguousarray(factors.fold_in, np.float32), "fold_in"),
        numpy_helper.from_array(np.ascontiguousarray(factors.items.T, np.float32), "item_factors_t"),
        numpy_helper.from_array(np.array(-np.inf, np.float32), "minus_inf"),
        numpy_helper.from_array(np.array([0], np.int64), "axis_0"),
        numpy_helper.from_array(np.array([1], np.int64), "axis_1"),
    ]
    nodes = [
        helper.make_node("Gather", ["fold_in", history_items], ["history_vectors"], axis=0),
        helper.make_node("Unsqueeze", [history_weights, "axis_0"], ["weights_row"]),
        helper.make_node("MatMul", ["weights_row", "history_vectors"], ["user_vector"]),
        helper.make_node("MatMul", ["user_vector", "item_factors_t"], ["all_scores_row"]),
        helper.make_node("Squeeze", ["all_scores_row", "axis_0"], ["all_scores"]),
        helper.make_node("Where", [exclude, "minus_inf", "all_scores"], ["allowed_scores"]),
        helper.make_node("TopK", ["allowed_scores", k], [scores_out, items_out], axis=-1, largest=1, sorted=1),
        helper.make_node("Unsqueeze", [history_weights, "axis_1"], ["weights_column"]),
        helper.make_node("Mul", ["history_vectors", "weights_column"], ["weighted_history_vectors"]),
        helper.make_node("Gather", ["item_factors_t", items_out], ["chosen_factors_t"], axis=1),
        helper.make_node("MatMul", ["weighted_history_vectors", "chosen_factors_t"], [basis_out]),
    ]
    graph = helper.make_graph(
        nodes,
        "persona_recommender",
        inputs=[
            helper.make_tensor_value_info(history_items, TensorProto.INT64, ["H"]),
            helper.make_tensor_value_info(history_weights, TensorProto.FLOAT, ["H"]),
            helper.make_tensor_value_info(exclude, TensorProto.BOOL, [n_items]),
            helper.make_tensor_value_info(k, TensorProto.INT64, [1]),
        ],
        outputs=[
            helper.make_tensor_value_info(items_out, TensorProto.INT64, ["k"]),
            helper.make_tensor_value_info(scores_out, TensorProto.FLOAT, ["k"]),
            helper.make_tensor_value_info(basis_out, TensorProto.FLOAT, ["H", "k"]),
        ],
        initializer=initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=PRODUCER, ir_version=IR_VERSION
    )
    model.doc_string = f"{n_items} items, {n_factors} factors"
    onnx.checker.check_model(model, full_check=True)
    return model


def save(factors: Factors, path: str | Path) -> None:
    onnx.save_model(build(factors), str(path))
