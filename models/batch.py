"""`persona recommend-batch`: top-n items for a list of users, with the same graph serving runs.

A model folder holds no interactions (an erasure must not have to reach into it), so
each user's history comes from an interactions file in any format `load_interactions`
reads, usually the one the model was trained on. A user with no history there, or
none on items the model knows, gets the most popular items and `"personalized": false`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from functions.recommend.artifacts import METADATA_FILE, MODEL_FILE, ModelMetadata
from models.data import DataError, Interactions


@dataclass(frozen=True)
class History:
    """A user's interactions as the graph takes them: model item indices and summed weights."""

    items: np.ndarray  # int64 [H]
    weights: np.ndarray  # float32 [H]


class Recommender:
    """One onnxruntime session over a model folder, created once."""

    def __init__(self, model_dir: str | Path) -> None:
        import onnxruntime

        folder = Path(model_dir)
        if not (folder / MODEL_FILE).is_file() or not (folder / METADATA_FILE).is_file():
            raise DataError(f"{folder}: not a model folder (needs {MODEL_FILE} and {METADATA_FILE}; see `persona train`)")
        self.metadata = ModelMetadata.model_validate_json((folder / METADATA_FILE).read_text())
        self.index = {item: i for i, item in enumerate(self.metadata.items)}
        self.by_popularity = np.argsort(-np.asarray(self.metadata.popularity), kind="stable")
        self.session = onnxruntime.InferenceSession(str(folder / MODEL_FILE), providers=["CPUExecutionProvider"])

    def recommend(self, history: History | None, n: int) -> tuple[list[str], bool]:
        """Item ids, best first, and whether they are personal (False: popularity)."""
        n_items = len(self.metadata.items)
        if history is None or len(history.items) == 0:
            return [self.metadata.items[i] for i in self.by_popularity[:n]], False
        exclude = np.zeros(n_items, bool)
        exclude[history.items] = True
        items, scores, _basis = self.session.run(
            None,
            {
                "history_items": history.items,
                "history_weights": history.weights,
                "exclude": exclude,
                "k": np.array([min(n, n_items)], np.int64),
            },
        )
        return [self.metadata.items[i] for i in items[np.isfinite(scores)]], True

    def histories(self, data: Interactions) -> dict[str, History]:
        """Each user's history in `data`, restricted to the items this model knows."""
        to_model = np.array([self.index.get(item, -1) for item in data.item_ids], np.int64)
        matrix = data.matrix()
        histories = {}
        for row, user in enumerate(data.user_ids):
            items, weights = matrix.row(row)
            known = to_model[items] >= 0
            histories[user] = History(to_model[items][known], weights[known].astype(np.float32))
        return histories


def recommend_batch(recommender: Recommender, user_ids: list[str], n: int, interactions: Interactions | None = None) -> Iterator[dict]:
    """One `{"user_id", "items", "personalized"}` per user, in the order given."""
    histories = recommender.histories(interactions) if interactions is not None else {}
    for user in user_ids:
        items, personalized = recommender.recommend(histories.get(user), n)
        yield {"user_id": user, "items": items, "personalized": personalized}


def read_user_ids(path: str | Path) -> list[str]:
    """One id per line, or a CSV whose header has a `user_id` column."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    lines = [line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    if lines and "user_id" in [cell.strip() for cell in next(csv.reader(lines[:1]))]:
        reader = csv.DictReader(lines)
        reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
        ids = [(row.get("user_id") or "").strip() for row in reader]
    else:
        ids = [line.strip() for line in lines]
    ids = [user for user in ids if user]
    if not ids:
        raise DataError(f"{path.name}: no user ids")
    return ids
