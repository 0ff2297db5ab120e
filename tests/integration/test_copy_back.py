"""Copying items back from a point-in-time restore (infra/copy_back.py) never brings an erased person back."""

from __future__ import annotations

import boto3

from functions.profiles.store import profile_store
from infra import copy_back
from infra.local.provision import REGION
from infra.topology import TOPOLOGY
from tests.integration.test_privacy import ANNA_IDS, anna_everywhere, assert_erased, submit, verify


def restore_point(aws, table_id: str) -> str:
    """What `restore-table-to-point-in-time` gives: a new table with the live one's items as they are now."""
    ddb, live = aws.client("dynamodb"), aws.name("table", table_id)
    restored = f"{live}-restored"
    ddb.create_table(TableName=restored, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    for page in ddb.get_paginator("scan").paginate(TableName=live):
        for item in page["Items"]:
            ddb.put_item(TableName=restored, Item=item)
    return restored


def copy_all_back(aws, restored: dict[str, str], *, overwrite: bool, dry_run: bool = False) -> dict[str, copy_back.Outcome]:
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    erased = copy_back.load_erased(dynamodb, aws.client("secretsmanager"), privacy_table=aws.name("table", "privacy"),
                                   profiles_table=aws.name("table", "profiles"), privacy_secret=aws.name("secret", "privacy_keys"),
                                   profiles_secret=aws.name("secret", "profiles_keys"))
    outcomes = {}
    for table_id, source in restored.items():
        scan, put = copy_back.table_copier(dynamodb, source, aws.name("table", table_id), overwrite=overwrite, dry_run=dry_run)
        outcomes[table_id] = copy_back.copy_back(scan, put, erased)
    return outcomes


def test_items_copied_back_from_a_restore_leave_out_people_erased_since(aws):
    anna_everywhere(aws)  # Anna (C-1001) in every context; Ben (C-1002) and others from the same CRM export
    restored = {t.id: restore_point(aws, t.id) for t in TOPOLOGY.tables}  # the restore point: Anna not yet erased
    request_id = submit(aws, kind="erasure")
    verify(aws, request_id)
    # After the restore point something went wrong: Ben's profile items were lost from the live table.
    table = profile_store().table
    table.delete_many([{"pk": i["pk"], "sk": i["sk"]} for i in table.query("pk", "CUSTOMER#C-1002")])
    assert profile_store().profile("C-1002") is None

    dry = copy_all_back(aws, restored, overwrite=True, dry_run=True)
    assert profile_store().profile("C-1002") is None  # a dry run writes nothing
    outcomes = copy_all_back(aws, restored, overwrite=True)
    assert {t: (o.copied, o.skipped_erased) for t, o in outcomes.items()} == {t: (o.copied, o.skipped_erased) for t, o in dry.items()}

    assert_erased(aws, ANNA_IDS, request_id)  # nothing of Anna came back, raw or hashed, in any table
    assert profile_store().profile("C-1002") is not None  # Ben is back
    assert outcomes["profiles"].erased_by_prefix["CUSTOMER"] >= 3 and outcomes["privacy"].skipped_erased >= 1
    assert all(o.scanned == o.copied + o.skipped_erased + o.skipped_existing for o in outcomes.values())

    # Without --overwrite, what the live table has stays as it is.
    again = copy_all_back(aws, restored, overwrite=False)
    assert again["profiles"].copied == 0 and again["profiles"].skipped_existing == outcomes["profiles"].copied


def test_every_string_of_an_item_is_checked_keys_json_and_nested_values():
    erased = copy_back.ErasedPeople(proofs=frozenset(), suppressed=frozenset({copy_back.pseudonym("anna@example.de", "k")}),
                                    privacy_key="p", profiles_key="k")
    nested = {"pk": "CUSTOMER#C-9", "sk": "ATTRIBUTES", "attributes": {"email": {"value": "Anna@Example.de ", "source": "crm"}}}
    in_json = {"pk": "REQUESTS", "sk": "r1", "request": '{"subject_id": "x", "contact": "anna@example.de"}'}
    in_key = {"pk": "SUBJECT#anna@example.de", "sk": "STATE"}
    other = {"pk": "CUSTOMER#C-10", "sk": "ATTRIBUTES", "attributes": {"email": {"value": "ben@example.com"}}}
    assert [copy_back.names_erased(i, erased, set()) for i in (nested, in_json, in_key, other)] == [True, True, True, False]
    assert copy_back.erased_request_ids([in_json, other], erased) == {"r1"}
    outbox = {"pk": "OUTBOX", "sk": "2026#m1", "request_id": "r1", "message": '{"to": "typed@example.org"}'}
    assert copy_back.names_erased(outbox, erased, {"r1"}) and not copy_back.names_erased(outbox, erased, set())
    proof = {"pk": "SUPPRESSED", "sk": copy_back.pseudonym("anna@example.de", "k")}
    assert not copy_back.names_erased(proof, erased, set())  # the suppression list itself is copied
