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

import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property, lru_cache

FNV_OFFSET_BASIS = 0x811C9DC5
GLOBAL_HOLDOUT_SEED = "persona-global-holdout"

BucketRange = tuple[float, float]
Namespace = tuple[str, float, float]

_UNREDUCED_MAX = 40  # code units; beyond this the unreduced int grows too big to be faster (measured)
_UTF16_NATIVE = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"


def fnv1a32(text: str, state: int = FNV_OFFSET_BASIS) -> int:
    """32-bit FNV-1a over the UTF-16 code units of `text`, as GrowthBook's `hashFnv32a`.

    JavaScript hashes `charCodeAt` values, so characters beyond Latin-1 count as UTF-16
    code units (not UTF-8 bytes). FNV-1a has no finalisation, hence
    `fnv1a32(a + b) == fnv1a32(b, fnv1a32(a))`: `state` continues a hash of a prefix,
    which lets a seed be hashed once per experiment instead of once per unit.
    """
    try:
        units: bytes | array[int] = text.encode("latin-1")  # one byte per code unit: the fast path
    except UnicodeEncodeError:
        units = array("H", text.encode(_UTF16_NATIVE))
    if len(units) <= _UNREDUCED_MAX:
        # Reducing mod 2**32 once at the end gives the same result (xor with a code unit and
        # multiplication commute with the reduction) and saves one operation per code unit.
        for unit in units:
            state = (state ^ unit) * 0x01000193
        return state & 0xFFFFFFFF
    for unit in units:
        state = ((state ^ unit) * 0x01000193) & 0xFFFFFFFF
    return state


@lru_cache(maxsize=1024)
def _seed_state(seed: str) -> int:
    """FNV state after the seed: seeds are few (one per experiment), units are many."""
    return fnv1a32(seed)


def _hash_v1(seed: str, value: str) -> float:
    return (fnv1a32(seed, fnv1a32(value)) % 1000) / 1000


def _hash_v2(seed: str, value: str) -> float:
    return (fnv1a32(str(fnv1a32(value, _seed_state(seed)))) % 10000) / 10000


_HASHES = {1: _hash_v1, 2: _hash_v2}


def gb_hash(seed: str, value: str, version: int) -> float | None:
    """GrowthBook's `hash`: v1 (biased, kept for namespaces) or v2, in [0, 1); None if the version is unknown."""
    hash_of = _HASHES.get(version)
    return None if hash_of is None else hash_of(seed, value)


def bucket_ranges(n_variations: int, coverage: float | None = None,
                  weights: Sequence[float] | None = None) -> list[BucketRange]:
    """GrowthBook's `getBucketRanges`, including its fallbacks.

    Coverage is clamped to [0, 1]; weights of the wrong length or not summing to 1
    (within 0.01) become equal weights. Each range starts at its variant's cumulative
    weight, so raising coverage only grows ranges from their starts.
    """
    coverage = 1.0 if coverage is None else min(max(coverage, 0.0), 1.0)
    equal = [1 / n_variations] * n_variations if n_variations > 0 else []
    if weights is None or len(weights) != n_variations or not 0.99 <= sum(weights) <= 1.01:
        weights = equal
    ranges = []
    cumulative = 0.0
    for weight in weights:
        ranges.append((cumulative, cumulative + coverage * weight))
        cumulative += weight
    return ranges


def choose_variation(n: float, ranges: Sequence[BucketRange]) -> int:
    """GrowthBook's `chooseVariation`: index of the first range holding `n`, or -1."""
    for index, (start, end) in enumerate(ranges):
        if start <= n < end:
            return index
    return -1


def namespace_position(user_id: str, name: str) -> float:
    """Where the unit falls in a GrowthBook namespace (a Persona layer): v1 hash under `__` + name."""
    return _hash_v1("__" + name, user_id)


def in_namespace(user_id: str, namespace: Namespace) -> bool:
    """GrowthBook's `inNamespace`: the unit's namespace position lies in [start, end)."""
    name, start, end = namespace
    return start <= namespace_position(user_id, name) < end


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


def holdout(unit_id: str, share: float, seed: str = GLOBAL_HOLDOUT_SEED) -> bool:
    """Whether the unit belongs to the persistent global holdout (sees no experiment)."""
    return _hash_v2(seed, unit_id) < share


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
