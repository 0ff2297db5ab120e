"""Which variant of which experiment a unit (visitor or customer id) sees: pure, stdlib only.

The hashing and bucketing reproduce GrowthBook's SDK (packages/sdk-js/src/util.ts) bit
for bit, checked against GrowthBook's own test cases (tests/fixtures/growthbook/), so a
storefront running a GrowthBook SDK and this service agree on every assignment.

Assignment of `unit_id` to a running experiment:
1. holdout: a unit whose v2 hash under the global holdout seed is below the holdout
   share sees no experiment at all (`assign_all`);
2. layer: experiments that must not see the same unit share a layer, which is a
   GrowthBook namespace; each gets a disjoint slice of one hash of the unit
   (`layer_ranges`), so a unit falls in at most one of them;
3. variant: the v2 hash of the unit under the experiment's seed (its key unless set)
   is looked up in the bucket ranges built from coverage and weights.

Changing a running experiment never moves a unit already assigned. The rule:
- Assignments are recorded once made (the sticky store is the AWS layer's job), and
  `sticky_or_assign` returns the recorded variation whenever there is one, whatever
  coverage, weights or layer slices say now. Only units never assigned are hashed.
- Independently of the store, raising coverage only adds units: each variant's bucket
  range starts at its cumulative weight and grows from there with coverage, so a hash
  inside a range at coverage c is still inside it at any c' >= c. Lowering coverage or
  changing weights does move unrecorded units, which is why the store is the rule.
- The seed, the layer of an experiment and the holdout share are fixed for the life of
  an experiment: changing the seed reshuffles everyone (a deliberate re-randomisation,
  i.e. a new experiment), and a unit newly inside a grown holdout stops seeing
  experiments even if it was recorded, because the holdout wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from shared.bucketing import (  # noqa: F401 - GrowthBook's primitives, re-exported for callers of this module
    _HASHES,
    FNV_OFFSET_BASIS,
    GLOBAL_HOLDOUT_SEED,
    BucketRange,
    Namespace,
    bucket_ranges,
    choose_variation,
    fnv1a32,
    gb_hash,
    in_global_holdout as holdout,
    in_namespace,
    namespace_position,
)


class ExperimentStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Variant:
    key: str
    weight: float


@dataclass(frozen=True, kw_only=True)
class ExperimentSpec:
    """What assignment needs to know about an experiment (the API layer validates input).

    Invalid coverage or weights are not rejected here: they fall back the way GrowthBook
    falls back, so a spec evaluated by a GrowthBook SDK gives the same answer.
    """

    key: str
    seed: str = ""  # empty: the key
    variants: tuple[Variant, ...]
    coverage: float = 1.0
    layer: str | None = None
    layer_range: BucketRange | None = None
    hash_version: int = 2
    status: ExperimentStatus

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", self.seed or self.key)
        object.__setattr__(self, "variants", tuple(self.variants))
        object.__setattr__(self, "status", ExperimentStatus(self.status))
        if len(self.variants) < 2:
            raise ValueError(f"experiment {self.key!r} needs at least 2 variants")
        if (self.layer is None) != (self.layer_range is None):
            raise ValueError(f"experiment {self.key!r}: layer and layer_range go together")
        if self.hash_version not in _HASHES:
            raise ValueError(f"experiment {self.key!r}: unknown hash version {self.hash_version}")

    @cached_property
    def ranges(self) -> list[BucketRange]:
        """Bucket ranges of the variants, computed once per spec rather than per unit."""
        return bucket_ranges(len(self.variants), self.coverage, [variant.weight for variant in self.variants])


def layer_ranges(experiments_in_layer: Iterable[tuple[str, float]]) -> dict[str, BucketRange]:
    """Consecutive, non-overlapping slices of [0, 1) for the experiments of one layer.

    Shares are of all traffic in the layer and may leave a remainder unused. The layer
    hash is GrowthBook's v1 namespace hash, which has 1,000 buckets: shares are
    effectively multiples of 0.001.
    """
    slices: dict[str, BucketRange] = {}
    start = 0.0
    for key, share in experiments_in_layer:
        if key in slices:
            raise ValueError(f"experiment {key!r} appears twice in the layer")
        if share < 0:
            raise ValueError(f"experiment {key!r} has a negative share")
        end = round(start + share, 9)  # keeps 0.1 + 0.2 at 0.3; neighbours share the boundary
        if end > 1:
            raise ValueError(f"shares of the layer add up to more than 1 (at {key!r})")
        slices[key] = (start, end)
        start = end
    return slices


LayerPositions = dict[str, float]


def assign(unit_id: str, experiment: ExperimentSpec, *, layer_positions: LayerPositions | None = None) -> int | None:
    """Variation index of `unit_id` in a running experiment, None when it is not in the test.

    `layer_positions` is scratch space for one request: the unit's namespace position per
    layer, filled as layers are hashed, so experiments sharing a layer hash it once.
    """
    if experiment.status is not ExperimentStatus.RUNNING:
        return None
    if experiment.layer is not None:
        positions = {} if layer_positions is None else layer_positions
        position = positions.get(experiment.layer)
        if position is None:
            position = positions[experiment.layer] = namespace_position(unit_id, experiment.layer)
        start, end = experiment.layer_range
        if not start <= position < end:
            return None
    n = _HASHES[experiment.hash_version](experiment.seed, unit_id)
    index = choose_variation(n, experiment.ranges)
    return None if index < 0 else index


def sticky_or_assign(unit_id: str, experiment: ExperimentSpec, recorded: Mapping[str, int] | None, *,
                     layer_positions: LayerPositions | None = None) -> int | None:
    """The recorded variation of the unit when there is one, else a fresh assignment.

    `recorded` maps experiment keys to variation indexes already served to this unit.
    A recorded index that no longer names a variant is ignored.
    """
    if experiment.status is not ExperimentStatus.RUNNING:
        return None
    if recorded:
        index = recorded.get(experiment.key)
        if index is not None and 0 <= index < len(experiment.variants):
            return index
    return assign(unit_id, experiment, layer_positions=layer_positions)


def assign_all(unit_id: str, experiments: Iterable[ExperimentSpec], holdout_share: float = 0.0,
               recorded: Mapping[str, int] | None = None) -> dict[str, int]:
    """{experiment key: variation index} for every running experiment the unit is in; empty in the holdout."""
    if holdout_share > 0 and holdout(unit_id, holdout_share):
        return {}
    assignments = {}
    layer_positions: LayerPositions = {}
    for experiment in experiments:
        index = sticky_or_assign(unit_id, experiment, recorded, layer_positions=layer_positions)
        if index is not None:
            assignments[experiment.key] = index
    return assignments
