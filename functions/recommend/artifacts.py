"""The contract between training (`models/`) and serving (`functions/recommend/`).

A trained model is a folder (locally) or a versioned prefix of the models bucket:

- `model.onnx`: the scoring graph. It folds a person's recent interactions into a
  user vector and scores every item, so an anonymous session of one minute gets
  real recommendations. Inputs and outputs are `GRAPH_INPUTS` / `GRAPH_OUTPUTS`:
    history_items   int64   [H]     item indices of the interactions (H >= 1)
    history_weights float32 [H]     weight of each (type and recency, chosen by serving)
    exclude         bool    [N]     items that must not be returned (stock, rules, history)
    k               int64   [1]     how many to return (1 <= k <= N)
    items           int64   [k]     best items first, excluded ones never among them
                                    unless fewer than k are allowed (their score is -inf)
    scores          float32 [k]
    basis           float32 [H, k]  contribution of each history item to each returned
                                    item's score: the "because you viewed X" reason
- `metadata.json`: `ModelMetadata` below (item index, version, metrics, lineage).
- `copurchase.npz` (optional): for each item its most frequent co-purchases,
  arrays `neighbours` int32 [N, M] (-1 pads) and `strength` float32 [N, M].

Lineage records which subjects' data a model was trained on, as salted hashes, so
that an erasure can find the models that contain a person, remove the person from
the record and mark the model for retraining.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

MODEL_FORMAT = "persona-recommender/1"
GRAPH_INPUTS = ("history_items", "history_weights", "exclude", "k")
GRAPH_OUTPUTS = ("items", "scores", "basis")
MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
COPURCHASE_FILE = "copurchase.npz"


def subject_hash(salt: str, subject_id: str) -> str:
    """128 bits of SHA-256 over the model's salt and the id: finds a person, does not name one."""
    return hashlib.sha256(f"{salt}\x00{subject_id}".encode()).hexdigest()[:32]


class ErasureMark(BaseModel):
    request_id: str
    erased_at: datetime


class Lineage(BaseModel):
    scheme: Literal["sha256-salted-128"] = "sha256-salted-128"
    salt: str = Field(description="Random per model; hashes are not comparable across models")
    subjects: int = Field(ge=0, description="Subjects in the training data when it was trained")
    subject_hashes: list[str] = Field(description="subject_hash(salt, id) of every subject, sorted")
    retrain_required: bool = False
    erasures: list[ErasureMark] = Field(default_factory=list)

    def contains(self, subject_id: str) -> bool:
        return subject_hash(self.salt, subject_id) in set(self.subject_hashes)

    def forget(self, subject_ids: set[str], request_id: str, at: datetime) -> bool:
        """Drop the subjects' hashes and mark the model for retraining; False if none was there."""
        gone = {subject_hash(self.salt, s) for s in subject_ids}
        kept = [h for h in self.subject_hashes if h not in gone]
        if len(kept) == len(self.subject_hashes):
            return False
        self.subject_hashes = kept
        self.retrain_required = True
        self.erasures.append(ErasureMark(request_id=request_id, erased_at=at))
        return True


class ModelMetadata(BaseModel):
    format: Literal["persona-recommender/1"] = MODEL_FORMAT
    model_version: str = Field(description="e.g. 20261126T150000Z-ease64; sortable by time")
    trained_at: datetime
    algorithm: str
    parameters: dict[str, Any]
    metrics: dict[str, float] = Field(default_factory=dict, description="Offline evaluation, if run")
    interactions: int = Field(ge=0)
    items: list[str] = Field(description="Item id of each index of the graph")
    popularity: list[float] = Field(description="Total interaction weight per item index")
    trending: list[float] = Field(description="Interaction weight per item in the last 7 days of the data")
    lineage: Lineage
