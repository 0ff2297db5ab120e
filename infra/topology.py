"""The single description of Persona's wiring.

Both the CDK app (`infra/stacks/`) and the local runtime (`infra/local/`) are
built from `TOPOLOGY`, so the deployed system and the one on a laptop cannot
drift apart. This module is plain data: it imports neither CDK nor boto3.

Conventions
- Every resource has an `id` (snake_case) that is unique within its kind.
- A function reaches a resource only through a `Grant`; the grant also decides
  the environment variable that carries the resource's name (see `env_var`).
- Consumers read events from their own SQS queue (with a DLQ); a rule or a
  bucket notification feeds the queue, an event-source mapping drains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Access = Literal["read", "write", "read_write", "put"]
ResourceKind = Literal["table", "bucket", "bus", "queue", "secret"]
# public: the storefront (shared/trust.py); admin: staff; server: the retailer's backend (IAM in AWS, the local server key).
AuthMode = Literal["public", "admin", "server"]

EVENT_SOURCE_PREFIX = "persona."
PRIVACY_REQUEST_EVENT = "PrivacyRequestAccepted"
PRIVACY_ANSWER_EVENT = "PrivacyTaskCompleted"


@dataclass(frozen=True)
class Grant:
    kind: ResourceKind
    id: str
    access: Access
    # Bucket reads only: the grant covers just the objects whose keys match this pattern (no listing).
    objects: str | None = None


@dataclass(frozen=True)
class Function:
    id: str
    context: str
    handler: str  # dotted path "functions.<context>.handlers.<callable>"
    description: str
    bundle: str = "lambda"  # an optional-dependency group of pyproject.toml
    memory_mb: int = 256
    timeout_s: int = 10
    reserved_concurrency: int | None = None
    grants: tuple[Grant, ...] = ()
    env: tuple[tuple[str, str], ...] = ()

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class Route:
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str  # API Gateway style: /v1/profiles/{profile_id}
    function: str
    auth: AuthMode = "public"


@dataclass(frozen=True)
class Queue:
    """A consumer queue with its dead-letter queue and event-source mapping."""

    id: str
    consumer: str  # function id
    batch_size: int = 10
    max_batching_window_s: int = 1
    max_receive_count: int = 3  # receives before a message moves to the DLQ


@dataclass(frozen=True)
class EventRule:
    """EventBridge rule on the Persona bus: matching events go to `queue`."""

    id: str
    queue: str
    sources: tuple[str, ...]
    detail_types: tuple[str, ...]

    @property
    def pattern(self) -> dict:
        return {"source": list(self.sources), "detail-type": list(self.detail_types)}


@dataclass(frozen=True)
class Gsi:
    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class Table:
    id: str
    context: str
    partition_key: str = "pk"
    sort_key: str | None = "sk"
    gsis: tuple[Gsi, ...] = ()
    ttl_attribute: str | None = "expires_at"


@dataclass(frozen=True)
class BucketNotification:
    """ObjectCreated notifications of a bucket, delivered into a queue."""

    queue: str
    prefix: str = ""


@dataclass(frozen=True)
class Bucket:
    id: str
    context: str
    purpose: str
    notifications: tuple[BucketNotification, ...] = ()
    expire_after_days: int | None = None  # lifecycle rule on current objects
    versioned: bool = False


@dataclass(frozen=True)
class Secret:
    """A generated random secret (Secrets Manager): signing and pseudonymisation keys."""

    id: str
    context: str
    purpose: str
    # Other contexts that may read it: a key two contexts must agree on (fingerprints one computes, the other compares).
    shared_with: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schedule:
    id: str
    function: str
    expression: str  # EventBridge schedule expression, e.g. "rate(1 hour)"
    local_interval_s: float  # how often the local runtime fires it


@dataclass(frozen=True)
class Topology:
    bus: str
    functions: tuple[Function, ...]
    routes: tuple[Route, ...] = ()
    queues: tuple[Queue, ...] = ()
    rules: tuple[EventRule, ...] = ()
    tables: tuple[Table, ...] = ()
    buckets: tuple[Bucket, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    secrets: tuple[Secret, ...] = ()

    def __post_init__(self) -> None:
        problems = validate(self)
        if problems:
            raise ValueError("invalid topology:\n- " + "\n- ".join(problems))

    def function(self, function_id: str) -> Function:
        return _by_id(self.functions, function_id)

    def queue(self, queue_id: str) -> Queue:
        return _by_id(self.queues, queue_id)

    def table(self, table_id: str) -> Table:
        return _by_id(self.tables, table_id)

    def bucket(self, bucket_id: str) -> Bucket:
        return _by_id(self.buckets, bucket_id)

    def contexts(self) -> list[str]:
        return sorted({f.context for f in self.functions})

    def privacy_contexts(self) -> list[str]:
        """Contexts that hold personal data: those consuming PrivacyRequestAccepted.
        A privacy request completes when every one of them has answered."""
        queues = {r.queue for r in self.rules if PRIVACY_REQUEST_EVENT in r.detail_types}
        return sorted({self.function(q.consumer).context for q in self.queues if q.id in queues})

    def environment(self, function: Function, names: dict[tuple[str, str], str]) -> dict[str, str]:
        """Environment of `function`, given the physical name of each (kind, id)."""
        env = {
            "POWERTOOLS_SERVICE_NAME": function.context,
            "POWERTOOLS_METRICS_NAMESPACE": "Persona",
        }
        for grant in function.grants:
            env[env_var(grant.kind, grant.id)] = names[(grant.kind, grant.id)]
        if function.context == "privacy":
            env["PRIVACY_CONTEXTS"] = ",".join(self.privacy_contexts())
        env.update(dict(function.env))
        return env


def env_var(kind: ResourceKind, resource_id: str) -> str:
    """`("table", "profiles")` -> `PROFILES_TABLE_NAME`; the bus is `EVENT_BUS_NAME`."""
    if kind == "bus":
        return "EVENT_BUS_NAME"
    return f"{resource_id.upper()}_{kind.upper()}_NAME"


def _by_id(items, item_id):
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(item_id)


def validate(topology: Topology) -> list[str]:
    """Everything referenced exists, ids are unique, and consumers are wired."""
    problems: list[str] = []
    kinds = {
        "function": topology.functions,
        "queue": topology.queues,
        "rule": topology.rules,
        "table": topology.tables,
        "bucket": topology.buckets,
        "schedule": topology.schedules,
        "secret": topology.secrets,
    }
    for kind, items in kinds.items():
        ids = [item.id for item in items]
        for dup in {i for i in ids if ids.count(i) > 1}:
            problems.append(f"duplicate {kind} id {dup!r}")
    function_ids = {f.id for f in topology.functions}
    queue_ids = {q.id for q in topology.queues}
    known = {
        "table": {t.id for t in topology.tables},
        "bucket": {b.id for b in topology.buckets},
        "queue": queue_ids,
        "bus": {topology.bus},
        "secret": {s.id for s in topology.secrets},
    }
    for fn in topology.functions:
        if not fn.handler.startswith(f"functions.{fn.context}."):
            problems.append(f"function {fn.id!r}: handler must live under functions.{fn.context}")
        for grant in fn.grants:
            if grant.id not in known[grant.kind]:
                problems.append(f"function {fn.id!r}: grant on unknown {grant.kind} {grant.id!r}")
            if grant.objects is not None and (grant.kind, grant.access) != ("bucket", "read"):
                problems.append(f"function {fn.id!r}: only bucket reads can be limited to some objects")
            secret = next((s for s in topology.secrets if s.id == grant.id), None) if grant.kind == "secret" else None
            if secret is not None and fn.context not in (secret.context, *secret.shared_with):
                problems.append(f"function {fn.id!r}: secret {secret.id!r} of {secret.context} is not shared with {fn.context}")
    seen_routes = set()
    for route in topology.routes:
        if route.function not in function_ids:
            problems.append(f"route {route.method} {route.path}: unknown function {route.function!r}")
        if (route.method, route.path) in seen_routes:
            problems.append(f"route {route.method} {route.path} declared twice")
        seen_routes.add((route.method, route.path))
    for queue in topology.queues:
        if queue.consumer not in function_ids:
            problems.append(f"queue {queue.id!r}: unknown consumer {queue.consumer!r}")
        if not 1 <= queue.batch_size <= 10_000:
            problems.append(f"queue {queue.id!r}: batch size out of range")
    fed_queues = {rule.queue for rule in topology.rules}
    for rule in topology.rules:
        if rule.queue not in queue_ids:
            problems.append(f"rule {rule.id!r}: unknown queue {rule.queue!r}")
        for source in rule.sources:
            if not source.startswith(EVENT_SOURCE_PREFIX):
                problems.append(f"rule {rule.id!r}: source {source!r} must start with {EVENT_SOURCE_PREFIX!r}")
    for bucket in topology.buckets:
        for note in bucket.notifications:
            fed_queues.add(note.queue)
            if note.queue not in queue_ids:
                problems.append(f"bucket {bucket.id!r}: notification to unknown queue {note.queue!r}")
    for queue in topology.queues:
        if queue.id not in fed_queues:
            problems.append(f"queue {queue.id!r}: nothing feeds it (no rule or bucket notification)")
    answering = {src for r in topology.rules if PRIVACY_ANSWER_EVENT in r.detail_types for src in r.sources}
    for context in topology.privacy_contexts():
        if f"{EVENT_SOURCE_PREFIX}{context}" not in answering:
            problems.append(f"context {context!r} receives {PRIVACY_REQUEST_EVENT} but no rule delivers its {PRIVACY_ANSWER_EVENT}")
    for queue in topology.queues:
        consumer = next((f for f in topology.functions if f.id == queue.consumer), None)
        if consumer is not None and consumer.reserved_concurrency is not None and consumer.reserved_concurrency < 5 \
                and queue.max_receive_count < 5:
            problems.append(f"queue {queue.id!r}: its consumer's reserved concurrency ({consumer.reserved_concurrency}) "
                            "throttles receives, which count toward the DLQ: max_receive_count must be at least 5")
    for schedule in topology.schedules:
        if schedule.function not in function_ids:
            problems.append(f"schedule {schedule.id!r}: unknown function {schedule.function!r}")
    return problems


# --------------------------------------------------------------------------
# Persona's topology
# --------------------------------------------------------------------------

# Where the privacy context leaves a rectification's corrected values for the profiles context.
CORRECTIONS_OBJECTS = "requests/*/corrections.json"
_PROFILES_RW = Grant("table", "profiles", "read_write")
_PRIVACY_RW = Grant("table", "privacy", "read_write")
_BUS = Grant("bus", "persona", "put")
_PRIVACY_KEYS = Grant("secret", "privacy_keys", "read")
# Fingerprints of e-mails on file: profiles computes them, privacy compares a requester's address.
_CONTACT_KEYS = Grant("secret", "contact_keys", "read")
# Checks signed-in customers' storefront sessions: every public function that acts for a customer (shared/trust.py).
_SESSION_KEYS = Grant("secret", "session_keys", "read")
_RECOMMEND_RW = Grant("table", "recommend", "read_write")
_EXPERIMENTS_RW = Grant("table", "experiments", "read_write")
_RESULTS_RW = Grant("table", "results", "read_write")
THROTTLED_RECEIVES = 10
# One global holdout for the whole program: these units see no experiment and no personalization.
_HOLDOUT = ("GLOBAL_HOLDOUT_SHARE", "0.05")

TOPOLOGY = Topology(
    bus="persona",
    functions=(
        Function(
            id="platform_api",
            context="platform",
            handler="functions.platform.handlers.api_handler",
            description="Liveness and the OpenAPI document",
            memory_mb=128,
        ),
        Function(
            id="profiles_collect",
            context="profiles",
            handler="functions.profiles.handlers.collect_handler",
            description="Event collection API: validates tracking batches, publishes InteractionRecorded",
            memory_mb=512,
            reserved_concurrency=50,  # storefront traffic must not starve the rest of the account
            # Reads the published catalog's vocabulary (shared/catalog.py) to drop made-up categories and brands.
            grants=(Grant("bus", "persona", "put"), _SESSION_KEYS, Grant("table", "profiles", "read")),
        ),
        Function(
            id="profiles_admin",
            context="profiles",
            handler="functions.profiles.handlers.admin_handler",
            description="Profile, segment and import admin API (registers column mappings)",
            grants=(_PROFILES_RW,),
        ),
        Function(
            id="profiles_interactions",
            context="profiles",
            handler="functions.profiles.consumers.interactions_handler",
            description="Consumes InteractionRecorded: links anonymous ids to customers, counts interactions per profile",
            timeout_s=30,
            grants=(_PROFILES_RW, Grant("bus", "persona", "put")),
        ),
        Function(
            id="profiles_crm_import",
            context="profiles",
            handler="functions.profiles.consumers.crm_drop_handler",
            description="Imports CRM, order and campaign exports dropped into the CRM drop bucket",
            memory_mb=1024,
            timeout_s=900,
            # One import at a time: merges into profiles are read-modify-write per customer.
            reserved_concurrency=1,
            grants=(
                _PROFILES_RW,
                Grant("bucket", "crm_drop", "read_write"),  # an imported export is deleted (data minimisation)
                Grant("bucket", "quarantine", "write"),
                Grant("bus", "persona", "put"),
                Grant("secret", "profiles_keys", "read"),  # suppression list of erased people
                _CONTACT_KEYS,
            ),
        ),
        Function(
            id="profiles_segments",
            context="profiles",
            handler="functions.profiles.consumers.segments_handler",
            description="Recomputes segments and data-quality scores of every profile; publishes ProfileUpdated",
            memory_mb=1024,
            timeout_s=600,
            reserved_concurrency=1,  # one full recompute at a time
            grants=(_PROFILES_RW, Grant("bus", "persona", "put")),
        ),
        Function(
            id="profiles_catalog",
            context="profiles",
            handler="functions.profiles.consumers.catalog_handler",
            description="Keeps the published catalog's vocabulary (CatalogPublished): categories and brands storefront "
            "events may name, sensitive categories no segment uses",
            grants=(_PROFILES_RW,),
        ),
        Function(
            id="profiles_consent",
            context="profiles",
            handler="functions.profiles.consumers.consent_handler",
            description="Keeps the consent projection (ConsentChanged) the collection API checks at the door; stops "
            "segmenting restricted people and those who object to profiling",
            timeout_s=60,
            grants=(_PROFILES_RW, _BUS),
        ),
        Function(
            id="profiles_privacy",
            context="profiles",
            handler="functions.profiles.consumers.privacy_handler",
            description="Acts on privacy requests for profile data (export, erase with suppression, rectify)",
            timeout_s=300,
            grants=(
                _PROFILES_RW,
                Grant("bucket", "quarantine", "read_write"),  # rejected rows of an erased person are removed
                Grant("bucket", "exports", "write"),
                # The corrected values of a rectification: they never travel in an event.
                Grant("bucket", "exports", "read", objects=CORRECTIONS_OBJECTS),
                _BUS,
                Grant("secret", "profiles_keys", "read"),
                _CONTACT_KEYS,  # a rectified e-mail is the new contact on file
            ),
        ),
        Function(
            id="privacy_api",
            context="privacy",
            handler="functions.privacy.handlers.api_handler",
            description="Consent API and privacy requests (submit, verify, status)",
            bundle="privacy",
            # Writes the corrected values of a rectification when it is verified (read by profiles).
            grants=(_PRIVACY_RW, _BUS, Grant("bucket", "exports", "read"), Grant("bucket", "exports", "write"), _PRIVACY_KEYS,
                    _CONTACT_KEYS, _SESSION_KEYS),
        ),
        Function(
            id="privacy_admin",
            context="privacy",
            handler="functions.privacy.handlers.admin_handler",
            description="Privacy request queue for the DPO: deadlines, extensions, audit trail, lifting restrictions, "
            "verifying a person by other means",
            # Staff verification publishes the request: a rectification's corrected values go to the exports bucket.
            grants=(_PRIVACY_RW, _BUS, _PRIVACY_KEYS, Grant("bucket", "exports", "write")),
        ),
        Function(
            id="privacy_orchestrator",
            context="privacy",
            handler="functions.privacy.consumers.orchestrator_handler",
            description="Completes privacy requests as contexts answer (builds access bundles); records reported consent",
            timeout_s=120,
            reserved_concurrency=1,  # request and consent updates are read-modify-write
            grants=(_PRIVACY_RW, Grant("bucket", "exports", "read_write"), _BUS, _PRIVACY_KEYS),
        ),
        Function(
            id="privacy_contacts",
            context="privacy",
            handler="functions.privacy.consumers.contacts_handler",
            description="Records the customers profiles holds and their e-mail fingerprints (ContactsOnFile): who may confirm a request",
            timeout_s=60,
            # Its own queue: who may confirm a privacy request must not wait behind an import's consent signals.
            grants=(_PRIVACY_RW,),
        ),
        Function(
            id="privacy_worker",
            context="privacy",
            handler="functions.privacy.consumers.worker_handler",
            description="The privacy context's own part of each request: consents, history, earlier exports",
            timeout_s=60,
            grants=(_PRIVACY_RW, Grant("bucket", "exports", "read_write"), _BUS, _PRIVACY_KEYS),
        ),
        Function(
            id="privacy_sweeper",
            context="privacy",
            handler="functions.privacy.consumers.sweeper_handler",
            description="Re-publishes unanswered privacy tasks; flags requests at risk or overdue",
            timeout_s=120,
            grants=(_PRIVACY_RW, _BUS, Grant("bucket", "exports", "write"), _PRIVACY_KEYS),
        ),
        Function(
            id="recommend_api",
            context="recommend",
            handler="functions.recommend.handlers.api_handler",
            description="Real-time recommendations: ONNX scoring with rules, consent-aware fallback, creepiness guard",
            bundle="recommend",
            memory_mb=1024,  # CPU scales with memory: scoring and the model load are CPU-bound
            reserved_concurrency=50,
            grants=(_RECOMMEND_RW, Grant("bucket", "models", "read"), _SESSION_KEYS),
            env=(_HOLDOUT,),
        ),
        Function(
            id="recommend_admin",
            context="recommend",
            handler="functions.recommend.admin.admin_handler",
            description="Published models and their lineage (marked for retraining after an erasure)",
            grants=(Grant("bucket", "models", "read"),),
        ),
        Function(
            id="recommend_catalog",
            context="recommend",
            handler="functions.recommend.admin.catalog_handler",
            description="The published product catalog for storefronts: browse, search, one product",
            grants=(Grant("bucket", "models", "read"),),
        ),
        Function(
            id="recommend_catalog_changes",
            context="recommend",
            handler="functions.recommend.consumers.catalog_changes_handler",
            description="A catalog or rules published into the models bucket: publishes CatalogPublished (the vocabulary)",
            timeout_s=60,
            grants=(Grant("bucket", "models", "read"), _BUS),
        ),
        Function(
            id="recommend_events",
            context="recommend",
            handler="functions.recommend.consumers.events_handler",
            description="Keeps interaction history (with consent), moves it on IdentityLinked, projects ConsentChanged",
            timeout_s=60,
            grants=(_RECOMMEND_RW,),
        ),
        Function(
            id="recommend_privacy",
            context="recommend",
            handler="functions.recommend.consumers.privacy_handler",
            description="Acts on privacy requests: exports or erases history and exposures, marks models for retraining",
            timeout_s=120,
            grants=(_RECOMMEND_RW, Grant("bucket", "models", "read_write"), Grant("bucket", "exports", "write"), _BUS),
        ),
        Function(
            id="experiments_api",
            context="experiments",
            handler="functions.experiments.handlers.api_handler",
            description="Assignments: sticky, GrowthBook-compatible variants of running experiments; logs first exposures",
            memory_mb=512,
            reserved_concurrency=50,
            grants=(_EXPERIMENTS_RW, _BUS, _SESSION_KEYS),
            env=(_HOLDOUT,),
        ),
        Function(
            id="experiments_admin",
            context="experiments",
            handler="functions.experiments.handlers.admin_handler",
            description="Experiment definitions and their life cycle (draft, running, stopped); publishes ExperimentChanged",
            grants=(_EXPERIMENTS_RW, _BUS),
        ),
        Function(
            id="experiments_events",
            context="experiments",
            handler="functions.experiments.consumers.events_handler",
            description="Consent projection, identity links (variants carry over) and segments for targeting",
            timeout_s=60,
            grants=(_EXPERIMENTS_RW,),
        ),
        Function(
            id="experiments_privacy",
            context="experiments",
            handler="functions.experiments.consumers.privacy_handler",
            description="Acts on privacy requests: exports or erases assignments, segments and consent projection",
            timeout_s=120,
            grants=(_EXPERIMENTS_RW, Grant("bucket", "exports", "write"), _BUS),
        ),
        Function(
            id="results_aggregation",
            context="results",
            handler="functions.results.consumers.aggregation_handler",
            description="Exposures, conversions and visits into sufficient statistics per experiment, variant and cell "
            "(exactly once per event); the program against the global holdout",
            timeout_s=120,
            grants=(_RESULTS_RW,),
            env=(_HOLDOUT,),
        ),
        Function(
            id="results_api",
            context="results",
            handler="functions.results.handlers.api_handler",
            description="Experiment results (frequentist, Bayesian, sequential; SRM; corrections; breakdowns; verdict), "
            "conclusions, program KPIs against the global holdout",
            bundle="results",
            memory_mb=1024,
            timeout_s=29,
            grants=(_RESULTS_RW,),
            env=(_HOLDOUT,),
        ),
        Function(
            id="results_history",
            context="results",
            handler="functions.results.consumers.history_handler",
            description="Daily snapshot of every running experiment's counters (trends over time)",
            timeout_s=300,
            grants=(_RESULTS_RW,),
        ),
        Function(
            id="results_privacy",
            context="results",
            handler="functions.results.consumers.privacy_handler",
            description="Acts on privacy requests: exports or erases per-unit outcomes (anonymous cell sums stay)",
            timeout_s=120,
            grants=(_RESULTS_RW, Grant("bucket", "exports", "write"), _BUS),
        ),
    ),
    routes=(
        Route("GET", "/healthz", "platform_api"),
        Route("GET", "/v1/openapi.json", "platform_api"),
        Route("POST", "/v1/events", "profiles_collect"),
        Route("POST", "/v1/server/events", "profiles_collect", auth="server"),
        Route("POST", "/v1/unsubscribe", "profiles_collect"),
        Route("GET", "/v1/profiles/{profile_id}", "profiles_admin", auth="admin"),
        Route("GET", "/v1/segments", "profiles_admin", auth="admin"),
        Route("GET", "/v1/quality", "profiles_admin", auth="admin"),
        Route("GET", "/v1/imports", "profiles_admin", auth="admin"),
        Route("GET", "/v1/imports/mappings", "profiles_admin", auth="admin"),
        Route("PUT", "/v1/imports/mappings/{kind}/{source}", "profiles_admin", auth="admin"),
        Route("GET", "/v1/imports/{import_id}", "profiles_admin", auth="admin"),
        Route("GET", "/v1/consents/{subject_id}", "privacy_api"),
        Route("PUT", "/v1/consents/{subject_id}", "privacy_api"),
        Route("POST", "/v1/privacy-requests", "privacy_api"),
        Route("GET", "/v1/privacy-requests/{request_id}", "privacy_api"),
        Route("GET", "/v1/privacy-requests/by-subject/{subject_id}", "privacy_api"),
        Route("POST", "/v1/privacy-requests/{request_id}/verification", "privacy_api"),
        Route("GET", "/v1/privacy-requests", "privacy_admin", auth="admin"),
        Route("POST", "/v1/privacy-requests/{request_id}/extension", "privacy_admin", auth="admin"),
        Route("POST", "/v1/privacy-requests/{request_id}/lift", "privacy_admin", auth="admin"),
        Route("POST", "/v1/privacy-requests/{request_id}/staff-verification", "privacy_admin", auth="admin"),
        Route("GET", "/v1/privacy-requests/{request_id}/audit", "privacy_admin", auth="admin"),
        Route("GET", "/v1/privacy-outbox", "privacy_admin", auth="admin"),
        Route("GET", "/v1/recommendations", "recommend_api"),
        Route("GET", "/v1/server/recommendations", "recommend_api", auth="server"),
        Route("GET", "/v1/models", "recommend_admin", auth="admin"),
        Route("GET", "/v1/catalog", "recommend_catalog"),
        Route("GET", "/v1/catalog/{item_id}", "recommend_catalog"),
        Route("POST", "/v1/assignments", "experiments_api"),
        Route("POST", "/v1/experiments", "experiments_admin", auth="admin"),
        Route("GET", "/v1/experiments", "experiments_admin", auth="admin"),
        Route("GET", "/v1/experiments/{key}", "experiments_admin", auth="admin"),
        Route("PATCH", "/v1/experiments/{key}", "experiments_admin", auth="admin"),
        Route("GET", "/v1/experiments/{key}/results", "results_api", auth="admin"),
        Route("PUT", "/v1/experiments/{key}/conclusion", "results_api", auth="admin"),
        Route("GET", "/v1/program", "results_api", auth="admin"),
        Route("POST", "/v1/planner", "results_api", auth="admin"),
        Route("POST", "/v1/backlog", "results_api", auth="admin"),
        Route("GET", "/v1/backlog", "results_api", auth="admin"),
    ),
    queues=(
        Queue(id="profiles_interactions", consumer="profiles_interactions", batch_size=100, max_batching_window_s=2),
        # A consumer held to one concurrent run: a receive the Lambda service throttles counts like a failure,
        # so these queues allow THROTTLED_RECEIVES before dead-lettering (AWS's guidance: at least 5).
        Queue(id="profiles_crm_drops", consumer="profiles_crm_import", batch_size=1, max_receive_count=THROTTLED_RECEIVES),
        # Batches of import completions coalesce into one recompute.
        Queue(id="profiles_segments", consumer="profiles_segments", batch_size=10, max_batching_window_s=5,
              max_receive_count=THROTTLED_RECEIVES),
        Queue(id="profiles_privacy", consumer="profiles_privacy", batch_size=1),
        # Its own queue, in batches: a shopper's banner choice must not wait behind an import's consent changes.
        Queue(id="profiles_consent", consumer="profiles_consent", batch_size=100, max_batching_window_s=1),
        Queue(id="privacy_tasks", consumer="privacy_worker", batch_size=1),
        Queue(id="privacy_orchestration", consumer="privacy_orchestrator", batch_size=10, max_receive_count=THROTTLED_RECEIVES),
        Queue(id="privacy_contacts", consumer="privacy_contacts", batch_size=10),
        Queue(id="recommend_events", consumer="recommend_events", batch_size=100, max_batching_window_s=1),
        Queue(id="recommend_catalog_changes", consumer="recommend_catalog_changes", batch_size=10),
        Queue(id="profiles_catalog", consumer="profiles_catalog", batch_size=10),
        Queue(id="recommend_privacy", consumer="recommend_privacy", batch_size=1),
        Queue(id="experiments_events", consumer="experiments_events", batch_size=100, max_batching_window_s=1),
        Queue(id="experiments_privacy", consumer="experiments_privacy", batch_size=1),
        Queue(id="results_aggregation", consumer="results_aggregation", batch_size=100, max_batching_window_s=2),
        Queue(id="results_privacy", consumer="results_privacy", batch_size=1),
    ),
    rules=(
        EventRule(
            id="interactions_to_profiles",
            queue="profiles_interactions",
            sources=("persona.profiles",),
            detail_types=("InteractionRecorded",),
        ),
        EventRule(
            id="imports_to_segments",
            queue="profiles_segments",
            sources=("persona.profiles",),
            detail_types=("CrmImportCompleted",),
        ),
        EventRule(
            id="privacy_requests_to_profiles",
            queue="profiles_privacy",
            sources=("persona.privacy",),
            detail_types=(PRIVACY_REQUEST_EVENT,),
        ),
        EventRule(
            id="consent_to_profiles",
            queue="profiles_consent",
            sources=("persona.privacy",),
            detail_types=("ConsentChanged",),
        ),
        EventRule(
            id="catalog_to_profiles",
            queue="profiles_catalog",
            sources=("persona.recommend",),
            detail_types=("CatalogPublished",),
        ),
        EventRule(
            id="privacy_requests_to_privacy",
            queue="privacy_tasks",
            sources=("persona.privacy",),
            detail_types=(PRIVACY_REQUEST_EVENT,),
        ),
        EventRule(
            id="privacy_answers",
            queue="privacy_orchestration",
            sources=("persona.profiles", "persona.privacy", "persona.recommend", "persona.experiments", "persona.results"),
            detail_types=(PRIVACY_ANSWER_EVENT, "ConsentReported", "IdentityLinked"),
        ),
        EventRule(
            id="contacts_to_privacy",
            queue="privacy_contacts",
            sources=("persona.profiles",),
            detail_types=("ContactsOnFile",),
        ),
        EventRule(
            id="storefront_to_recommend",
            queue="recommend_events",
            sources=("persona.profiles",),
            detail_types=("InteractionRecorded", "IdentityLinked"),
        ),
        EventRule(
            id="consent_to_recommend",
            queue="recommend_events",
            sources=("persona.privacy",),
            detail_types=("ConsentChanged",),
        ),
        EventRule(
            id="profiles_to_experiments",
            queue="experiments_events",
            sources=("persona.profiles",),
            detail_types=("IdentityLinked", "ProfileUpdated"),
        ),
        EventRule(
            id="consent_to_experiments",
            queue="experiments_events",
            sources=("persona.privacy",),
            detail_types=("ConsentChanged",),
        ),
        EventRule(
            id="privacy_requests_to_experiments",
            queue="experiments_privacy",
            sources=("persona.privacy",),
            detail_types=(PRIVACY_REQUEST_EVENT,),
        ),
        EventRule(
            id="experiments_to_results",
            queue="results_aggregation",
            sources=("persona.experiments",),
            detail_types=("ExposureLogged", "ExperimentChanged"),
        ),
        EventRule(
            id="storefront_to_results",
            queue="results_aggregation",
            sources=("persona.profiles",),
            detail_types=("InteractionRecorded", "ConversionRecorded", "IdentityLinked", "ProfileUpdated"),
        ),
        EventRule(
            id="privacy_requests_to_results",
            queue="results_privacy",
            sources=("persona.privacy",),
            detail_types=(PRIVACY_REQUEST_EVENT,),
        ),
        EventRule(
            id="privacy_requests_to_recommend",
            queue="recommend_privacy",
            sources=("persona.privacy",),
            detail_types=(PRIVACY_REQUEST_EVENT,),
        ),
    ),
    schedules=(
        # Recency moves with time; storefront behaviour and identities are picked up here too.
        Schedule(id="segments_hourly", function="profiles_segments", expression="rate(1 hour)", local_interval_s=300),
        Schedule(id="results_daily", function="results_history", expression="rate(1 day)", local_interval_s=300),
        Schedule(id="privacy_sweep_hourly", function="privacy_sweeper", expression="rate(1 hour)", local_interval_s=60),
    ),
    tables=(
        Table(id="profiles", context="profiles"),
        Table(id="privacy", context="privacy"),
        Table(id="recommend", context="recommend"),
        Table(id="experiments", context="experiments"),
        Table(id="results", context="results"),
    ),
    secrets=(
        Secret(id="privacy_keys", context="privacy", purpose="Signs verification tokens; keys pseudonyms in proofs of erasure"),
        Secret(id="profiles_keys", context="profiles", purpose="Keys the hashed identifiers of the CRM-import suppression list"),
        Secret(id="session_keys", context="privacy", shared_with=("profiles", "recommend", "experiments"),
               purpose="Signs signed-in customers' storefront sessions (the retailer's sign-in holds it too)"),
        Secret(id="contact_keys", context="privacy", shared_with=("profiles",),
               purpose="Keys the fingerprints of customers' e-mails on file (profiles writes them, privacy compares)"),
    ),
    buckets=(
        Bucket(
            id="crm_drop",
            context="profiles",
            purpose="CRM, order and campaign exports dropped by the data team",
            notifications=(BucketNotification(queue="profiles_crm_drops"),),
            expire_after_days=30,  # imported files are not kept longer than needed
        ),
        Bucket(
            id="quarantine",
            context="profiles",
            purpose="Rows of CRM imports that failed validation (row number, raw row, reasons)",
            expire_after_days=30,
        ),
        Bucket(id="exports", context="privacy", purpose="Access and portability exports", expire_after_days=7),
        Bucket(id="models", context="recommend", purpose="Versioned recommendation model artifacts", versioned=True,
               # A published catalog or rules: the vocabulary other contexts check storefront text against.
               notifications=(BucketNotification(queue="recommend_catalog_changes", prefix="catalog/"),
                              BucketNotification(queue="recommend_catalog_changes", prefix="config/"))),
        Bucket(id="web", context="platform", purpose="Storefront demo, privacy centre and dashboard"),
    ),
)
