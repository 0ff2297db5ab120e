from __future__ import annotations

from dataclasses import replace

import pytest

from infra.topology import (
    TOPOLOGY,
    Bucket,
    BucketNotification,
    EventRule,
    Function,
    Grant,
    Queue,
    Route,
    Secret,
    Topology,
    env_var,
    validate,
)


def _fn(**overrides):
    base = dict(id="f", context="profiles", handler="functions.profiles.handlers.collect_handler", description="d")
    return Function(**{**base, **overrides})


def test_the_project_topology_is_valid():
    assert validate(TOPOLOGY) == []


def test_unknown_references_are_reported():
    with pytest.raises(ValueError) as error:
        Topology(
            bus="b",
            functions=(_fn(grants=(Grant("table", "missing", "read"),)),),
            routes=(Route("GET", "/x", "nobody"),),
            queues=(Queue("q", consumer="ghost"),),
            rules=(EventRule("r", queue="nowhere", sources=("persona.x",), detail_types=("X",)),),
        )
    message = str(error.value)
    for fragment in ("unknown table 'missing'", "unknown function 'nobody'", "unknown consumer 'ghost'", "unknown queue 'nowhere'"):
        assert fragment in message


def test_duplicates_unfed_queues_foreign_sources_and_misplaced_handlers_are_reported():
    with pytest.raises(ValueError) as error:
        Topology(
            bus="b",
            functions=(_fn(), _fn(), _fn(id="g", handler="functions.privacy.handlers.x")),
            queues=(Queue("lonely", consumer="f"), Queue("fed", consumer="f")),
            rules=(EventRule("r", queue="fed", sources=("aws.s3",), detail_types=("X",)),),
            routes=(Route("GET", "/a", "f"), Route("GET", "/a", "f")),
        )
    message = str(error.value)
    assert "duplicate function id 'f'" in message
    assert "queue 'lonely': nothing feeds it" in message
    assert "must start with 'persona.'" in message
    assert "handler must live under functions.profiles" in message
    assert "route GET /a declared twice" in message


def test_a_bucket_notification_feeds_a_queue():
    topology = Topology(
        bus="b",
        functions=(_fn(),),
        queues=(Queue("drops", consumer="f"),),
        buckets=(Bucket("drop", "profiles", "p", notifications=(BucketNotification("drops"),)),),
    )
    assert topology.bucket("drop").notifications[0].queue == "drops"


def test_env_var_names():
    assert env_var("table", "profiles") == "PROFILES_TABLE_NAME"
    assert env_var("bucket", "crm_drop") == "CRM_DROP_BUCKET_NAME"
    assert env_var("bus", "persona") == "EVENT_BUS_NAME"


def test_environment_holds_exactly_the_granted_resources():
    fn = TOPOLOGY.function("profiles_crm_import")
    names = {("table", "profiles"): "t", ("bucket", "crm_drop"): "b", ("bucket", "quarantine"): "q", ("bus", "persona"): "bus",
             ("secret", "profiles_keys"): "s", ("secret", "contact_keys"): "c"}
    env = TOPOLOGY.environment(fn, names)
    assert env == {
        "POWERTOOLS_SERVICE_NAME": "profiles",
        "POWERTOOLS_METRICS_NAMESPACE": "Persona",
        "PROFILES_TABLE_NAME": "t",
        "CRM_DROP_BUCKET_NAME": "b",
        "QUARANTINE_BUCKET_NAME": "q",
        "EVENT_BUS_NAME": "bus",
        "PROFILES_KEYS_SECRET_NAME": "s",
        "CONTACT_KEYS_SECRET_NAME": "c",
    }
    env = TOPOLOGY.environment(replace(fn, grants=(), env=(("EXTRA", "1"),)), names)
    assert "PROFILES_TABLE_NAME" not in env and env["EXTRA"] == "1"


def test_handler_path_split():
    fn = TOPOLOGY.function("profiles_interactions")
    assert (fn.module, fn.attribute) == ("functions.profiles.consumers", "interactions_handler")


def test_privacy_requests_need_an_answer_from_every_context_that_receives_them():
    assert TOPOLOGY.privacy_contexts() == ["experiments", "privacy", "profiles", "recommend", "results"]
    env = TOPOLOGY.environment(TOPOLOGY.function("privacy_api"), {(g.kind, g.id): "x" for g in TOPOLOGY.function("privacy_api").grants})
    assert env["PRIVACY_CONTEXTS"] == "experiments,privacy,profiles,recommend,results"
    # A context that receives requests but whose answers no rule delivers is a wiring error.
    rules = tuple(r for r in TOPOLOGY.rules if r.id != "privacy_answers") + (
        replace(TOPOLOGY.rules[-1], id="answers_from_privacy_only", sources=("persona.privacy",)),)
    with pytest.raises(ValueError, match="'profiles' receives PrivacyRequestAccepted"):
        replace(TOPOLOGY, rules=rules)


def test_a_secret_is_read_only_by_its_context_and_those_it_is_shared_with():
    secrets = (Secret("mine", context="privacy", purpose="p"), Secret("ours", context="privacy", purpose="p", shared_with=("profiles",)))
    reader = _fn(grants=(Grant("secret", "ours", "read"),))
    assert Topology(bus="b", functions=(reader,), secrets=secrets)  # profiles may read what privacy shares with it
    with pytest.raises(ValueError, match="secret 'mine' of privacy is not shared with profiles"):
        Topology(bus="b", functions=(_fn(grants=(Grant("secret", "mine", "read"),)),), secrets=secrets)


def test_a_queue_whose_consumer_is_held_to_few_runs_allows_throttled_receives():
    held = _fn(reserved_concurrency=1)
    rule = EventRule("r", queue="q", sources=("persona.profiles",), detail_types=("X",))
    with pytest.raises(ValueError, match="max_receive_count must be at least 5"):
        Topology(bus="b", functions=(held,), queues=(Queue("q", consumer="f", max_receive_count=3),), rules=(rule,))
    assert Topology(bus="b", functions=(held,), queues=(Queue("q", consumer="f", max_receive_count=10),), rules=(rule,))
    assert all(q.max_receive_count >= 5 for q in TOPOLOGY.queues if (TOPOLOGY.function(q.consumer).reserved_concurrency or 99) < 5)
